"""What the clock sends: SLA warnings and breaches, stale-deal nudges, the morning task list, renewal
reminders, and the admins' dead-letter report. Pure functions of view dataclasses."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Button, Card, Context, Section

CATALOG = {
    # leads: first response
    "lead.warn": {"en": "First response due in {minutes} min (by {time}). Log a call or a note: log {ref} call …",
                  "zh_CN": "请在 {minutes} 分钟内（{time} 前）首次跟进。记录跟进：记录 {ref} call …"},
    "lead.reassigned.owner": {"en": "{ref} was reassigned to {new_owner}: no first response within {minutes} min.",
                              "zh_CN": "{ref} 已改派给 {new_owner}：{minutes} 分钟内没有首次跟进。"},
    "lead.reassigned.manager": {"en": "{owner} missed the first response on {ref} ({minutes} min); "
                                      "it was reassigned to {new_owner}.",
                                "zh_CN": "{owner} 未在 {minutes} 分钟内跟进 {ref}，已改派给 {new_owner}。"},
    "lead.breach.owner": {"en": "First response on {ref} is overdue (due {time}). Your manager {manager} has been told.",
                          "zh_CN": "{ref} 的首次跟进已超时（截止 {time}），已通知你的经理 {manager}。"},
    "lead.breach.owner_alone": {"en": "First response on {ref} is overdue (due {time}). Log it now: log {ref} call …",
                                "zh_CN": "{ref} 的首次跟进已超时（截止 {time}）。请立即跟进：记录 {ref} call …"},
    "lead.breach.manager": {"en": "{owner} missed the first response on {ref} (due {time}).",
                            "zh_CN": "{owner} 未按时首次跟进 {ref}（截止 {time}）。"},
    # deals
    "stale.no_activity": {"en": "No activity on {ref} for {days} days. Log what happened, or move it on.",
                          "zh_CN": "{ref} 已 {days} 天没有跟进记录。请记录最新进展，或推进阶段。"},
    "stale.in_stage": {"en": "{ref} has been in {stage} for {days} days (limit {limit}). Move it on, or log why it waits.",
                       "zh_CN": "{ref} 已在「{stage}」阶段停留 {days} 天（上限 {limit} 天）。请推进，或记录原因。"},
    # tasks
    "tasks.title": {"en": "Your tasks for today ({n})", "zh_CN": "今日待办（{n}）"},
    "tasks.overdue": {"en": "overdue since {date}", "zh_CN": "{date} 起逾期"},
    "tasks.today": {"en": "due today", "zh_CN": "今天到期"},
    "tasks.hint": {"en": "Done with one? Type task done #12. Type my to see everything waiting on you.",
                   "zh_CN": "完成后输入 任务 完成 #12；输入 我的 查看全部待办。"},
    # tickets
    "ticket.warn.respond": {"en": "Respond to {ref} within {minutes} min (by {time}): ticket ack {ref}",
                            "zh_CN": "请在 {minutes} 分钟内（{time} 前）响应 {ref}：工单 ack {ref}"},
    "ticket.warn.resolve": {"en": "Resolve {ref} within {minutes} min (by {time}): ticket close {ref}",
                            "zh_CN": "请在 {minutes} 分钟内（{time} 前）解决 {ref}：工单 close {ref}"},
    "ticket.breach.respond": {"en": "SLA breached: {ref} ({priority}) got no response by {time}. Owner: {owner}.",
                              "zh_CN": "SLA 超时：{ref}（{priority}）未在 {time} 前响应。负责人：{owner}。"},
    "ticket.breach.resolve": {"en": "SLA breached: {ref} ({priority}) was not resolved by {time}. Owner: {owner}.",
                              "zh_CN": "SLA 超时：{ref}（{priority}）未在 {time} 前解决。负责人：{owner}。"},
    # renewals
    "renewal.text": {"en": "{ref} ends on {end} — in {days} days. Value {value}.",
                     "zh_CN": "{ref} 将于 {end} 到期（还有 {days} 天），合同金额 {value}。"},
    "renewal.deal": {"en": "Renewal deal: {deal}.", "zh_CN": "续约商机：{deal}。"},
    "renewal.health": {"en": "Health {health}/100 — at risk.", "zh_CN": "健康度 {health}/100，存在流失风险。"},
    "renewal.manager": {"en": "{owner} owns this renewal; you are told because the account's health is low.",
                        "zh_CN": "该续约由 {owner} 负责；因客户健康度偏低，特此通知你。"},
    # dead letters (admins)
    "dead.title": {"en": "{n} outbox message(s) could not be delivered", "zh_CN": "{n} 条消息投递失败"},
    "dead.hint": {"en": "They were given up after {attempts} attempts (or a permanent error). Fix the cause; "
                        "set their status back to pending to send them again.",
                  "zh_CN": "已尝试 {attempts} 次（或遇到永久错误）后放弃。请排除原因；把状态改回 pending 即可重新发送。"},
    # merged messages
    "merged.title": {"en": "{n} reminders", "zh_CN": "{n} 条提醒"},
}
t = translator(CATALOG)


@dataclass(frozen=True)
class TaskLine:
    title: str
    ref: str | None
    due: str  # local date, 2026-03-02
    overdue: bool
    number: int | None = None  # the task's id, for "task done #12"


def tasks_card(locale: str, tasks: Sequence[TaskLine]) -> Card:
    rows = []
    for task in tasks:
        when = t(locale, "tasks.overdue", date=task.due) if task.overdue else t(locale, "tasks.today")
        number = f"#{task.number} " if task.number is not None else ""
        rows.append(f"• {number}{task.title}" + (f" · {task.ref}" if task.ref else "") + f" · {when}")
    return Card(title=t(locale, "tasks.title", n=len(tasks)), locale=locale,
                blocks=(Section("\n".join(rows)), Context(t(locale, "tasks.hint"))), kind="tasks")


@dataclass(frozen=True)
class DeadRow:
    id: int
    kind: str
    target: str
    attempts: int
    error: str


def dead_letter_card(locale: str, rows: Sequence[DeadRow], max_attempts: int) -> Card:
    lines = [f"#{r.id} {r.kind} → {r.target} ({r.attempts}×): {r.error[:160]}" for r in rows[:30]]
    if len(rows) > 30:
        lines.append(f"… +{len(rows) - 30}")
    return Card(title=t(locale, "dead.title", n=len(rows)), locale=locale,
                blocks=(Section("\n".join(lines)), Context(t(locale, "dead.hint", attempts=max_attempts))),
                kind="outbox.dead")


def merged_card(locale: str, cards: Sequence[Card]) -> Card:
    """Several nudges to one person within a minute, as one message (one ping, not five)."""
    blocks: list[Section | Context] = []
    buttons: list[Button] = []
    for card in cards:
        blocks.append(Section(f"*{card.title}*"))
        blocks.extend(b for b in card.blocks if isinstance(b, (Section, Context)))
        if card.fields:
            blocks.append(Context(" · ".join(f"{f.label}: {f.value}" for f in card.fields[:4])))
        buttons.extend(card.buttons[:2])
    return Card(title=t(locale, "merged.title", n=len(cards)), locale=locale, blocks=tuple(blocks),
                buttons=tuple(buttons[:10]), kind="merged",
                attachments=tuple(a for card in cards for a in card.attachments))  # the digest's chart
