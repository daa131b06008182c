"""WeCom drops more than 30 messages a minute to one member without an error, so the deliverer's
notifications and the adapter's immediate replies spend ONE budget per member (crm_core/pacing.py):
after the deliverer has used a member's minute, a reply to that member's command waits in the outbox
instead of being lost, and arrives when the minute has passed."""
from __future__ import annotations

from sqlalchemy import select

from bot.processes import build_messengers
from bot.wiring import Wiring
from cards.model import Card, Section
from crm_core.models import OutboxMessage, User
from crm_core.outbox import enqueue
from scheduler.delivery import deliver_due
from tests.bot.wecom.conftest import WeComHarness
from tests.bot.wecom.fake_api import FakeWeCom


def notify(w: Wiring, key: str, n: int) -> None:
    """`n` notifications that go out one message each (approval requests are never merged)."""
    with w.session_factory.begin() as s:
        user = s.scalar(select(User).where(User.key == key))
        assert user is not None
        for i in range(n):
            card = Card(title="审批", locale="zh_CN", blocks=(Section(f"报价 Q-{i} 待审批"),), kind="approval")
            enqueue(s, dedupe_key=f"test:pacing:{key}:{i}", kind="approval.request", target_type="user",
                    target_id=user.id, payload=card.to_dict(), now=w.clock.now())


def test_a_reply_after_the_deliverers_full_minute_waits_and_then_arrives(
        wecom: WeComHarness, wecom_wiring: Wiring, fake_wecom: FakeWeCom) -> None:
    w = wecom_wiring
    notify(w, "li", 30)
    stats = deliver_due(w.session_factory, build_messengers(w), w.clock, w.config)
    assert stats.sent == 30 and len(fake_wecom.sent_to("lilei")) == 30

    wecom.say("lilei", "商机 D-99")  # answered at once when the budget allows
    assert len(fake_wecom.sent_to("lilei")) == 30  # the 31st message this minute is not sent …
    with w.session_factory() as s:  # … but waits in the outbox until the minute frees a slot
        waiting = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all()
        assert [(r.status, r.next_attempt_at > w.clock.now()) for r in waiting] == [("pending", True)]

    w.clock.advance(seconds=61)
    deliver_due(w.session_factory, build_messengers(w), w.clock, w.config)
    assert len(fake_wecom.sent_to("lilei")) == 31 and "找不到 D-99" in wecom.last_text("lilei")


def test_below_the_limit_the_reply_goes_at_once(wecom: WeComHarness, wecom_wiring: Wiring,
                                                fake_wecom: FakeWeCom) -> None:
    w = wecom_wiring
    notify(w, "li", 29)
    deliver_due(w.session_factory, build_messengers(w), w.clock, w.config)
    wecom.say("lilei", "商机 D-99")
    assert len(fake_wecom.sent_to("lilei")) == 30 and "找不到 D-99" in wecom.last_text("lilei")
    with w.session_factory() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all() == []
