"""Discount approvals: which levels, who approves, the state machine, refusals, and double submits."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm_core.errors import Conflict, InvalidValue, StaleAction
from crm_core.models import Approval, AuditEntry, OutboxMessage, Quote, User
from crm_core.services.approvals import ApprovalForbidden, do_decide, levels_needed, plan_steps
from crm_core.services.deals import do_create_deal
from crm_core.services.quotes import do_create_quote
from crm_core.services.users import create_chat_user, user_by_key
from handlers.invocation import Invocation
from tests.said import raises_said


@pytest.mark.parametrize("discount,roles", [
    ("0", []), ("10", []), ("10.01", ["manager"]), ("20", ["manager"]), ("25", ["manager", "director"]),
    ("35", ["manager", "director"]), ("36", ["manager", "director", "vp"]), ("100", ["manager", "director", "vp"]),
])
def test_a_discount_above_a_threshold_needs_that_level_and_every_lower_one(config, discount, roles):  # type: ignore[no-untyped-def]
    assert [lv.role for lv in levels_needed(config, Decimal(discount))] == roles


def _plan(uow, key: str, discount: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with uow:
        steps = plan_steps(uow.session, uow.config, user_by_key(uow.session, key), Decimal(discount))
        return [(s.role, s.approver.key) for s in steps]


class TestApproverResolution:
    def test_each_level_goes_to_the_nearest_manager_chain_user_senior_enough(self, wiring, uow) -> None:  # type: ignore[no-untyped-def]
        assert _plan(uow, "li", "25") == [("manager", "wang"), ("director", "chen")]
        assert _plan(uow, "li", "40") == [("manager", "wang"), ("director", "chen"), ("vp", "zhao")]
        assert _plan(uow, "emma", "40") == [("manager", "sam"), ("director", "chen"), ("vp", "zhao")]

    def test_levels_that_land_on_the_same_person_are_asked_once(self, wiring, uow) -> None:  # type: ignore[no-untyped-def]
        assert _plan(uow, "wang", "25") == [("director", "chen")]  # a manager's own chain starts at the director
        assert _plan(uow, "zhou", "25") == [("director", "chen")]  # zhou reports to chen directly
        assert _plan(uow, "zhao", "40") == [("vp", "admin")]

    def test_without_anybody_senior_enough_in_the_chain_an_admin_approves(self, wiring, uow, clock) -> None:  # type: ignore[no-untyped-def]
        with uow:
            create_chat_user(uow.session, platform="slack", external_id="U0NEW", name="New Rep", now=clock.now())
        assert _plan(uow, "slack-u0new", "15") == [("manager", "admin")]
        assert _plan(uow, "lawyer", "25") == [("director", "admin")]

    def test_nobody_approves_their_own_discount_not_even_the_only_admin(self, wiring, uow) -> None:  # type: ignore[no-untyped-def]
        with raises_said(Conflict, "Nobody can approve"):
            _plan(uow, "admin", "15")


@pytest.fixture
def quote_25(uow, clock):  # type: ignore[no-untyped-def]
    """li's deal D-1 with quote Q-1 at 25 % off: A-1 waits for wang, then chen."""
    with uow:
        li = user_by_key(uow.session, "li")
        deal = do_create_deal(uow, li, account_name="Acme", amount=Decimal(200000), name=None, close_date=None,
                              now=clock.now())
        quote = do_create_quote(uow, li, deal.id, [("PRO", 10)], Decimal(25), now=clock.now())
        approval = uow.session.scalar(select(Approval).where(Approval.quote_id == quote.id))
        return approval.id


def decide(uow, clock, key: str, approval_id: int, approve: bool = True, text: str | None = None):  # type: ignore[no-untyped-def]
    with uow:
        actor = user_by_key(uow.session, key)
        d = do_decide(uow, actor, approval_id, approve=approve, text=text, now=clock.now())
        return d.approval.status, d.approval.current_level


