"""SlackMessenger against the fake Slack API: DMs, cards updated in place, swarm channels, failures."""
from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.messenger import SlackMessenger, channel_name
from cards.model import Button, Card, Field, Section
from handlers.ports import DeliveryError, PlatformRef, Recipient, SwarmSpec
from tests.bot.slack.fake_slack import BOT_USER, TOKEN, FakeSlack
from tests.bot.slack.harness import blocks_text, buttons


@pytest.fixture
def messenger(fake_slack: FakeSlack) -> SlackMessenger:
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url)
    return SlackMessenger(lambda team: client)


CARD = Card(title="Approval A-1 · 25 % off", fields=(Field("Total", "¥9,000.00"),), blocks=(Section("Please decide"),),
            buttons=(Button("Approve", "approval.approve", "A-1", "primary"), Button("Reject", "approval.reject", "A-1")),
            kind="approval", ref="A-1")


def spec(title: str = "Acme Expansion", members: tuple[str, ...] = ("U01SAM", "U01LAW")) -> SwarmSpec:
    return SwarmSpec(record_type="deal", record_id=7, ref="D-7", title=title, topic="Proposal · ¥250,000.00 · 2027-03-31",
                     owner_external_id="U01EMMA", member_external_ids=members,
                     card=Card(title="Deal D-7 · Acme Expansion", kind="deal", ref="D-7"))


def test_send_posts_a_dm_card_and_update_replaces_it_in_place(messenger, fake_slack):
    ref = messenger.send_now(Recipient(user_id=3, platform="slack", external_id="U01SAM", locale="en"), CARD)
    assert (ref.platform, ref.channel) == ("slack", "D01SAM") and ref.message_ref
    sent = fake_slack.dm_messages("U01SAM")[0]
    assert ("Approve", "approval.approve", "A-1") in buttons(sent)
    decided = Card(title="Approval A-1 · 25 % off", blocks=(Section("Approved by Sam at 10:02"),), kind="approval")
    messenger.update_now(ref, decided)
    assert fake_slack.calls_to("chat.update")[0]["ts"] == ref.message_ref
    assert "Approved by Sam" in blocks_text(fake_slack.dm_messages("U01SAM")[0])
    assert buttons(fake_slack.dm_messages("U01SAM")[0]) == []


def test_a_swarm_channel_is_created_named_invited_topiced_posted_and_pinned(messenger, fake_slack):
    ref = messenger.create_swarm_now(spec())
    channel = fake_slack.channel_named("deal-7-acme-expansion")
    assert ref.channel == channel.id and ref.extra == {"name": "deal-7-acme-expansion"}
    assert channel.is_private and channel.members == {BOT_USER, "U01EMMA", "U01SAM", "U01LAW"}
    assert channel.topic == "Proposal · ¥250,000.00 · 2027-03-31"
    assert channel.pins == [ref.message_ref]
    assert fake_slack.methods() == ["conversations.create", "conversations.invite", "conversations.setTopic",
                                    "chat.postMessage", "pins.add"]


def test_a_taken_name_gets_a_suffix(messenger, fake_slack):
    fake_slack.fail("conversations.create", "name_taken", times=2)
    messenger.create_swarm_now(spec())
    names = [c["name"] for c in fake_slack.calls_to("conversations.create")]
    assert names == ["deal-7-acme-expansion", "deal-7-acme-expansion-2", "deal-7-acme-expansion-3"]
    assert fake_slack.channel_named("deal-7-acme-expansion-3")


def test_an_archived_channel_keeps_its_name(messenger, fake_slack):
    first = messenger.create_swarm_now(spec())
    messenger.archive_swarm_now(first.channel)
    messenger.create_swarm_now(spec())
    assert fake_slack.channel_named("deal-7-acme-expansion-2")


@pytest.mark.parametrize("title, expected", [
    ("深圳某某科技 续约", "deal-7-shenzhenmoumoukeji-xuyue"),
    ("Café Müller & Söhne (EU) — Q3.2027 🎉", "deal-7-cafe-muller-sohne-eu-q3-2027"),
    ("🎉🎉", "deal-7"),
    ("x" * 200, "deal-7-" + "x" * 73),
])
def test_channel_names_follow_slacks_rules(title, expected):
    name = channel_name("deal", 7, title)
    assert name == expected and len(name) <= 80


def test_an_unknown_member_is_skipped_and_the_rest_are_invited(messenger, fake_slack):
    messenger.create_swarm_now(spec(members=("U01SAM", "U0GONE", "U01LAW")))
    channel = fake_slack.channel_named("deal-7-acme-expansion")
    assert channel.members == {BOT_USER, "U01EMMA", "U01SAM", "U01LAW"}


