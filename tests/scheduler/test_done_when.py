"""Issue 5's "done when": the app with the demo data, left running, produces the SLA warnings and the
morning digest at the configured times, and people see them in `chatcrm console` as incoming
messages. "Left running" = the scheduler's jobs and the deliverer ticking every 30 s of fake time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.console import ConsoleSession
from bot.demo import load_demo
from bot.processes import build_messengers, scheduler_service
from scheduler.delivery import Deliverer

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def service(wiring):  # type: ignore[no-untyped-def]
    service = scheduler_service(wiring)
    yield service
    service.leader.release()  # on PostgreSQL: give the scheduler lock back


def test_sla_warning_and_morning_digest_arrive_on_time_in_the_console(wiring, clock, service) -> None:  # type: ignore[no-untyped-def]
    load_demo(wiring.runner, leads=40)
    deliverer = Deliverer(wiring.session_factory, build_messengers(wiring), clock, wiring.config)

    def tick() -> None:  # what `chatcrm serve` does every 30 s with embedded workers
        for job_id in service.specs:
            service.run_job(job_id)
        deliverer.run_once()

    tick()
    # Monday 09:00: a web form sends a lead; it goes to a rep of the east pool.
    with TestClient(create_app(wiring=wiring, prepare_database=False)) as client:
        res = client.post("/api/leads", headers={"X-API-Key": "test-key"},
                          json={"name": "张三", "company": "深圳新客户科技有限公司", "region": "east", "source": "web"})
    assert res.status_code == 201, res.text
    owner_key = res.json()["owner"]
    assert owner_key in ("li", "han")
    lead_ref = res.json()["ref"]
    rep = ConsoleSession(wiring.runner, owner_key, inbox=True)
    tick()
    assert f"你有一条新线索：{lead_ref}" in rep.exec("")
    for _ in range(19):  # 09:00:30 … 09:09:30: quiet
        clock.advance(seconds=30)
        tick()
        assert "首次跟进" not in rep.exec(""), clock.now()
    clock.advance(seconds=30)  # 09:10, five minutes before the deadline
    tick()
    seen = rep.exec("")
    assert ">> 新消息" in seen and "请在 5 分钟内（09:15 前）首次跟进。" in seen and f"线索 {lead_ref}" in seen

    wang = ConsoleSession(wiring.runner, "wang", inbox=True)
    wang.exec("")  # read everything so far
    clock.set(datetime(2026, 3, 3, 8, 29, 30, tzinfo=SHANGHAI))  # Tuesday morning
    tick()
    assert "每日简报" not in wang.exec("")
    clock.advance(seconds=30)  # 08:30: digest.daily_at
    tick()
    seen = wang.exec("")
    assert ">> 新消息" in seen and "每日简报 · 王芳的团队 · 2026-03-03" in seen and "*各阶段商机*" in seen
    sam = ConsoleSession(wiring.runner, "sam", inbox=True)
    assert "Daily digest · Sam Taylor's team · 2026-03-03" in sam.exec("")
    clock.advance(seconds=30)
    tick()
    assert "每日简报" not in wang.exec("")  # once