class TestStateMachine:
    def test_manager_then_director_approve_and_the_quote_is_approved(self, wiring, uow, clock, quote_25) -> None:  # type: ignore[no-untyped-def]
        assert decide(uow, clock, "wang", quote_25) == ("pending", 2)
        clock.advance(minutes=5)
        assert decide(uow, clock, "chen", quote_25, text="ok for this volume") == ("approved", 2)
        with uow:
            approval = uow.session.get(Approval, quote_25)
            assert uow.session.get(Quote, approval.quote_id).status == "approved"
            audit = list(uow.session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.data, AuditEntry.at)
                                              .where(AuditEntry.record_type == "approval").order_by(AuditEntry.id)))
            wang, chen = user_by_key(uow.session, "wang"), user_by_key(uow.session, "chen")
            assert [(a, who, d.get("level")) for a, who, d, _ in audit] == [
                ("approval.request", approval.requester_id, None), ("approval.approve", wang.id, 1),
                ("approval.approve", chen.id, 2)]
            assert audit[2][3] == clock.now()

    def test_a_rejection_needs_a_reason_and_ends_the_approval(self, wiring, uow, clock, quote_25) -> None:  # type: ignore[no-untyped-def]
        with raises_said(InvalidValue, "reject A-1"):
            decide(uow, clock, "wang", quote_25, approve=False, text="   ")
        assert decide(uow, clock, "wang", quote_25, approve=False, text="too deep") == ("rejected", 1)
        with uow:
            approval = uow.session.get(Approval, quote_25)
            assert approval.reason == "too deep" and [s.status for s in approval.steps] == ["rejected", "cancelled"]
            assert uow.session.get(Quote, approval.quote_id).status == "rejected"

    def test_the_requester_cannot_approve_their_own(self, wiring, uow, clock, quote_25) -> None:  # type: ignore[no-untyped-def]
        with raises_said(ApprovalForbidden, "you cannot decide it"):
            decide(uow, clock, "li", quote_25)

    @pytest.mark.parametrize("key", ["han", "sam", "chen"])
    def test_only_the_steps_approver_decides_it(self, wiring, uow, clock, quote_25, key) -> None:  # type: ignore[no-untyped-def]
        # han is a rep, sam a manager of another team, chen is senior but it is wang's step now
        with raises_said(ApprovalForbidden, "waits for 王芳"):
            decide(uow, clock, key, quote_25)

    def test_an_admin_may_decide_any_open_step(self, wiring, uow, clock, quote_25) -> None:  # type: ignore[no-untyped-def]
        assert decide(uow, clock, "admin", quote_25) == ("pending", 2)

    def test_a_second_click_changes_nothing_and_says_what_happened(self, wiring, uow, clock, quote_25) -> None:  # type: ignore[no-untyped-def]
        decide(uow, clock, "wang", quote_25)
        with raises_said(StaleAction, "You already approved level 1"):
            decide(uow, clock, "wang", quote_25)
        decide(uow, clock, "chen", quote_25)
        with raises_said(StaleAction, "already approved by 陈静"):
            decide(uow, clock, "chen", quote_25)
        with raises_said(StaleAction, "already approved"):
            decide(uow, clock, "wang", quote_25, approve=False, text="changed my mind")

    def test_a_superseded_quotes_approval_cannot_be_decided(self, wiring, uow, clock, quote_25) -> None:  # type: ignore[no-untyped-def]
        with uow:
            li = user_by_key(uow.session, "li")
            do_create_quote(uow, li, 1, [("PRO", 12)], Decimal(25), now=clock.now())
        with raises_said(StaleAction, "superseded by Q-2"):
            decide(uow, clock, "wang", quote_25)


def _count(wiring, model, *where) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def _approve_concurrently(wiring, key: str, approval_id: int, threads: int) -> list[str]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        actor_id = s.scalar(select(User.id).where(User.key == key))
    barrier = threading.Barrier(threads)
    texts: list[str] = []
    lock = threading.Lock()

    def click(i: int) -> None:
        barrier.wait()
        reply = wiring.runner.run(Invocation(actor_id=actor_id, kind="action", name="approval.approve",
                                             args={"value": f"A-{approval_id}"}, idempotency_key=None))
        with lock:
            texts.append(reply.text())

    workers = [threading.Thread(target=click, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    return texts


@pytest.mark.postgres
def test_sixteen_simultaneous_approvals_make_exactly_one_decision(wiring, quote_25) -> None:  # type: ignore[no-untyped-def]
    for key, level in (("wang", 1), ("chen", 2)):
        texts = _approve_concurrently(wiring, key, quote_25, 16)
        assert len(texts) == 16
        decided = [t for t in texts if "approved level" in t or "已批准 A-1" in t]
        assert len(decided) == 1, texts
        assert all("nothing changed" in t or "未做修改" in t for t in texts if t not in decided), texts
        assert _count(wiring, AuditEntry, AuditEntry.action == "approval.approve") == level
        assert _count(wiring, OutboxMessage, OutboxMessage.kind == "approval.decided") == level
    with wiring.session_factory() as s:
        approval = s.get(Approval, quote_25)
        assert approval.status == "approved" and approval.version == 3  # created, step 1, step 2


def test_double_submits_apply_once(wiring, user_id, quote_25) -> None:  # type: ignore[no-untyped-def]
    """A retried click (same idempotency key) and a second click (new key): one decision, one notification."""
    def click(key: str | None) -> str:
        return wiring.runner.run(Invocation(actor_id=user_id("wang"), kind="action", name="approval.approve",
                                            args={"value": "A-1"}, idempotency_key=key)).text()
    first = click("slack:click:1")
    assert "approved level 1" in first or "已批准 A-1 的第 1 级" in first
    assert click("slack:click:1") == first  # the platform's retry gets the stored reply
    assert "未做修改" in click("slack:click:2")
    assert _count(wiring, AuditEntry, AuditEntry.action == "approval.approve") == 1
    assert _count(wiring, OutboxMessage, OutboxMessage.kind == "approval.decided") == 1
