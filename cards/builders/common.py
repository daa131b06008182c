"""Cards every area uses: errors, usage, notices, simple lists."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

CATALOG = {
    "error.title": {"en": "Cannot do that", "zh_CN": "无法执行"},
    "internal.title": {"en": "Something went wrong", "zh_CN": "出错了"},
    "internal.body": {"en": "This is on our side, not yours. Reference: {ref}. Your change was not saved.",
                      "zh_CN": "这是系统问题，不是你的操作问题。参考编号：{ref}。本次修改未保存。"},
    "internal.body_saved": {"en": "This is on our side, not yours. Reference: {ref}. Your change was saved; "
                                  "do not type it again.",
                            "zh_CN": "这是系统问题，不是你的操作问题。参考编号：{ref}。本次修改已保存，请勿重复输入。"},
    "internal.body_unknown": {"en": "This is on our side, not yours. Reference: {ref}. Check the record before "
                                    "typing it again: your change may have been saved.",
                              "zh_CN": "这是系统问题，不是你的操作问题。参考编号：{ref}。本次修改可能已保存，"
                                       "请先查看记录再决定是否重新输入。"},
    "saved.title": {"en": "Done earlier: {command}", "zh_CN": "之前的命令已执行：{command}"},
    "saved.records": {"en": "Saved: {refs}. The answer could not be shown at the time; here it is.",
                      "zh_CN": "已保存：{refs}。当时未能显示结果，现补发如下。"},
    "saved.no_records": {"en": "It was carried out. The answer could not be shown at the time; here it is.",
                         "zh_CN": "已执行完成。当时未能显示结果，现补发如下。"},
    "saved.nothing": {"en": "Nothing was saved. The answer could not be shown at the time; here it is.",
                      "zh_CN": "没有保存任何修改。当时未能显示结果，现补发如下。"},
    "busy.title": {"en": "Busy: your command is queued", "zh_CN": "系统繁忙：你的命令已排队"},
    "busy.body": {"en": "Many requests are being worked on right now. “{command}” is saved and waiting its turn; "
                        "the answer will appear here shortly. No need to send it again.",
                  "zh_CN": "当前请求较多。「{command}」已保存并在排队，结果稍后会显示在这里，无需重复发送。"},
    "usage.title": {"en": "How to use “{command}”", "zh_CN": "「{command}」的用法"},
    "usage.unknown": {"en": "I don't know “{word}”.", "zh_CN": "无法识别「{word}」。"},
    "usage.did_you_mean": {"en": "Did you mean: {suggestions}?", "zh_CN": "你是不是想输入：{suggestions}？"},
    "usage.help": {"en": "Type help for all commands.", "zh_CN": "输入 帮助 查看全部命令。"},
    "list.empty": {"en": "Nothing here yet.", "zh_CN": "暂无内容。"},
    "list.more": {"en": "More", "zh_CN": "更多"},
    "list.showing": {"en": "Showing {start}–{end}", "zh_CN": "第 {start}–{end} 条"},
}
t = translator(CATALOG)


def error_card(locale: str, message: str, *, hint: str | None = None) -> Card:
    blocks: list[Section | Context] = [Section(message)]
    if hint:
        blocks.append(Context(hint))
    return Card(title=t(locale, "error.title"), locale=locale, blocks=tuple(blocks), kind="error")


def internal_error_card(locale: str, reference: str, *, saved: bool | None = False) -> Card:
    """`saved`: False — the change was rolled back; True — it was committed; None — not known."""
    key = {False: "internal.body", True: "internal.body_saved", None: "internal.body_unknown"}[saved]
    return Card(title=t(locale, "internal.title"), locale=locale,
                blocks=(Section(t(locale, key, ref=reference)),), kind="error")


def saved_notice_card(locale: str, command: str, refs: Sequence[str], *, saved: bool) -> Card:
    """Heads a reply that is delivered late (the first delivery failed): says truthfully what was saved."""
    if not saved:
        text = t(locale, "saved.nothing")
    elif refs:
        text = t(locale, "saved.records", refs=", ".join(refs))
    else:
        text = t(locale, "saved.no_records")
    return Card(title=t(locale, "saved.title", command=command[:80]), locale=locale, blocks=(Section(text),),
                kind="info")


def busy_card(locale: str, command: str) -> Card:
    """The answer to a request that found the work queue full: it is saved, and will be answered."""
    return Card(title=t(locale, "busy.title"), locale=locale,
                blocks=(Section(t(locale, "busy.body", command=command[:80])),), kind="info")


@dataclass(frozen=True)
class UsageView:
    command: str
    usage_lines: Sequence[str]
    problem: str | None = None
    suggestions: Sequence[str] = ()


def usage_card(locale: str, view: UsageView) -> Card:
    blocks: list[Section | Context] = []
    if view.problem:
        blocks.append(Section(view.problem))
    if view.suggestions:
        blocks.append(Section(t(locale, "usage.did_you_mean", suggestions=", ".join(view.suggestions))))
    blocks.append(Section("\n".join(f"`{line}`" for line in view.usage_lines)))
    blocks.append(Context(t(locale, "usage.help")))
    return Card(title=t(locale, "usage.title", command=view.command), locale=locale, blocks=tuple(blocks),
                kind="usage")


def notice_card(locale: str, title: str, text: str | None = None, *, fields: Sequence[Field] = (),
                buttons: Sequence[Button] = (), ref: str | None = None, kind: str = "info") -> Card:
    return Card(title=title, locale=locale, blocks=(Section(text),) if text else (), fields=tuple(fields),
                buttons=tuple(buttons), ref=ref, kind=kind)


def list_card(locale: str, title: str, rows: Sequence[str], *, more: Button | None = None,
              start: int = 1, subtitle: str | None = None) -> Card:
    if not rows:
        return Card(title=title, locale=locale, subtitle=subtitle, blocks=(Section(t(locale, "list.empty")),),
                    kind="list")
    blocks: list[Section | Context] = [Section("\n".join(rows))]
    if more is not None:
        blocks.append(Context(t(locale, "list.showing", start=start, end=start + len(rows) - 1)))
    return Card(title=title, locale=locale, subtitle=subtitle, blocks=tuple(blocks),
                buttons=(more,) if more else (), kind="list")
