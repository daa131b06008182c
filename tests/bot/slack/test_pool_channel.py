"""The pool channel over Slack: a released lead is posted to the configured channel with a Claim button; two
reps click it (signed block_actions, as Slack sends them); one gets the lead, the other is told who has it,
and the channel's card is updated in place for everyone — no button, "已被 … 领取"."""
from __future__ import annotations

import pytest

from crm_core.config import Config, load_config
from tests.bot.slack.fake_slack import BOT_USER, Channel
from tests.bot.slack.harness import blocks_text, buttons
from tests.bot.slack.test_full_day import deliver_all


@pytest.fixture
def config() -> Config:
    base = load_config(None)
    return base.model_copy(update={"pool": base.pool.model_copy(update={"slack_channel": "C0POOL"})})


def test_a_pool_lead_is_claimed_from_the_channel_and_the_card_changes_for_everyone(
        slack, fake_slack, slack_wiring, clock):  # type: ignore[no-untyped-def]
    fake_slack.channels["C0POOL"] = Channel(id="C0POOL", name="lead-pool", is_private=False, creator="U01SAM",
                                            members={BOT_USER, "U01EMMA", "U01LI", "U01WANG"})
    slack.command("U01EMMA", 'lead add "Ann Lee" company=Acme email=ann@acme.com')
    slack.command("U01EMMA", "release L-1 wrong region for me")
    assert "L-1 is back in the pool" in blocks_text(slack.last_response())
    deliver_all(slack_wiring, clock)
    [posted] = fake_slack.channel_messages("C0POOL")
    assert "公海线索 L-1 · Ann Lee" in blocks_text(posted) and "wrong region for me" in blocks_text(posted)
    [(label, action_id, value)] = buttons(posted)
    assert label == "领取"  # channel posts speak the company language
    slack.click("U01LI", action_id, value, channel="C0POOL", message_ts=posted["ts"], ephemeral=False)
    assert "L-1 已归你跟进" in blocks_text(slack.last_response())
    slack.click("U01WANG", action_id, value, channel="C0POOL", message_ts=posted["ts"], ephemeral=False)
    assert "L-1 已被 李雷 领取" in blocks_text(slack.last_response())
    deliver_all(slack_wiring, clock)
    [updated] = fake_slack.channel_messages("C0POOL")  # the same message, changed in place
    assert updated["ts"] == posted["ts"] and updated.get("edited")
    assert "已被 李雷 领取。" in blocks_text(updated) and buttons(updated) == []
