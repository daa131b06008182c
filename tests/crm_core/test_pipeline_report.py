"""The pipeline report on a small hand-built dataset, and its query bound on two data sizes."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.config import Config, parse_config
from crm_core.models import User
from crm_core.queries.pipeline import pipeline_report
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.closing import do_close
from crm_core.services.deals import do_create_deal, do_move_stage, parse_date
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.services.permissions import visible_owner_ids
from crm_core.services.users import user_by_key
from tests.conftest import T0  # Monday 2026-03-02 09:00 Asia/Shanghai


@pytest.fixture
def config() -> Config:
    """A two-stage pipeline without required fields, three reps with monthly quotas."""
    return parse_config({
        "company": {"name": "T", "locale": "en", "timezone": "Asia/Shanghai", "currency": "CNY"},
        "users": [
            {"key": "admin", "name": "Admin", "role": "admin"},
            {"key": "wang", "name": "Wang", "role": "manager", "manager": "admin"},
            {"key": "li", "name": "Li", "manager": "wang", "quota": 500000},
            {"key": "han", "name": "Han", "manager": "wang", "quota": 400000},
            {"key": "sam", "name": "Sam", "role": "manager", "manager": "admin"},
            {"key": "emma", "name": "Emma", "manager": "sam", "quota": 300000},
        ],
        "pipeline": {"stages": [
            {"key": "a", "name": {"zh_CN": "甲", "en": "A"}, "probability": 10},
            {"key": "b", "name": {"zh_CN": "乙", "en": "B"}, "probability": 50},
            {"key": "won", "name": {"zh_CN": "赢", "en": "Won"}, "probability": 100},
            {"key": "lost", "name": {"zh_CN": "输", "en": "Lost"}, "probability": 0},
        ]},
    })


def days_ago(n: float) -> datetime:
    return T0 - timedelta(days=n)


def deal(uow, key: str, amount: int | None, created: float, *, close: str | None = None,  # type: ignore[no-untyped-def]
         to_b: float | None = None, won: float | None = None, lost: float | None = None) -> None:
    """A deal created `created` days ago in stage a; optionally moved to b, then won or lost (days ago)."""
    owner = user_by_key(uow.session, key)
    d = do_create_deal(uow, owner, account_name=f"Acct {key}", amount=None if amount is None else Decimal(amount),
                       name=None, close_date=parse_date(close) if close else None, now=days_ago(created))
    if to_b is not None:
        do_move_stage(uow, owner, d, uow.config.pipeline.stages[1], now=days_ago(to_b))
    if won is not None or lost is not None:
        do_close(uow, owner, d, won=won is not None, reason="price", now=days_ago(won if won is not None else lost))


_numbers = itertools.count(1)


def lead(uow, key: str, assigned: float, responded_after_minutes: int | None) -> None:  # type: ignore[no-untyped-def]
    owner = user_by_key(uow.session, key)
    n = next(_numbers)
    created = do_create_lead(uow, LeadInput(name=f"Lead {n}", email=f"l{n}@example.com"), actor=owner,
                             now=days_ago(assigned)).lead
    if responded_after_minutes is not None:
        do_log_activity(uow, owner, Ref("lead", created.id), "call", "hi",
                        now=days_ago(assigned) + timedelta(minutes=responded_after_minutes))


@pytest.fixture
def dataset(wiring) -> None:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        deal(uow, "li", 100000, 10, to_b=5, close="2026-03-20")  # open in b, closes this month
        deal(uow, "li", 200000, 20, close="2026-05-10")  # open in a, next quarter
        deal(uow, "li", 300000, 30, to_b=25, won=1)  # won on 1 March: this month and quarter
        deal(uow, "li", 50000, 40, lost=35)  # lost straight from a
        deal(uow, "han", 80000, 100, to_b=95, won=60)  # won on 1 January: this quarter, not this month
        deal(uow, "han", 40000, 5, close="2026-03-31")  # open in a, this month
        deal(uow, "han", 10000, 3, to_b=2, lost=1)
        deal(uow, "emma", 1000000, 7, to_b=6, close="2026-03-15")  # another team
        lead(uow, "li", 10, 10)
        lead(uow, "han", 2, 30)
        lead(uow, "li", 100, 5)  # assigned before the 90-day window
        lead(uow, "han", 1, None)  # not responded yet
        lead(uow, "emma", 3, 60)


def report_for(wiring, key: str):  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        scope = visible_owner_ids(s, user_by_key(s, key))
        return pipeline_report(s, wiring.config, scope, T0)


def test_a_managers_report_covers_their_team(wiring, dataset):  # type: ignore[no-untyped-def]
    r = report_for(wiring, "wang")
    assert [(s.stage, s.count, s.amount, s.weighted) for s in r.open.stages] == [
        ("a", 2, Decimal("240000.00"), Decimal("24000.00")), ("b", 1, Decimal("100000.00"), Decimal("50000.00"))]
    assert (r.open.count, r.open.amount, r.open.weighted) == (3, Decimal("340000.00"), Decimal("74000.00"))
    # Of 6 deals entering a in the window, 3 moved on (to b or won); of 3 entering b, 1 was won.
    assert [(c.from_stage, c.to_stage, c.advanced, c.entered, c.rate) for c in r.conversion] == [
        ("a", "b", 3, 6, Decimal("50.0")), ("b", "won", 1, 3, Decimal("33.3"))]
    assert (r.closed.won, r.closed.lost, r.closed.win_rate) == (2, 2, Decimal("50.0"))
    assert (r.leads.responded, r.leads.average_seconds) == (2, 20 * 60)
    month, quarter = r.forecast
    assert (month.period.start.isoformat(), month.period.end.isoformat()) == ("2026-03-01", "2026-04-01")
    assert (quarter.period.start.isoformat(), quarter.period.end.isoformat()) == ("2026-01-01", "2026-04-01")
    assert (month.weighted_open, month.won, month.total) == (Decimal("54000.00"), Decimal("300000.00"),
                                                            Decimal("354000.00"))
    assert (month.quota, month.attainment) == (Decimal("900000.00"), Decimal("39.3"))
    assert (quarter.weighted_open, quarter.won, quarter.total) == (Decimal("54000.00"), Decimal("380000.00"),
                                                                  Decimal("434000.00"))
    assert (quarter.quota, quarter.attainment) == (Decimal("2700000.00"), Decimal("16.1"))


def test_a_rep_sees_their_own_numbers(wiring, dataset):  # type: ignore[no-untyped-def]
    r = report_for(wiring, "li")
    assert [(s.stage, s.count, s.amount) for s in r.open.stages] == [("a", 1, Decimal("200000.00")),
                                                                      ("b", 1, Decimal("100000.00"))]
    assert (r.closed.won, r.closed.lost) == (1, 1)
    assert [(c.advanced, c.entered) for c in r.conversion] == [(2, 4), (1, 2)]
    assert (r.leads.responded, r.leads.average_seconds) == (1, 600)
    month, quarter = r.forecast
    assert (month.total, month.quota, month.attainment) == (Decimal("350000.00"), Decimal("500000.00"),
                                                            Decimal("70.0"))
    assert quarter.total == Decimal("350000.00")


def test_admin_sees_everyone(wiring, dataset):  # type: ignore[no-untyped-def]
    r = report_for(wiring, "admin")
    assert [(s.stage, s.count, s.weighted) for s in r.open.stages] == [("a", 2, Decimal("24000.00")),
                                                                        ("b", 2, Decimal("550000.00"))]
    assert [(c.advanced, c.entered) for c in r.conversion] == [(4, 7), (1, 4)]
    assert (r.leads.responded, r.leads.average_seconds) == (3, (10 + 30 + 60) * 60 // 3)
    month, _ = r.forecast
    assert (month.weighted_open, month.quota) == (Decimal("554000.00"), Decimal("1200000.00"))


def test_nobody_in_scope_with_a_quota_and_no_data(wiring):  # type: ignore[no-untyped-def]
    r = report_for(wiring, "sam")
    assert r.open.count == 0 and r.closed.win_rate is None and r.leads.average_seconds is None
    assert all(c.rate is None for c in r.conversion)
    assert r.forecast[0].quota == Decimal("300000.00")  # emma, in sam's team
    assert report_for(wiring, "wang").forecast[0].attainment == Decimal("0.0")
    with wiring.session_factory() as s:
        assert pipeline_report(s, wiring.config, {user_by_key(s, "admin").id}, T0).forecast[0].quota is None


def more_data(wiring, n: int) -> None:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        for i in range(n):
            key = ("li", "han", "emma")[i % 3]
            deal(uow, key, 1000 * (i + 1), 50 - i % 40, to_b=(45 - i % 40) if i % 2 else None,
                 won=(1 + i % 30) if i % 5 == 0 else None, lost=(2 + i % 30) if i % 7 == 0 and i % 5 else None,
                 close="2026-03-25" if i % 3 else "2026-06-01")
            lead(uow, key, 1 + i % 80, (i % 50) if i % 4 else None)


@pytest.mark.parametrize("key,queries", [("wang", 6), ("li", 5), ("admin", 4)])
def test_the_report_costs_the_same_number_of_queries_whatever_the_data_size(wiring, dataset, assert_query_count,  # type: ignore[no-untyped-def]
                                                                              key, queries):
    with wiring.session_factory() as s:
        actor = user_by_key(s, key)
        with assert_query_count(queries):  # team lookup (managers only), 4 aggregates, quota owners (not admin)
            small = pipeline_report(s, wiring.config, visible_owner_ids(s, actor), T0)
    more_data(wiring, 60)
    with wiring.session_factory() as s:
        actor = user_by_key(s, key)
        with assert_query_count(queries):
            large = pipeline_report(s, wiring.config, visible_owner_ids(s, actor), T0)
    assert large.open.count > small.open.count


def test_the_pipeline_command_costs_the_same_on_both_sizes(wiring, dataset, assert_query_count):  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        wang = s.scalar(select(User.id).where(User.key == "wang"))
    with assert_query_count() as small:
        text = wiring.runner.run_text(wang, "pipeline").text()
    assert "Pipeline · my team" in text and "A (10%): 2 · ¥240,000.00 · weighted ¥24,000.00" in text
    more_data(wiring, 60)
    with assert_query_count(len(small.statements)):
        assert "Pipeline · my team" in wiring.runner.run_text(wang, "pipeline").text()
