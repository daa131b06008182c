"""Slack Block Kit renderer: structure, escaping, action ids, limits and a golden snapshot."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

from slack_sdk.models.blocks import Block as SlackBlock

from cards.model import Button, Card, Context, Divider, Field, Image, Section
from cards.render.slack import (
    MAX_BLOCKS,
    SlackLimitError,
    action_name,
    action_pattern,
    fallback_text,
    fit_text,
    to_blocks,
    to_message,
)

GOLDEN = Path(__file__).parent / "golden"


# --- realistic cards ------------------------------------------------------------------------------------

def deal_card() -> Card:
    return Card(
        title="Deal D-7 · Acme Renewal 2025", kind="deal", ref="D-7",
        fields=(Field("Stage", "Proposal"), Field("Owner", "alice"), Field("Account", "Acme & Sons <EU>"),
                Field("Amount", "¥120,000"), Field("Weighted", "¥60,000"), Field("Close date", "2025-03-31"),
                Field("In stage", "4 d"), Field("Contact", "Li Wei")),
        blocks=(Section("Customer asked for *net 60* & a `PRO` discount > 10%"),
                Context("Recent: call 3/1 · email 3/2")),
        buttons=(Button("Log activity", "deal.log", "D-7"),
                 Button("Advance stage", "deal.advance", "D-7", "primary"),
                 Button("New quote", "deal.quote", "D-7"),
                 Button("Mark lost", "deal.lose", "D-7", "danger")),
    )


def lead_card() -> Card:
    return Card(
        title="Lead L-12 · Zhang San", kind="lead", ref="L-12",
        fields=(Field("Owner", "bob"), Field("Score", "72"), Field("Status", "open"), Field("Source", "web"),
                Field("Email", "zhang@example.com"), Field("Respond by", "2025-03-01 10:00")),
        blocks=(Section("New lead, assigned to bob."),),
        buttons=(Button("Convert", "lead.convert", "L-12", "primary"), Button("Log activity", "lead.log", "L-12")),
    )


def error_card_zh() -> Card:
    return Card(title="无法执行", locale="zh_CN", kind="error",
                blocks=(Section("商机 D-99 不存在。请检查编号，例如 `商机 D-7`。"), Context("输入 帮助 查看全部命令。")))


def list_card() -> Card:
    rows = [f"D-{i} · Account {i} · Proposal · ¥{i}0,000" for i in range(1, 11)]
    return Card(title="My deals", kind="list", subtitle="Open deals owned by you",
                blocks=(Section("\n".join(rows)), Context("Showing 1–10")),
                buttons=(Button("More", "deal.list_more", "mine:11"),))


ALL_CARDS = [deal_card, lead_card, error_card_zh, list_card]


def of_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == kind]


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in of_type(blocks, "actions") for e in b["elements"]]


# --- structure and validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", ALL_CARDS, ids=lambda f: f.__name__)
def test_blocks_round_trip_through_slack_sdk(make: Any) -> None:
    blocks = to_blocks(make())
    assert blocks and all(isinstance(b, dict) for b in blocks)
    for b in blocks:
        assert SlackBlock.parse(b).to_dict() == b
    assert json.loads(json.dumps(blocks)) == blocks


@pytest.mark.parametrize("make", ALL_CARDS, ids=lambda f: f.__name__)
def test_header_text_is_the_title(make: Any) -> None:
    card = make()
    header = to_blocks(card)[0]
    assert header["type"] == "header"
    assert header["text"] == {"type": "plain_text", "text": card.title, "emoji": True}


def test_deal_card_layout() -> None:
    blocks = to_blocks(deal_card())
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context", "actions"]
    fields = blocks[1]["fields"]
    assert len(fields) == 8
    assert fields[0] == {"type": "mrkdwn", "text": "*Stage*\nProposal"}
    assert all(f["type"] == "mrkdwn" for f in fields)


def test_buttons_carry_action_ids_values_and_styles() -> None:
    blocks = to_blocks(deal_card())
    actions = of_type(blocks, "actions")
    assert len(actions) == 1 and actions[0]["block_id"] == "actions:D-7"
    got = [(e["action_id"], e["value"], e.get("style"), e["text"]["text"]) for e in buttons(blocks)]
    assert got == [("deal.log", "D-7", None, "Log activity"),
                   ("deal.advance", "D-7", "primary", "Advance stage"),
                   ("deal.quote", "D-7", None, "New quote"),
                   ("deal.lose", "D-7", "danger", "Mark lost")]
    assert "style" not in buttons(blocks)[0]


def test_block_id_falls_back_to_kind() -> None:
    assert of_type(to_blocks(list_card()), "actions")[0]["block_id"] == "actions:list"


def test_duplicate_actions_get_unique_ids_that_map_back() -> None:
    card = Card(title="Pick a deal", kind="list",
                buttons=(Button("D-7", "deal.open", "D-7"), Button("Help", "help.show", "deal"),
                         Button("D-8", "deal.open", "D-8")))
    ids = [e["action_id"] for e in buttons(to_blocks(card))]
    assert ids == ["deal.open#0", "help.show", "deal.open#2"]
    assert [action_name(i) for i in ids] == ["deal.open", "help.show", "deal.open"]
    assert all(action_pattern("deal.open").match(i) for i in ("deal.open", "deal.open#0", "deal.open#12"))
    assert not action_pattern("deal.open").match("deal.opened")
    assert not action_pattern("deal.open").match("dealXopen")


def test_action_ids_and_block_ids_are_unique_across_a_multi_card_message() -> None:
    other = Card(title="Deal D-7 again", kind="deal", ref="D-7", buttons=(Button("Advance", "deal.advance", "D-7"),))
    blocks = to_message([deal_card(), other])["blocks"]
    ids = [e["action_id"] for e in buttons(blocks)]
    assert len(ids) == len(set(ids))
    assert ids[1] == "deal.advance#1" and ids[-1] == "deal.advance#4"
    assert [b["block_id"] for b in of_type(blocks, "actions")] == ["actions:D-7", "actions:D-7#2"]


def test_twelve_fields_are_split_into_two_sections() -> None:
    card = Card(title="Many fields", fields=tuple(Field(f"F{i}", str(i)) for i in range(12)))
    sections = of_type(to_blocks(card), "section")
    assert [len(s["fields"]) for s in sections] == [10, 2]
    assert sections[1]["fields"][-1]["text"] == "*F11*\n11"


def test_twenty_six_buttons_are_split_into_two_actions_blocks() -> None:
    card = Card(title="Many buttons", ref="X-1", buttons=tuple(Button(f"B{i}", f"x.b{i}", str(i)) for i in range(26)))
    actions = of_type(to_blocks(card), "actions")
    assert [len(a["elements"]) for a in actions] == [25, 1]
    assert [a["block_id"] for a in actions] == ["actions:X-1", "actions:X-1#2"]


def test_divider_and_image_blocks() -> None:
    card = Card(title="Pics", blocks=(Divider(), Image("https://example.com/chart.png", "Pipeline chart")))
    assert to_blocks(card)[1:] == [
        {"type": "divider"},
        {"type": "image", "image_url": "https://example.com/chart.png", "alt_text": "Pipeline chart"},
    ]


# --- text ----------------------------------------------------------------------------------------------

def test_user_text_is_escaped_but_markup_kept() -> None:
    card = Card(title="Tom & Jerry <Ltd>", subtitle="a<b", fields=(Field("R&D", "<@U123> & co"),),
                blocks=(Section("*bold* `code` & <!channel> > quote"), Context("x > y")))
    blocks = to_blocks(card)
    assert blocks[0]["text"]["text"] == "Tom & Jerry <Ltd>"  # plain_text: shown literally
    assert blocks[1]["text"]["text"] == "a&lt;b"
    assert blocks[2]["fields"][0]["text"] == "*R&amp;D*\n&lt;@U123&gt; &amp; co"
    assert blocks[3]["text"]["text"] == "*bold* `code` &amp; &lt;!channel&gt; &gt; quote"
    assert blocks[4]["elements"][0]["text"] == "x &gt; y"


def test_chinese_text_passes_unchanged() -> None:
    card = error_card_zh()
    blocks = to_blocks(card)
    assert blocks[0]["text"]["text"] == "无法执行"
    assert blocks[1]["text"]["text"] == "商机 D-99 不存在。请检查编号，例如 `商机 D-7`。"
    assert blocks[2]["elements"][0]["text"] == "输入 帮助 查看全部命令。"
    assert to_message(card)["text"] == "无法执行\n商机 D-99 不存在。请检查编号，例如 `商机 D-7`。"


def test_fallback_text_is_title_and_first_section() -> None:
    assert fallback_text(lead_card()) == "Lead L-12 · Zhang San\nNew lead, assigned to bob."
    assert fallback_text(list_card()) == "My deals\nOpen deals owned by you"
    assert fallback_text(Card(title="Only a title")) == "Only a title"
    assert fallback_text(Card(title="A&B", blocks=(Section("<x>"),))) == "A&amp;B\n&lt;x&gt;"


def test_fallback_text_is_capped_without_cutting_an_entity() -> None:
    text = fallback_text(Card(title="T", blocks=(Section("&" * 2000),)))
    assert len(text) <= 3000 and text.endswith("&amp;…")


def test_to_message_for_one_and_several_cards() -> None:
    card = deal_card()
    assert to_message(card) == {"text": fallback_text(card), "blocks": to_blocks(card)}
    msg = to_message([card, error_card_zh()])
    n = len(to_blocks(card))
    assert msg["blocks"][n] == {"type": "divider"}
    assert msg["blocks"][n + 1]["text"]["text"] == "无法执行"
    assert msg["text"] == fallback_text(card) + "\n\n" + fallback_text(error_card_zh())
    with pytest.raises(ValueError):
        to_message([])


def test_fit_text() -> None:
    assert fit_text("short", 10) == "short"
    assert fit_text("x" * 10, 10) == "x" * 10
    assert fit_text("abcdefghijk", 10) == "abcdefghi…"
    assert len(fit_text("长" * 200, 150)) == 150
    section = Card(title="T", blocks=(Section(fit_text("y" * 5000, 3000)),))
    assert len(to_blocks(section)[1]["text"]["text"]) == 3000


# --- limits ---------------------------------------------------------------------------------------------

def test_fifty_blocks_pass_fifty_one_raise() -> None:
    assert len(to_blocks(Card(title="T", blocks=(Divider(),) * (MAX_BLOCKS - 1)))) == MAX_BLOCKS
    with pytest.raises(SlackLimitError, match="51 blocks"):
        to_blocks(Card(title="T", blocks=(Divider(),) * MAX_BLOCKS))


def test_message_of_several_cards_past_fifty_blocks_raises() -> None:
    card = Card(title="T", blocks=(Divider(),) * 24)  # 25 blocks; two cards + separator = 51
    with pytest.raises(SlackLimitError):
        to_message([card, card])


def test_button_value_limit() -> None:
    to_blocks(Card(title="T", buttons=(Button("Go", "x.go", "v" * 2000),)))
    with pytest.raises(SlackLimitError, match="2001"):
        to_blocks(Card(title="T", buttons=(Button("Go", "x.go", "v" * 2001),)))


def test_button_label_limit() -> None:
    to_blocks(Card(title="T", buttons=(Button("L" * 75, "x.go", "v"),)))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", buttons=(Button("L" * 76, "x.go", "v"),)))


def test_section_text_limit_counts_escaped_text() -> None:
    to_blocks(Card(title="T", blocks=(Section("s" * 3000),)))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", blocks=(Section("s" * 3001),)))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", blocks=(Section("&" * 700),)))  # 3500 chars once escaped


def test_subtitle_and_context_limits() -> None:
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", subtitle="s" * 3001))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", blocks=(Context("c" * 3001),)))


def test_field_text_limit() -> None:
    to_blocks(Card(title="T", fields=(Field("L", "v" * (2000 - len("*L*\n"))),)))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", fields=(Field("L", "v" * 2000),)))


def test_title_limit() -> None:
    to_blocks(Card(title="t" * 150))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="t" * 151))
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title=""))


def test_empty_section_raises() -> None:
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", blocks=(Section(""),)))


def test_block_id_limit() -> None:
    with pytest.raises(SlackLimitError):
        to_blocks(Card(title="T", ref="r" * 250, buttons=(Button("Go", "x.go", "v"),)))


def test_slack_sdk_validation_errors_become_slack_limit_errors() -> None:
    with pytest.raises(SlackLimitError, match="alt_text"):
        to_blocks(Card(title="T", blocks=(Image("https://example.com/a.png", "a" * 2001),)))


def test_limit_error_is_a_value_error() -> None:
    assert issubclass(SlackLimitError, ValueError)


def test_actions_that_look_suffixed_are_rejected() -> None:
    with pytest.raises(ValueError):
        to_blocks(Card(title="T", buttons=(Button("Go", "x.go#1", "v"),)))


# --- golden snapshot ------------------------------------------------------------------------------------

def test_deal_card_golden() -> None:
    path = GOLDEN / "slack_deal_card.json"
    rendered = to_message(deal_card())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rendered, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text(encoding="utf-8")) == rendered


# --- the real builders render and validate -------------------------------------------------------------

def test_builder_cards_render() -> None:
    from datetime import date

    from cards.builders.common import UsageView, error_card, list_card, usage_card
    from cards.builders.sales import DealView, LeadView, deal_card, lead_card

    deal = DealView(ref="D-7", name="Acme & Co", stage="Proposal", status="open", amount="¥120,000",
                    weighted="¥60,000", close_date=date(2025, 3, 31), account="Acme", contact="Li Wei", owner="alice",
                    days_in_stage=4, recent=("call",))
    lead = LeadView(ref="L-1", name="张三", company="上海某某", email=None, phone="+86 138", owner="bob", score=70,
                    source="web", status="open")
    cards = [deal_card("en", deal), deal_card("zh_CN", deal), lead_card("zh_CN", lead),
             error_card("zh_CN", "商机 D-99 不存在", hint="输入 帮助"),
             list_card("en", "Deals", ["D-1 · A", "D-2 · B"], more=Button("More", "deal.list_more", "p2")),
             usage_card("en", UsageView("deal", ["deal <ref>", "deal list [mine|team]"]))]
    for card in cards:
        for b in to_blocks(card):
            assert SlackBlock.parse(b).to_dict() == b
    assert len(deal_card("en", deal).fields) == 8
    assert len(buttons(to_blocks(deal_card("en", deal)))) == 4
    msg = to_message(cards)
    assert len(msg["blocks"]) <= MAX_BLOCKS
