"""Deal values that make sense: won needs an amount, no past close dates, moving back is deliberate and
never duplicates stage tasks, closing a deal withdraws its pending approvals, amount=quote."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm_core.errors import Conflict, InvalidValue, StaleAction
from crm_core.models import Approval, AuditEntry, Deal, Order, Quote, Task, User
from crm_core.services.approvals import check_decidable
from crm_core.services.closing import do_close
from crm_core.services.deals import amount_from_quote, do_create_deal, do_move_stage, do_set_fields, resolve_stage
from crm_core.services.orders import do_create_order
from crm_core.services.quotes import do_create_quote
from cards.errors import error_text


def user(uow, key: str) -> User:  # type: ignore[no-untyped-def]
    return uow.session.scalar(select(User).where(User.key == key))


def new_deal(wiring, amount: Decimal | None = None, close: date | None = None) -> int:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        return do_create_deal(uow, user(uow, "li"), account_name="Acme", amount=amount, name=None, close_date=close,
                              now=wiring.clock.now()).id


def act(wiring, fn, key: str = "li", deal_id: int = 1):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        return fn(uow, user(uow, key), uow.session.get(Deal, deal_id))


def deal(wiring, deal_id: int = 1) -> Deal:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.get(Deal, deal_id)


class TestWonNeedsAnAmount:
    def test_won_without_amount_is_refused_and_says_what_to_type(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring)
        with pytest.raises(Conflict) as info:
            act(wiring, lambda uow, li, d: do_close(uow, li, d, won=True, reason=None, now=clock.now()))
        assert "deal set D-1 amount=…" in error_text(info.value, "en")
        assert "商机 设置 D-1 金额=…" in error_text(info.value, "zh_CN")
        assert deal(wiring).status == "open"

    def test_with_an_amount_it_is_won(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring, Decimal("5000"))
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=True, reason=None, now=clock.now()))
        assert deal(wiring).status == "won"

    def test_the_rule_can_be_switched_off(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        cfg = wiring.runner.config
        wiring.runner.uow_factory.config = cfg.model_copy(update={"pipeline": cfg.pipeline.model_copy(
            update={"won_requires_amount": False})})
        new_deal(wiring)
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=True, reason=None, now=clock.now()))
        assert deal(wiring).status == "won"

    def test_lost_needs_no_amount(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring)
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=False, reason="budget cut", now=clock.now()))
        assert deal(wiring).status == "lost"


class TestCloseDates:
    def test_a_past_close_date_is_refused_when_creating(self, wiring) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue) as info:
            new_deal(wiring, Decimal("100"), date(2020, 1, 1))
        assert "today is 2026-03-02" in error_text(info.value, "en")
        assert "今天是 2026-03-02" in error_text(info.value, "zh_CN")
        with wiring.session_factory() as s:
            assert s.scalar(select(func.count(Deal.id))) == 0

    def test_a_past_close_date_is_refused_when_setting_and_nothing_changes(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring, Decimal("100"), date(2026, 6, 30))
        with pytest.raises(InvalidValue):
            act(wiring, lambda uow, li, d: do_set_fields(uow, li, d, {"close": "2020-01-01", "budget": "yes"},
                                                        now=clock.now()))
        d = deal(wiring)
        assert d.close_date == date(2026, 6, 30) and "budget" not in (d.fields or {})

    def test_today_in_the_company_timezone_is_accepted(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        # 2026-03-02 01:00 UTC is already 09:00 on 2026-03-02 in Shanghai; 2026-03-01 has passed there
        new_deal(wiring, Decimal("100"), date(2026, 3, 2))
        with pytest.raises(InvalidValue):
            act(wiring, lambda uow, li, d: do_set_fields(uow, li, d, {"close": "2026-03-01"}, now=clock.now()))


class TestMovingBackwards:
    def _to_discovery(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring, Decimal("100"))
        act(wiring, lambda uow, li, d: do_set_fields(uow, li, d, {"contact": "Ann"}, now=clock.now()))
        act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, None), now=clock.now()))

    def test_backwards_needs_confirmation_then_moves_without_duplicating_tasks(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        self._to_discovery(wiring, clock)
        with pytest.raises(Conflict) as info:
            act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, "qualify"), now=clock.now()))
        assert "advance D-1 qualify confirm" in error_text(info.value, "en")
        assert deal(wiring).stage == "discovery"
        act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, "qualify"), now=clock.now(),
                                                    confirmed=True))
        assert deal(wiring).stage == "qualify"
        act(wiring, lambda uow, li, d: do_move_stage(uow, li, d, resolve_stage(uow, d, "discovery"), now=clock.now()))
        with wiring.session_factory() as s:
            titles = sorted(s.scalars(select(Task.title).where(Task.deal_id == 1)))
        assert titles == ["Confirm budget and timeline", "Schedule a discovery call"]


@pytest.fixture
def pending_approval(wiring, clock) -> int:  # type: ignore[no-untyped-def]
    """li's deal D-1 (¥200,000) with Q-1 at 25 % off waiting for wang (A-1)."""
    new_deal(wiring, Decimal("200000"))
    with wiring.runner.uow() as uow:
        quote = do_create_quote(uow, user(uow, "li"), 1, [("PRO", 10)], Decimal("25"), now=clock.now())
        return uow.session.scalar(select(Approval.id).where(Approval.quote_id == quote.id))


