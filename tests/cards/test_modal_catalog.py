"""The Slack modals' text is a catalog with every key in every language, and their views are built without a
database or Bolt (cards/render/slack_modals.py), as Block Kit JSON Slack accepts."""
from __future__ import annotations

import ast
from pathlib import Path

from cards.builders.modals import field_label, t
from cards.i18n import messages
from cards.render import slack_modals
from cards.render.slack_modals import Meta, advance_view, log_message_view, log_view, reject_view

ROOT = Path(__file__).resolve().parents[2]


def test_every_modal_text_exists_in_every_language() -> None:
    keys = {key for area, key in messages("en") if area == "modals"}
    assert len(keys) > 20
    for loc in ("en", "zh_CN"):
        assert all(messages(loc).get(("modals", key), "").strip() for key in keys), loc


def test_a_chinese_user_reads_the_modal_in_chinese() -> None:
    view = log_view(Meta(ref="D-1", locale="zh_CN"))
    assert view["title"]["text"] == "记录跟进" and view["submit"]["text"] == "保存" and view["close"]["text"] == "取消"
    assert view["blocks"][0]["text"]["text"] == "记录到 *D-1*"
    view = advance_view(Meta(ref="D-1", locale="en", stage="proposal"), "Proposal", ["close_date", "budget"])
    assert [b.get("label", {}).get("text") for b in view["blocks"][1:]] == ["Close date", "budget"]
    assert field_label("zh_CN", "amount") == "金额" and t("zh_CN", "e.empty") == "不能为空。"


def test_a_modal_remembers_where_it_was_opened() -> None:
    meta = Meta(ref="A-3", locale="en", response_url="https://hooks.slack.com/x", channel="C1")
    view = reject_view(meta)
    assert Meta.load(view["private_metadata"]) == meta and view["callback_id"] == "crm.reject"
    view = log_message_view(Meta(ref="", locale="en"), [], "hi", None)
    assert "submit" not in view and "No open deals" in view["blocks"][0]["text"]["text"]


def test_the_view_builders_are_pure() -> None:
    tree = ast.parse(Path(slack_modals.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    forbidden = ("sqlalchemy", "slack_bolt", "bot", "handlers", "crm_core.db", "crm_core.models", "crm_core.uow")
    assert sorted(m for m in imported if m.split(".")[0] in forbidden or m in forbidden) == []
    # and the Bolt side keeps no text table or view builder of its own
    listeners = (ROOT / "bot" / "slack" / "modals.py").read_text(encoding="utf-8")
    assert "CATALOG" not in listeners and "View(" not in listeners and "InputBlock(" not in listeners