def test_a_retry_after_a_partial_failure_resumes_instead_of_making_a_second_channel(messenger, fake_slack):
    fake_slack.rate_limit("pins.add", retry_after=3)
    with pytest.raises(DeliveryError) as err:
        messenger.create_swarm_now(spec())
    assert err.value.retry_after == 3.0 and not err.value.permanent
    messenger.create_swarm_now(spec())
    assert len(fake_slack.calls_to("conversations.create")) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.channel_named("deal-7-acme-expansion").pins) == 1


def test_429_is_a_delivery_error_with_retry_after(messenger, fake_slack):
    fake_slack.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(DeliveryError) as err:
        messenger.post_swarm_now("C0001", CARD)
    assert err.value.retry_after == 7.0 and not err.value.permanent


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_errors_retrying_cannot_fix_are_permanent(messenger, fake_slack, error):
    fake_slack.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as err:
        messenger.post_swarm_now("C0001", CARD)
    assert err.value.permanent and error in str(err.value)


def test_a_server_error_is_retried_later(messenger, fake_slack):
    fake_slack.fail("chat.postMessage", "internal_error", status=500)
    with pytest.raises(DeliveryError) as err:
        messenger.send_now(Recipient(user_id=3, platform="slack", external_id="U01SAM", locale="en"), CARD)
    assert not err.value.permanent and err.value.retry_after is None


def test_long_texts_are_shortened_not_refused(messenger, fake_slack):
    long = Card(title="Deal D-1 · " + "名" * 300, blocks=(Section("&" * 5000),))
    messenger.send_now(Recipient(user_id=3, platform="slack", external_id="U01SAM", locale="en"), long)
    header = fake_slack.dm_messages("U01SAM")[0]["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")


def test_a_card_slack_would_refuse_is_permanent_and_never_sent(messenger, fake_slack):
    too_long = Card(title="x", buttons=(Button("b", "deal.log", "D" * 2001),))
    with pytest.raises(DeliveryError) as err:
        messenger.send_now(Recipient(user_id=3, platform="slack", external_id="U01SAM", locale="en"), too_long)
    assert err.value.permanent and fake_slack.methods() == []


def test_posting_and_archiving_a_swarm_channel(messenger, fake_slack):
    ref = messenger.create_swarm_now(spec())
    posted = messenger.post_swarm_now(ref.channel, Card(title="D-7 · Acme", blocks=(Section("Stage: A → B"),)))
    assert posted.channel == ref.channel
    messenger.archive_swarm_now(ref.channel)
    messenger.archive_swarm_now(ref.channel)  # already archived: fine
    assert fake_slack.channel_named("deal-7-acme-expansion").archived
    with pytest.raises(DeliveryError) as err:
        messenger.post_swarm_now(ref.channel, CARD)
    assert err.value.permanent


def test_update_without_a_message_reference_is_permanent(messenger):
    with pytest.raises(DeliveryError) as err:
        messenger.update_now(PlatformRef(platform="slack"), CARD)
    assert err.value.permanent


def test_every_call_asks_for_the_client_of_the_workspace_it_belongs_to(fake_slack):
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url)
    asked: list[str | None] = []

    def client_for(team: str | None) -> WebClient:
        asked.append(team)
        return client

    m = SlackMessenger(client_for, channel_team=lambda channel: {"D01SAM": "T0002"}.get(channel))
    ref = m.send_now(Recipient(user_id=3, platform="slack", external_id="U01SAM", locale="en", team="T0002"), CARD)
    assert ref.extra == {"team": "T0002"} and asked == ["T0002"]
    # The deliverer hands back what it stored (sent_messages.extra): the update goes to the same workspace.
    asked.clear()
    m.update_now(PlatformRef(platform="slack", channel=ref.channel, message_ref=ref.message_ref, extra=ref.extra), CARD)
    assert asked == ["T0002"]
    swarm = m.create_swarm_now(SwarmSpec(**{**spec().__dict__, "team": "T0003"}))
    assert swarm.extra["team"] == "T0003" and set(asked[1:]) == {"T0003"}
    asked.clear()
    m.post_swarm_now(swarm.channel, CARD)  # only the channel id: the team learnt when creating it
    m.archive_swarm_now(swarm.channel)
    assert asked == ["T0003", "T0003"]
    # A messenger that never saw the message (another process): the channel_team lookup says where it is.
    asked.clear()
    other = SlackMessenger(client_for, channel_team=lambda channel: {"D01SAM": "T0002"}.get(channel))
    other.update_now(PlatformRef(platform="slack", channel=ref.channel, message_ref=ref.message_ref), CARD)
    assert asked == ["T0002"]
