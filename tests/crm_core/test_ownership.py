"""Owners really move: who may move a record, naming the new owner, and `transfer` of everything open."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, Forbidden, InvalidValue
from crm_core.events import OwnerChanged, RecordsTransferred
from crm_core.models import AuditEntry, Contract, Deal, Lead, Task, Ticket, User
from crm_core.services.closing import do_close
from crm_core.services.deals import do_create_deal
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.services.ownership import do_assign_lead, do_transfer_all, do_transfer_deal, resolve_user
from cards.errors import error_text


def user(uow, key: str) -> User:  # type: ignore[no-untyped-def]
    return uow.session.scalar(select(User).where(User.key == key))


def deal_of(wiring, key: str, account: str = "Acme") -> int:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        return do_create_deal(uow, user(uow, key), account_name=account, amount=Decimal("1000"), name=None,
                              close_date=None, now=wiring.clock.now()).id


def owner_key(wiring, model, record_id: int) -> str:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.get(User, s.get(model, record_id).owner_id).key


def transfer_deal(wiring, actor: str, deal_id: int, new_owner: str) -> list:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        do_transfer_deal(uow, user(uow, actor), uow.session.get(Deal, deal_id), resolve_user(uow, new_owner),
                         now=wiring.clock.now())
        return list(uow.events)


class TestNamingThePerson:
    @pytest.mark.parametrize("raw", ["tom", "TOM", "Tom Baker", "<@U01TOM>", "<@U01TOM|tom>", "@tom"])
    def test_key_name_slack_mention(self, wiring, raw) -> None:  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            assert resolve_user(uow, raw).key == "tom"

    @pytest.mark.parametrize("raw", ["李雷", "lilei", "li"])
    def test_chinese_name_and_wecom_userid(self, wiring, raw) -> None:  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            assert resolve_user(uow, raw).key == "li"

    def test_unknown_person_is_refused_with_did_you_mean(self, wiring) -> None:  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow, pytest.raises(InvalidValue) as info:
            resolve_user(uow, "tomm")
        assert "did you mean tom (Tom Baker)" in error_text(info.value, "en")
        assert "你是不是要找：tom (Tom Baker)" in error_text(info.value, "zh_CN")

    def test_inactive_people_receive_nothing(self, wiring) -> None:  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            user(uow, "tom").active = False
        with wiring.runner.uow() as uow, pytest.raises(InvalidValue):
            resolve_user(uow, "tom")


class TestWhoMayMoveADeal:
    def test_a_rep_may_not_take_another_reps_deal(self, wiring) -> None:  # type: ignore[no-untyped-def]
        d = deal_of(wiring, "li")
        with pytest.raises(Forbidden) as info:
            transfer_deal(wiring, "han", d, "han")
        assert "李雷" in error_text(info.value, "en")
        assert owner_key(wiring, Deal, d) == "li"

    def test_the_owner_may_give_it_away(self, wiring) -> None:  # type: ignore[no-untyped-def]
        d = deal_of(wiring, "li")
        [event] = [e for e in transfer_deal(wiring, "li", d, "tom") if isinstance(e, OwnerChanged)]
        assert owner_key(wiring, Deal, d) == "tom"
        assert (event.record_type, event.record_id) == ("deal", d)
        with wiring.session_factory() as s:
            old, new = s.get(User, event.old_owner_id), s.get(User, event.new_owner_id)
            assert (old.key, new.key) == ("li", "tom")
            tasks = s.scalars(select(Task).where(Task.deal_id == d)).all()
            assert {s.get(User, t.owner_id).key for t in tasks} == {"tom"}  # the deal's open tasks follow it
            entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "deal.owner"))
            assert entry.id == event.audit_id and entry.data == {"old_owner_id": old.id, "new_owner_id": new.id}

    @pytest.mark.parametrize("boss", ["wang", "chen", "admin"])
    def test_anyone_above_the_owner_or_an_admin_may_reassign(self, wiring, boss) -> None:  # type: ignore[no-untyped-def]
        d = deal_of(wiring, "li")
        transfer_deal(wiring, boss, d, "han")
        assert owner_key(wiring, Deal, d) == "han"

    def test_a_manager_of_another_team_may_not(self, wiring) -> None:  # type: ignore[no-untyped-def]
        d = deal_of(wiring, "li")
        with pytest.raises(Forbidden):
            transfer_deal(wiring, "sam", d, "tom")
        assert owner_key(wiring, Deal, d) == "li"

    def test_same_owner_and_closed_deals_change_nothing(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        d = deal_of(wiring, "li")
        with pytest.raises(Conflict):
            transfer_deal(wiring, "li", d, "li")
        with wiring.runner.uow() as uow:
            do_close(uow, user(uow, "li"), uow.session.get(Deal, d), won=True, reason=None, now=clock.now())
        with pytest.raises(Conflict):
            transfer_deal(wiring, "li", d, "tom")


def test_lead_assign_by_owner_and_refused_for_another_rep(wiring, clock) -> None:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        lead_id = do_create_lead(uow, LeadInput(name="Ann", company="Acme"), actor=user(uow, "li"), now=clock.now()).lead.id
    with wiring.runner.uow() as uow, pytest.raises(Forbidden):
        do_assign_lead(uow, user(uow, "han"), lead_id, user(uow, "han"), now=clock.now())
    with wiring.runner.uow() as uow:
        do_assign_lead(uow, user(uow, "li"), lead_id, resolve_user(uow, "韩梅梅"), now=clock.now())
        assert [type(e) for e in uow.events][-1] is OwnerChanged
    assert owner_key(wiring, Lead, lead_id) == "han"


@pytest.fixture
def lis_book(wiring, clock):  # type: ignore[no-untyped-def]
    """li owns: 2 open leads, 2 open deals + 1 won deal (its contract is active), 1 open and 1 closed ticket."""
    with wiring.runner.uow() as uow:
        li, now = user(uow, "li"), clock.now()
        for name in ("Ann", "Bob"):
            do_create_lead(uow, LeadInput(name=name, company=f"{name} Co"), actor=li, now=now)
        ids = [do_create_deal(uow, li, account_name=f"Acct {i}", amount=Decimal("1000"), name=None, close_date=None,
                              now=now).id for i in range(3)]
        do_close(uow, li, uow.session.get(Deal, ids[2]), won=True, reason=None, now=now)
        deal = uow.session.get(Deal, ids[0])
        for closed in (None, now):
            uow.session.add(Ticket(account_id=deal.account_id, subject="VPN", priority="normal", status="open",
                                   owner_id=li.id, created_by_id=li.id, opened_at=now, respond_due_at=now,
                                   resolve_due_at=now, updated_at=now, closed_at=closed))
        uow.session.add(Contract(account_id=deal.account_id, owner_id=li.id, start_date=date(2025, 1, 1),
                                 end_date=date(2025, 12, 31), value=Decimal(1), created_at=now, updated_at=now))
    return ids


def test_transfer_moves_everything_open_in_one_go_and_tells_each_side_once(  # type: ignore[no-untyped-def]
        wiring, clock, lis_book, assert_query_count) -> None:
    with wiring.runner.uow() as uow:
        wang, li, han = user(uow, "wang"), user(uow, "li"), user(uow, "han")
        with assert_query_count(8):  # the team lookup, five UPDATEs, the search index's owners, the audit entry: whatever the number of records
            done = do_transfer_all(uow, wang, li, han, now=clock.now())
        assert done.counts == {"leads": 2, "deals": 2, "tickets": 1, "contracts": 1, "tasks": 2}
        [event] = [e for e in uow.events if isinstance(e, RecordsTransferred)]
        assert event.counts == done.counts
    with wiring.session_factory() as s:
        li_id = s.scalar(select(User.id).where(User.key == "li"))
        assert s.scalars(select(Lead).where(Lead.owner_id == li_id)).all() == []
        assert [d.status for d in s.scalars(select(Deal).where(Deal.owner_id == li_id))] == ["won"]
        assert [t.closed_at is not None for t in s.scalars(select(Ticket).where(Ticket.owner_id == li_id))] == [True]
        assert [c.end_date for c in s.scalars(select(Contract).where(Contract.owner_id == li_id))] == [date(2025, 12, 31)]
        assert all(t.done_at is not None for t in s.scalars(select(Task).where(Task.owner_id == li_id)))


@pytest.mark.parametrize("actor", ["han", "li"])
def test_transfer_is_for_managers_and_admins(wiring, clock, lis_book, actor) -> None:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow, pytest.raises(Forbidden):
        do_transfer_all(uow, user(uow, actor), user(uow, "li"), user(uow, "han"), now=clock.now())
    assert owner_key(wiring, Deal, lis_book[0]) == "li"

