"""Managers' digests: at the configured minute, to each manager for their team and to admins for
everyone, once a day, with the change since the previous digest, in each reader's language."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scheduler.jobs.digests import run_digests
from tests.scheduler.helpers import last_id, messages

SHANGHAI = timezone(timedelta(hours=8))


def run(wiring, clock) -> int:  # type: ignore[no-untyped-def]
    return run_digests(uow=wiring.uow(), clock=clock)


def digests(wiring, since: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {who: text for who, kind, text in messages(wiring, since_id=since, kinds=("digest.",))}


def some_deals(console_bot) -> None:  # type: ignore[no-untyped-def]
    emma, tom, li = console_bot("emma"), console_bot("tom"), console_bot("li")
    emma.exec('deal new Acme amount=250000 name="Acme rollout"')
    emma.exec("deal new Globex amount=80000")
    tom.exec("deal new Initech amount=40000")
    tom.exec("won D-3")
    li.exec("deal new 华星科技 amount=120000")
    emma.exec("deal set D-1 contact=Ann")
    emma.exec("advance D-1")


def test_daily_digest_at_the_configured_minute_to_every_manager_and_admin(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    some_deals(console_bot)
    clock.set(datetime(2026, 3, 3, 8, 29, 59, tzinfo=SHANGHAI))  # Tuesday
    assert run(wiring, clock) == 0
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=SHANGHAI))
    mark = last_id(wiring)
    assert run(wiring, clock) == 5
    got = digests(wiring, mark)
    assert sorted(got) == ["admin", "chen", "sam", "wang", "zhao"]
    sam = got["sam"]
    assert sam.startswith("Daily digest · Sam Taylor's team · 2026-03-03\n"
                          "*Pipeline by stage* (first digest: no earlier one to compare)\n"
                          "Qualify █████ 1 · ¥80,000.00\n"
                          "Discovery ████████████████ 1 · ¥250,000.00\n")
    assert "Mar 2026: ¥0.00 weighted open + ¥40,000.00 won = ¥40,000.00 · quota ¥750,000.00 (5.3%)" in sam
    assert "*Last 24 hours*: won 1 (¥40,000.00) · lost 0 (¥0.00) · SLA breaches 0" in sam
    assert "• Tom Baker: open 0 · ¥0.00 · won 1 / lost 0 · win rate 100.0% · first response —" in sam
    assert "李雷" not in sam  # another team
    assert got["wang"].startswith("每日简报 · 王芳的团队 · 2026-03-03\n*各阶段商机*（首份简报，暂无对比）")
    assert "Daily digest · everyone" in got["admin"] and "李雷" in got["admin"] and "Tom Baker" in got["admin"]
    assert run(wiring, clock) == 0  # once a day, however often the job ticks
    clock.set(datetime(2026, 3, 3, 17, 0, tzinfo=SHANGHAI))
    assert run(wiring, clock) == 0


def test_the_next_digest_says_what_changed(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    some_deals(console_bot)
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=SHANGHAI))
    run(wiring, clock)
    console_bot("emma").exec("deal new Hooli amount=10000")
    clock.set(datetime(2026, 3, 4, 8, 30, tzinfo=SHANGHAI))
    mark = last_id(wiring)
    assert run(wiring, clock) == 5
    sam = digests(wiring, mark)["sam"]
    assert "*Pipeline by stage* (change since 2026-03-03)\nQualify ██████ 2 · ¥90,000.00 (+1 · +¥10,000.00)" in sam
    assert "Total: 3 open · ¥340,000.00 (+1 · +¥10,000.00)" in sam
    assert "（±0）" in digests(wiring, mark)["wang"]


def test_monday_brings_the_weekly_digest(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    some_deals(console_bot)
    clock.set(datetime(2026, 3, 9, 8, 30, tzinfo=SHANGHAI))  # weekly_on = "mon"
    mark = last_id(wiring)
    assert run(wiring, clock) == 5
    rows = messages(wiring, since_id=mark)
    assert {kind for _, kind, _ in rows} == {"digest.weekly"}
    sam = digests(wiring, mark)["sam"]
    assert sam.startswith("Weekly digest · Sam Taylor's team · 2026-03-09")
    assert "*Last 7 days*: won 1 (¥40,000.00)" in sam  # won last Monday 09:00, inside the 7 days


def test_a_team_digest_costs_the_same_queries_whatever_the_data(wiring, console_bot, clock,  # type: ignore[no-untyped-def]
                                                               assert_query_count) -> None:
    from scheduler.digests import collect
    from crm_core.services.permissions import team_ids
    from crm_core.services.users import user_by_key

    def count() -> int:
        with wiring.session_factory() as s:
            sam = user_by_key(s, "sam")
            team = team_ids(s, sam)
            with assert_query_count() as counter:
                collect(s, wiring.config, team, scope=f"team:{sam.id}", period="daily",
                        day=clock.now().date(), now=clock.now())
            return len(counter.statements)

    some_deals(console_bot)
    small = count()
    emma = console_bot("emma")
    for i in range(25):
        emma.exec(f"deal new Customer{i} amount={1000 * (i + 1)}")
    assert "Closed lost" in emma.exec("lost D-2 reason=budget")
    assert count() == small == 10


def test_the_digest_job_costs_the_same_statements_for_5_recipients_as_for_25(wiring, console_bot, clock,  # type: ignore[no-untyped-def]
                                                                             assert_query_count) -> None:
    """Team figures are queried once per run and sliced per recipient; all rows are written at once."""
    from crm_core.models import User
    from crm_core.services.users import user_by_key

    some_deals(console_bot)
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=SHANGHAI))  # Tuesday: daily
    with assert_query_count() as five:
        assert run(wiring, clock) == 5
    with wiring.session_factory.begin() as s:
        sam = user_by_key(s, "sam")
        for i in range(20):  # 20 more managers, each with a rep who owns a deal
            boss = User(key=f"m{i}", name=f"Manager {i}", role="manager", manager_id=sam.id, tags=[], away=False,
                        active=True, created_at=clock.now())
            s.add(boss)
            s.flush()
            s.add(User(key=f"r{i}", name=f"Rep {i}", role="rep", manager_id=boss.id, tags=[], away=False,
                       active=True, created_at=clock.now()))
    clock.set(datetime(2026, 3, 4, 8, 30, tzinfo=SHANGHAI))  # Wednesday: daily again
    mark = last_id(wiring)
    with assert_query_count() as twenty_five:
        assert run(wiring, clock) == 25
    assert len(twenty_five.statements) == len(five.statements) <= 20, "\n".join(twenty_five.statements)
    got = digests(wiring, mark)
    assert "Manager 7" in got["m7"] and "Rep 7" in got["m7"] and "Rep 8" not in got["m7"]
    assert "Rep 7" in got["sam"] and "Tom Baker" in got["sam"]  # sam's team now reaches down to them
    assert "2026-03-03" in got["sam"] and "first digest" not in got["sam"]  # compared with yesterday's


def test_the_run_wide_figures_slice_to_what_a_single_digest_computes(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    from crm_core.services.permissions import team_ids
    from crm_core.services.users import user_by_key
    from scheduler.digests import RunFigures, collect

    some_deals(console_bot)
    console_bot("emma").exec("lost D-2 reason=budget")
    now = clock.now() + timedelta(days=1)
    with wiring.session_factory() as s:
        figures = RunFigures(s, wiring.config, period="daily", day=now.date(), now=now)
        for key in ("sam", "wang", "chen", "zhao"):
            team = team_ids(s, user_by_key(s, key))
            assert figures.team_ids(user_by_key(s, key).id) == team
            one = collect(s, wiring.config, team, scope=f"team:{key}", period="daily", day=now.date(), now=now)
            assert figures.collect(team, scope=f"team:{key}") == one
        assert figures.collect(None, scope="all") == collect(s, wiring.config, None, scope="all", period="daily",
                                                             day=now.date(), now=now)
