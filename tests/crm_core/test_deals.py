"""Deals: blueprint refusals, tasks on entry, history with time in stage, won / lost, weighting."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, InvalidValue, MissingFields
from crm_core.models import Deal, StageChange, Task, User
from crm_core.services.closing import do_close
from crm_core.services.deals import do_create_deal, do_move_stage, do_set_fields, resolve_stage, weighted_amount
from cards.errors import error_text


@pytest.fixture
def deal_id(wiring):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        li = uow.session.scalar(select(User).where(User.key == "li"))
        return do_create_deal(uow, li, account_name="Acme Inc.", amount=None, name="Acme expansion",
                              close_date=None, now=wiring.clock.now()).id


def act(wiring, fn):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        li = uow.session.scalar(select(User).where(User.key == "li"))
        deal = uow.session.get(Deal, 1)
        return fn(uow, li, deal)


def test_new_deal_starts_in_first_stage_with_its_tasks(wiring, deal_id):  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        deal = s.get(Deal, deal_id)
        assert deal.stage == "qualify" and deal.status == "open"
        tasks = s.scalars(select(Task).where(Task.deal_id == deal_id)).all()
        assert [t.title for t in tasks] == ["Confirm budget and timeline"]
        assert tasks[0].due_date == date(2026, 3, 4)  # two days after Monday 2026-03-02 (company time)


def test_advance_refuses_and_names_every_missing_field_then_succeeds(wiring, clock, deal_id):  # type: ignore[no-untyped-def]
    with pytest.raises(MissingFields) as info:
        act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, "proposal"), now=clock.now()))
    # skipping discovery: its contact, and proposal's amount, close_date and budget
    assert info.value.missing == ["contact", "amount", "close_date", "budget"]
    assert "deal set D-1" in error_text(info.value, "en")
    with wiring.session_factory() as s:
        assert s.get(Deal, deal_id).stage == "qualify"  # refused: nothing changed
    act(wiring, lambda uow, li, d: do_set_fields(uow, li, d, {"contact": "Ann", "amount": "120000",
                                                              "close": "2027-03-31", "budget": "yes"}, now=clock.now()))
    clock.advance(days=3)
    act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, "proposal"), now=clock.now()))
    with wiring.session_factory() as s:
        deal = s.get(Deal, deal_id)
        assert deal.stage == "proposal" and deal.close_date == date(2027, 3, 31)
        history = s.scalars(select(StageChange).where(StageChange.deal_id == deal_id).order_by(StageChange.id)).all()
        assert [(h.from_stage, h.to_stage) for h in history] == [(None, "qualify"), ("qualify", "proposal")]
        assert history[1].seconds_in_previous == 3 * 86400
        titles = {t.title for t in s.scalars(select(Task).where(Task.deal_id == deal_id, Task.stage == "proposal"))}
        assert titles == {"Send the proposal", "Book a presales demo"}


def test_weighted_amount_uses_stage_probability(wiring, clock, deal_id):  # type: ignore[no-untyped-def]
    act(wiring, lambda uow, li, d: do_set_fields(uow, li, d, {"amount": "12万"}, now=clock.now()))
    assert act(wiring, lambda uow, li, d: weighted_amount(uow, d)) == Decimal("12000.00")


def test_lost_needs_a_reason_and_closing_twice_is_refused(wiring, clock, deal_id):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValue):
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=False, reason=" ", now=clock.now()))
    act(wiring, lambda uow, li, d: do_close(uow, li, d, won=False, reason="budget cut", now=clock.now()))
    with pytest.raises(Conflict):
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=True, reason=None, now=clock.now()))
    with wiring.session_factory() as s:
        deal = s.get(Deal, deal_id)
        assert (deal.status, deal.stage, deal.lost_reason) == ("lost", "lost", "budget cut")
        assert all(t.done_at is not None for t in s.scalars(select(Task).where(Task.deal_id == deal_id)))


def test_advance_cannot_jump_to_won_and_bad_values_change_nothing(wiring, clock, deal_id):  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict):
        act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, "won"), now=clock.now()))
    with pytest.raises(InvalidValue):
        act(wiring, lambda uow, li, d: do_set_fields(uow, li, d, {"budget": "yes", "close": "31/03/2027"},
                                                     now=clock.now()))
    with wiring.session_factory() as s:
        assert s.get(Deal, deal_id).fields == {}