class TestClosingWithdrawsApprovals:
    @pytest.mark.parametrize("won", [True, False])
    def test_pending_approval_is_withdrawn_audited_and_cannot_be_decided(self, wiring, clock, pending_approval,
                                                                          won) -> None:  # type: ignore[no-untyped-def]
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=won, reason=None if won else "went with a rival",
                                                now=clock.now()))
        with wiring.runner.uow() as uow:
            approval = uow.session.get(Approval, pending_approval)
            assert approval.status == "withdrawn"
            assert [s.status for s in approval.steps] == ["cancelled", "cancelled"]
            assert uow.session.get(Quote, approval.quote_id).status == "withdrawn"
            with pytest.raises(StaleAction) as info:
                check_decidable(uow, user(uow, "wang"), approval)
            assert "withdrawn" in error_text(info.value, "en") and "已撤回" in error_text(info.value, "zh_CN")
            entries = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.withdraw")).all()
            assert [(e.record_id, e.data["deal_status"]) for e in entries] == [(pending_approval,
                                                                                 "won" if won else "lost")]

    def test_an_approved_quote_of_a_lost_deal_cannot_be_ordered(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring, Decimal("200000"))
        with wiring.runner.uow() as uow:
            do_create_quote(uow, user(uow, "li"), 1, [("PRO", 10)], Decimal("5"), now=clock.now())  # auto-approved
        act(wiring, lambda uow, li, d: do_close(uow, li, d, won=False, reason="lost", now=clock.now()))
        with pytest.raises(Conflict) as info:
            act(wiring, lambda uow, li, d: do_create_order(uow, li, 1, now=clock.now()))
        assert "D-1 was lost" in error_text(info.value, "en")
        with wiring.session_factory() as s:
            assert s.scalar(select(func.count(Order.id))) == 0


class TestAmountFromQuote:
    def test_the_latest_approved_quote_total_becomes_the_amount(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        new_deal(wiring, Decimal("200000"))
        with pytest.raises(Conflict):
            act(wiring, lambda uow, li, d: amount_from_quote(uow, d))
        with wiring.runner.uow() as uow:
            do_create_quote(uow, user(uow, "li"), 1, [("PRO", 10)], Decimal("5"), now=clock.now())
        total = act(wiring, lambda uow, li, d: amount_from_quote(uow, d))
        assert Decimal(total) == Decimal("12882.00")  # 12000 × 0.95 × 1.13
