"""WeCom renderer: template cards (button_interaction), markdown, plain text, limits, golden snapshots."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cards.model import Button, Card, Context, Divider, Field, Image, Section
from cards.render.wecom import (
    MAX_BUTTONS,
    MAX_MARKDOWN_BYTES,
    WeComLimitError,
    button_key,
    check_task_id,
    command_hint,
    fit_markdown,
    fit_text,
    parse_button_key,
    to_markdown,
    to_template_card,
    to_text,
)

GOLDEN = Path(__file__).parent / "golden"


def deal_card() -> Card:
    return Card(
        title="商机 D-7 · 杭州云图 ERP 项目", locale="zh_CN", kind="deal", ref="D-7",
        fields=(Field("阶段", "方案报价"), Field("负责人", "李雷"), Field("客户", "杭州云图科技有限公司"),
                Field("金额", "¥300,000.00"), Field("加权金额", "¥150,000.00"), Field("预计成交", "2026-03-31"),
                Field("停留", "0 天"), Field("联系人", "张三")),
        blocks=(Section("已从「需求调研」推进到「方案报价」。"), Context("最近跟进：电话 3/1")),
        buttons=(Button("记录跟进", "deal.log", "D-7"), Button("推进阶段", "deal.advance", "D-7", "primary"),
                 Button("新建报价", "deal.quote", "D-7"), Button("协作群", "deal.swarm", "D-7")))


def approval_card() -> Card:
    return Card(title="Approval A-5 · quote Q-3 at 25% off", locale="en", kind="approval", ref="A-5",
                fields=(Field("Deal", "D-7"), Field("Discount", "25%")),
                blocks=(Section("Li Lei asks for *25%* off; needs `director` after you."),),
                buttons=(Button("Approve", "approval.approve", "A-5", "primary"),
                         Button("Reject", "approval.reject", "A-5", "danger")))


class TestTemplateCard:
    def test_structure(self) -> None:
        tc = to_template_card(deal_card(), "crm-deal-D-7-0123456789abcdef")
        assert tc["card_type"] == "button_interaction" and tc["task_id"] == "crm-deal-D-7-0123456789abcdef"
        assert tc["main_title"] == {"title": "商机 D-7 · 杭州云图 ERP 项目"}
        assert len(tc["horizontal_content_list"]) == 6
        assert tc["horizontal_content_list"][0] == {"type": 0, "keyname": "阶段", "value": "方案报价"}
        # Sections first, then the fields that did not fit, then context.
        assert tc["sub_title_text"] == "已从「需求调研」推进到「方案报价」。\n停留：0 天\n联系人：张三\n最近跟进：电话 3/1"
        assert [(b["text"], b["key"], b["style"]) for b in tc["button_list"]] == [
            ("记录跟进", "deal.log|D-7", 2), ("推进阶段", "deal.advance|D-7", 1), ("新建报价", "deal.quote|D-7", 2),
            ("协作群", "deal.swarm|D-7", 2)]

    def test_suggested_lengths_are_cut_visibly(self) -> None:
        card = Card(title="T" * 50, subtitle="S" * 60, blocks=(Section("x" * 300),), buttons=(Button("b", "a.b", "1"),))
        tc = to_template_card(card, "t")
        assert tc["main_title"]["title"] == "T" * 35 + "…" and tc["main_title"]["desc"] == "S" * 43 + "…"
        assert len(tc["sub_title_text"]) == 160 and tc["sub_title_text"].endswith("…")

    def test_replace_text_turns_a_decided_card_grey(self) -> None:
        decided = Card(title="审批 A-5", subtitle="已批准", fields=(Field("折扣", "25%"),))
        tc = to_template_card(decided, "t1", replace_text="已批准")
        assert tc["replace_text"] == "已批准" and len(tc["button_list"]) == 1

    def test_hard_limits_raise(self) -> None:
        seven = tuple(Button(str(i), "deal.advance", f"D-{i}") for i in range(MAX_BUTTONS + 1))
        with pytest.raises(WeComLimitError, match="6"):
            to_template_card(Card(title="x", buttons=seven), "t")
        with pytest.raises(WeComLimitError, match="1024"):
            to_template_card(Card(title="x", buttons=(Button("b", "a", "v" * 1100),)), "t")
        with pytest.raises(WeComLimitError, match="unique"):
            to_template_card(Card(title="x", buttons=(Button("b", "a", "1"), Button("c", "a", "1"))), "t")
        with pytest.raises(WeComLimitError, match="needs at least one button"):
            to_template_card(Card(title="x"), "t")
        for bad in ("", "has space", "中文", "a" * 129, "semi;colon"):
            with pytest.raises(WeComLimitError):
                check_task_id(bad)
        assert check_task_id("ok_-@09AZaz") == "ok_-@09AZaz"

    def test_button_keys_round_trip(self) -> None:
        b = Button("Approve", "approval.approve", "A-5")
        assert button_key(b) == "approval.approve|A-5"
        assert parse_button_key("approval.approve|A-5") == ("approval.approve", "A-5")
        assert parse_button_key("deal.list_more|mine:10") == ("deal.list_more", "mine:10")
        assert parse_button_key("garbage") is None and parse_button_key("|x") is None
        with pytest.raises(WeComLimitError):
            button_key(Button("x", "a|b", "1"))


class TestMarkdown:
    def test_structure_and_commands_for_buttons(self) -> None:
        md = to_markdown(approval_card())
        assert md.splitlines() == [
            "**Approval A-5 · quote Q-3 at 25% off**",
            '> <font color="comment">Deal: </font>D-7',
            '> <font color="comment">Discount: </font>25%',
            "Li Lei asks for **25%** off; needs `director` after you.",
            '<font color="comment">You can reply:</font>',
            "`approve A-5` Approve",
            "`reject A-5 <reason>` Reject",
        ]

    def test_chinese_commands(self) -> None:
        assert command_hint(Button("批准", "approval.approve", "A-5"), "zh_CN") == "批准 A-5"
        assert command_hint(Button("转化", "lead.convert", "L-3"), "zh_CN") == "线索 转化 L-3"
        assert command_hint(Button("更多", "deal.list_more", "mine:10"), "zh_CN") is None

    def test_other_blocks(self) -> None:
        md = to_markdown(Card(title="t", subtitle="sub", blocks=(Divider(), Image("https://x/y.png", "chart"),
                                                               Section("<font color=red>x</font>"))))
        assert md.splitlines() == ["**t**", '<font color="comment">sub</font>', "", "[chart](https://x/y.png)",
                                   "<\u200bfont color=red>x<\u200b/font>"]  # a tag no more (cards.escape)

    def test_over_2048_bytes_raises_and_fit_cuts_visibly(self) -> None:
        rows = "\n".join(f"D-{i} · 杭州某某科技有限公司 · 方案报价 · ¥{i}00,000" for i in range(60))
        card = Card(title="团队商机", locale="zh_CN", blocks=tuple(Section(r) for r in rows.splitlines()))
        with pytest.raises(WeComLimitError, match="2048"):
            to_markdown(card)
        fitted = fit_markdown(card)
        assert len(fitted.encode()) <= MAX_MARKDOWN_BYTES and fitted.endswith("（内容过长，已截断）</font>")
        assert fitted.startswith("**团队商机**\nD-0 ·")
        one_line = Card(title="x" * 3000, locale="en")
        assert len(fit_markdown(one_line).encode()) <= MAX_MARKDOWN_BYTES


class TestText:
    def test_plain_text_has_no_markup(self) -> None:
        text = to_text(approval_card())
        assert "**" not in text and "<font" not in text and "`" not in text
        assert text.splitlines()[0] == "Approval A-5 · quote Q-3 at 25% off"
        assert "  approve A-5  (Approve)" in text

    def test_fit_text(self) -> None:
        card = Card(title="t", blocks=tuple(Section("行" * 100) for _ in range(10)), locale="zh_CN")
        with pytest.raises(WeComLimitError):
            to_text(card)
        assert len(fit_text(card).encode()) <= 2048 and fit_text(card).endswith("（内容过长，已截断）")


@pytest.mark.parametrize("name,render", [
    ("wecom_deal_card.json", lambda: {"template_card": to_template_card(deal_card(), "crm-deal-D-7-0123456789abcdef"),
                                      "markdown": to_markdown(deal_card()), "text": to_text(deal_card())}),
    ("wecom_approval_card.json", lambda: {"template_card": to_template_card(approval_card(), "crm-approval-A-5-01"),
                                          "markdown": to_markdown(approval_card())}),
])
def test_golden(name: str, render) -> None:  # type: ignore[no-untyped-def]
    path = GOLDEN / name
    got = render()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert got == json.loads(path.read_text(encoding="utf-8"))
