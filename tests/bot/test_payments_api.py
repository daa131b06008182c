"""POST /api/payments: by order id or invoice number, idempotent by external id, status, notifications."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from crm_core.models import AuditEntry, Order, OutboxMessage, Payment
from crm_core.services.orders import mark_overdue, overdue_orders_count

KEY = {"X-API-Key": "test-key"}


@pytest.fixture
def client(wiring):  # type: ignore[no-untyped-def]
    with TestClient(create_app(wiring=wiring)) as c:
        yield c


@pytest.fixture
def order(console_bot, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """emma's order INV-2026-000001 over ¥1,288.20, due 2026-04-01."""
    monkeypatch.chdir(tmp_path)
    emma = console_bot("emma")
    emma.exec("deal new Globex amount=5000")
    emma.exec("quote D-1 PRO x1 discount=5")  # 1200 × 0.95 × 1.13 = 1288.20
    assert "INV-2026-000001" in emma.exec("order Q-1")
    return {"id": 1, "invoice_no": "INV-2026-000001", "amount": "1288.20"}


def pay(client, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/payments", json=body, headers=KEY)


def count(wiring, model, *where) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def test_partial_then_full_payment_moves_the_status_and_tells_owner_and_finance(client, wiring, order, user_id):  # type: ignore[no-untyped-def]
    r = pay(client, external_id="tx-1", order_id=order["id"], amount=500)
    assert r.status_code == 201, r.text
    assert r.json() | {"payment_id": 0} == {
        "payment_id": 0, "external_id": "tx-1", "order_id": 1, "invoice_no": "INV-2026-000001", "amount": "500.00",
        "currency": "CNY", "order_amount": "1288.20", "order_paid": "500.00", "order_status": "partially_paid",
        "duplicate": False, "order_overpaid": "0.00"}
    r = pay(client, external_id="tx-2", invoice_no="inv-2026-000001", amount="788.20", paid_at="2026-03-05T10:00:00")
    assert r.status_code == 201 and r.json()["order_status"] == "paid"
    with wiring.session_factory() as s:
        o = s.get(Order, 1)
        assert (o.status, o.paid) == ("paid", Decimal("1288.20"))
        assert o.paid_at.isoformat() == "2026-03-05T02:00:00+00:00"  # company time (Asia/Shanghai) → UTC
    with wiring.session_factory() as s:
        told = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payment.received")
                              .order_by(OutboxMessage.id)))
    assert [m.target_id for m in told] == [user_id("emma"), user_id("lawyer")] * 2  # each payment: owner + finance
    assert {m.payload["title"] for m in told} == {"Payment received · INV-2026-000001", "收到付款 · INV-2026-000001"}
    assert "Paid ¥1,288.20 of ¥1,288.20: paid" in str([m.payload for m in told if m.target_id == user_id("emma")][-1])
    assert count(wiring, AuditEntry, AuditEntry.action == "order.payment") == 2


def test_a_repeat_of_the_same_external_id_returns_the_same_result_and_doubles_nothing(client, wiring, order):  # type: ignore[no-untyped-def]
    first = pay(client, external_id="tx-9", order_id=1, amount="100.00")
    again = pay(client, external_id="tx-9", order_id=1, amount="100")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() | {"duplicate": True}
    assert count(wiring, Payment) == 1
    assert count(wiring, OutboxMessage, OutboxMessage.kind == "payment.received") == 2  # owner + finance, once
    with wiring.session_factory() as s:
        assert s.get(Order, 1).paid == Decimal("100.00")


def test_the_same_external_id_with_another_amount_is_a_conflict(client, wiring, order):  # type: ignore[no-untyped-def]
    pay(client, external_id="tx-9", order_id=1, amount="100.00")
    r = pay(client, external_id="tx-9", order_id=1, amount="200.00")
    assert r.status_code == 409 and r.json()["error"] == "conflict" and "new external_id" in r.json()["message"]
    assert count(wiring, Payment) == 1


@pytest.mark.parametrize("body", [{"order_id": 99}, {"invoice_no": "INV-2026-999999"}])
def test_an_unknown_order_is_a_404_with_a_clear_body(client, wiring, order, body):  # type: ignore[no-untyped-def]
    r = pay(client, external_id="tx-1", amount=10, **body)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found" and "was not found" in r.json()["message"]
    assert count(wiring, Payment) == 0


@pytest.mark.parametrize("amount", [0, -5, "0.00", "0.001"])
def test_a_non_positive_amount_is_refused(client, wiring, order, amount):  # type: ignore[no-untyped-def]
    r = pay(client, external_id="tx-1", order_id=1, amount=amount)
    assert r.status_code == 422 and r.json()["error"] == "invalid" and "above 0" in r.json()["message"]
    assert count(wiring, Payment) == 0


def test_naming_no_order_and_a_wrong_key_are_refused(client, wiring, order):  # type: ignore[no-untyped-def]
    r = pay(client, external_id="tx-1", amount=10)
    assert r.status_code == 422 and "order_id or invoice_no" in r.json()["message"]
    r = client.post("/api/payments", json={"external_id": "tx-1", "order_id": 1, "amount": 10},
                    headers={"X-API-Key": "nope"})
    assert r.status_code == 401
    assert count(wiring, Payment) == 0


def test_an_unpaid_order_past_its_due_date_becomes_overdue(client, wiring, order):  # type: ignore[no-untyped-def]
    due = date(2026, 4, 1)
    with wiring.session_factory.begin() as s:
        assert mark_overdue(s, due) == 0
        assert overdue_orders_count(s, 1, today=due + timedelta(days=1)) == 1  # not marked yet, but past due
        assert mark_overdue(s, due + timedelta(days=1)) == 1
    with wiring.session_factory() as s:
        assert s.get(Order, 1).status == "overdue" and overdue_orders_count(s, 1) == 1
    wiring.clock.advance(days=40)
    r = pay(client, external_id="late-1", order_id=1, amount=100)
    assert r.json()["order_status"] == "overdue"  # partly paid but still late
    r = pay(client, external_id="late-2", order_id=1, amount="1188.20")
    assert r.json()["order_status"] == "paid"
    with wiring.session_factory() as s:
        assert overdue_orders_count(s, 1) == 0


@pytest.mark.postgres
def test_the_same_payment_arriving_on_eight_connections_at_once_is_recorded_once(client, wiring, order):  # type: ignore[no-untyped-def]
    import threading
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def post() -> None:
        barrier.wait()
        codes.append(pay(client, external_id="tx-race", order_id=1, amount="300").status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [200] * 7 + [201]
    assert count(wiring, Payment) == 1
    with wiring.session_factory() as s:
        assert s.get(Order, 1).paid == Decimal("300.00")


# --- money that adds up: a payment beyond the invoice, or to a cancelled order, is kept and flagged -------

def flagged(wiring) -> list:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payment.flagged")
                              .order_by(OutboxMessage.id)))


def test_an_overpayment_is_accepted_flagged_and_told_once_to_owner_finance_and_admin(  # type: ignore[no-untyped-def]
        client, wiring, order, user_id, console_bot):
    r = pay(client, external_id="tx-1", order_id=1, amount="1000")
    assert r.json()["order_overpaid"] == "0.00" and flagged(wiring) == []
    r = pay(client, external_id="tx-2", order_id=1, amount="388.20")  # 100.00 more than the invoice
    assert r.status_code == 201, r.text
    assert (r.json()["order_status"], r.json()["order_paid"], r.json()["order_overpaid"]) == ("paid", "1388.20",
                                                                                          "100.00")
    rows = flagged(wiring)
    assert [m.target_id for m in rows] == [user_id("emma"), user_id("admin"), user_id("lawyer")]
    by_user = {m.target_id: str(m.payload) for m in rows}
    assert "¥100.00 received beyond the invoice total" in by_user[user_id("emma")]
    assert "收款超出发票金额 ¥100.00" in by_user[user_id("lawyer")]  # finance reads the company's Chinese
    # the flagged payment is told once: no second, ordinary "payment received" for it
    assert count(wiring, OutboxMessage, OutboxMessage.kind == "payment.received") == 2  # tx-1: owner + finance
    again = pay(client, external_id="tx-2", order_id=1, amount="388.20")  # the finance system retries
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(flagged(wiring)) == 3
    with wiring.session_factory() as s:
        assert s.get(Order, 1).overpaid == Decimal("100.00")
        assert [p.excess for p in s.scalars(select(Payment).order_by(Payment.id))] == [Decimal("0.00"),
                                                                                       Decimal("100.00")]
    # the flag shows on the quote / order card and on the deal card's account line
    emma = console_bot("emma")
    assert "INV-2026-000001: ⚠ ¥100.00 received beyond the invoice total" in emma.exec("quote Q-1")
    assert "Globex ⚠ overpaid ¥100.00" in emma.exec("deal D-1")
    assert "Globex ⚠ 多付 ¥100.00" in console_bot("chen").exec("商机 D-1")  # emma's director reads Chinese


def test_a_payment_to_a_cancelled_order_is_kept_and_flagged(client, wiring, order, user_id):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        uow.session.get(Order, 1).status = "cancelled"
    r = pay(client, external_id="tx-c", order_id=1, amount="50")
    assert r.status_code == 201 and r.json()["order_status"] == "cancelled" and r.json()["order_overpaid"] == "50.00"
    rows = flagged(wiring)
    assert {m.target_id for m in rows} == {user_id("emma"), user_id("admin"), user_id("lawyer")}
    assert "¥50.00 received for a cancelled order" in str(rows[0].payload)
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "order.payment")) == 1
