"""Lead and deal cards."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

CATALOG = {
    "lead.title": {"en": "Lead {ref} · {name}", "zh_CN": "线索 {ref} · {name}"},
    "lead.created": {"en": "New lead, assigned to {owner}.", "zh_CN": "已新建线索，负责人：{owner}。"},
    "lead.duplicate": {"en": "Already known (same {matched_on}): updated {ref} instead of creating a second lead.",
                       "zh_CN": "该线索已存在（{matched_on}相同）：已更新 {ref}，没有重复新建。"},
    "lead.assigned_to_you": {"en": "You have a new lead: {ref} · {name}. Respond within {minutes} minutes.",
                             "zh_CN": "你有一条新线索：{ref} · {name}。请在 {minutes} 分钟内跟进。"},
    "lead.reassigned_to_you": {"en": "Lead {ref} · {name} was reassigned to you (first response missed).",
                               "zh_CN": "线索 {ref} · {name} 因超时未跟进，已改派给你。"},
    "f.company": {"en": "Company", "zh_CN": "公司"},
    "f.email": {"en": "Email", "zh_CN": "邮箱"},
    "f.phone": {"en": "Phone", "zh_CN": "电话"},
    "f.owner": {"en": "Owner", "zh_CN": "负责人"},
    "f.score": {"en": "Score", "zh_CN": "评分"},
    "f.source": {"en": "Source", "zh_CN": "来源"},
    "f.region": {"en": "Region", "zh_CN": "地区"},
    "f.industry": {"en": "Industry", "zh_CN": "行业"},
    "f.status": {"en": "Status", "zh_CN": "状态"},
    "f.respond_by": {"en": "Respond by", "zh_CN": "跟进截止"},
    "f.stage": {"en": "Stage", "zh_CN": "阶段"},
    "f.amount": {"en": "Amount", "zh_CN": "金额"},
    "f.weighted": {"en": "Weighted", "zh_CN": "加权金额"},
    "f.close": {"en": "Close date", "zh_CN": "预计成交"},
    "f.account": {"en": "Account", "zh_CN": "客户"},
    "f.contact": {"en": "Contact", "zh_CN": "联系人"},
    "f.in_stage": {"en": "In stage", "zh_CN": "停留"},
    "f.missing": {"en": "Needed for {stage}", "zh_CN": "进入「{stage}」需要"},
    "f.fields": {"en": "Fields", "zh_CN": "字段"},
    "status.open": {"en": "open", "zh_CN": "进行中"},
    "status.converted": {"en": "converted", "zh_CN": "已转化"},
    "status.won": {"en": "won", "zh_CN": "赢单"},
    "status.lost": {"en": "lost", "zh_CN": "输单"},
    "days": {"en": "{n} d", "zh_CN": "{n} 天"},
    "btn.convert": {"en": "Convert", "zh_CN": "转化"},
    "btn.log": {"en": "Log activity", "zh_CN": "记录跟进"},
    "btn.advance": {"en": "Advance stage", "zh_CN": "推进阶段"},
    "btn.quote": {"en": "New quote", "zh_CN": "新建报价"},
    "btn.swarm": {"en": "Open swarm", "zh_CN": "协作群"},
    "btn.won": {"en": "Won", "zh_CN": "赢单"},
    "deal.title": {"en": "Deal {ref} · {name}", "zh_CN": "商机 {ref} · {name}"},
    "deal.created": {"en": "Deal created in {stage}.", "zh_CN": "商机已创建，阶段：{stage}。"},
    "deal.converted": {"en": "{lead} converted: account {account}, contact {contact}, deal {deal}.",
                       "zh_CN": "{lead} 已转化：客户 {account}，联系人 {contact}，商机 {deal}。"},
    "deal.moved": {"en": "Moved from {from_stage} to {to_stage}.", "zh_CN": "已从「{from_stage}」推进到「{to_stage}」。"},
    "deal.tasks": {"en": "New tasks: {tasks}", "zh_CN": "新任务：{tasks}"},
    "deal.set": {"en": "Updated: {fields}", "zh_CN": "已更新：{fields}"},
    "deal.won": {"en": "Closed won. Congratulations!", "zh_CN": "已赢单，恭喜！"},
    "deal.lost": {"en": "Closed lost: {reason}", "zh_CN": "已输单：{reason}"},
    "deal.recent": {"en": "Recent: {items}", "zh_CN": "最近跟进：{items}"},
    "activity.logged": {"en": "Logged a {kind} on {ref}.", "zh_CN": "已在 {ref} 记录一条{kind}。"},
    "kind.call": {"en": "call", "zh_CN": "电话"},
    "kind.meeting": {"en": "meeting", "zh_CN": "会议"},
    "kind.email": {"en": "email", "zh_CN": "邮件"},
    "kind.note": {"en": "note", "zh_CN": "备注"},
    "matched.email": {"en": "email", "zh_CN": "邮箱"},
    "matched.phone": {"en": "phone", "zh_CN": "电话"},
    "matched.company": {"en": "company", "zh_CN": "公司"},
    "matched.name": {"en": "name at the same company", "zh_CN": "姓名和公司"},
    "status.merged": {"en": "merged", "zh_CN": "已合并"},
    "status.disqualified": {"en": "disqualified", "zh_CN": "已作废"},
    "lead.split_hint": {"en": "Not the same person? lead split {ref} (within {days} days) makes it a lead of its own.",
                        "zh_CN": "不是同一个人？{days} 天内输入 线索 拆分 {ref} 可拆成单独的线索。"},
    "lead.differences": {"en": "Kept the existing values; what you typed differently is kept in the merge record: {items}",
                         "zh_CN": "已保留原有信息；你填写的不同信息记录在合并记录中：{items}"},
    "lead.same_company": {"en": "Same company as {ref} (owner {owner}). The same person? Merge: lead merge {new} {ref}",
                          "zh_CN": "与 {ref} 同一公司（负责人 {owner}）。如是同一人，可合并：线索 合并 {new} {ref}"},
    "btn.merge_into": {"en": "Merge into {ref}", "zh_CN": "合并到 {ref}"},
    "lead.merged": {"en": "Merged {merged} into {kept}: moved {activities} activities and {tasks} tasks{filled}. "
                          "Take it back within {days} days: lead split {merged} (or undo).",
                    "zh_CN": "已将 {merged} 合并到 {kept}：移动了 {activities} 条跟进记录、{tasks} 个任务{filled}。"
                             "{days} 天内可撤回：线索 拆分 {merged}（或 撤销）。"},
    "lead.merged_filled": {"en": "; filled {fields}", "zh_CN": "；补充了 {fields}"},
    "lead.merged_notice": {"en": "{actor} merged {merged} · {name} into {kept}. Undo within {days} days: lead split {merged}",
                           "zh_CN": "{actor} 将 {merged} · {name} 合并到了 {kept}。{days} 天内可撤回：线索 拆分 {merged}"},
    "lead.split_notice": {"en": "{actor} split {restored} back out of {kept}.",
                          "zh_CN": "{actor} 已把 {restored} 从 {kept} 中拆分出来。"},
    "lead.split": {"en": "Split: {restored} is a lead of its own again; {kept} is as it was before the merge.",
                   "zh_CN": "已拆分：{restored} 重新成为独立线索；{kept} 已恢复到合并前。"},
    "lead.split_auto": {"en": "Split: what was merged into {kept} is now a lead of its own, {restored}; {kept} is as it was "
                              "before.",
                       "zh_CN": "已拆分：合并进 {kept} 的信息已成为独立线索 {restored}；{kept} 已恢复到合并前。"},
    "lead.merged_into": {"en": "Merged into {ref}. lead split {self} takes it back (within {days} days).",
                         "zh_CN": "已合并到 {ref}。{days} 天内可用 线索 拆分 {self} 撤回。"},
    "lead.assigned": {"en": "{ref} now belongs to {owner}.", "zh_CN": "{ref} 的负责人已改为 {owner}。"},
    "deal.owner_changed": {"en": "{ref} now belongs to {owner}.", "zh_CN": "{ref} 的负责人已改为 {owner}。"},
    "deal.back.title": {"en": "Move {ref} back to {to_stage}?", "zh_CN": "确定把 {ref} 退回「{to_stage}」吗？"},
    "deal.back.body": {"en": "{ref} is in {from_stage}; {to_stage} is an earlier stage. Nothing has changed yet. "
                               "Press Confirm, or type: advance {ref} {stage} confirm. "
                               "Tasks already created for that stage are not created again.",
                       "zh_CN": "{ref} 当前在「{from_stage}」，「{to_stage}」是更早的阶段，目前尚未修改。"
                                "请点「确认退回」，或输入：推进 {ref} {stage} 确认。该阶段已创建过的任务不会重复创建。"},
    "btn.confirm_back": {"en": "Confirm: move back", "zh_CN": "确认退回"},
    "account.overpaid": {"en": "{account} ⚠ overpaid {amount}", "zh_CN": "{account} ⚠ 多付 {amount}"},
    "owner.you_got": {"en": "{ref} · {name} was moved to you by {actor} (previous owner: {old}).",
                      "zh_CN": "{actor} 已把 {ref} · {name} 改派给你（原负责人：{old}）。"},
    "owner.you_lost": {"en": "{ref} · {name} was moved from you to {new} by {actor}.",
                       "zh_CN": "{actor} 已把 {ref} · {name} 从你名下改派给 {new}。"},
    "owner.title": {"en": "Owner changed · {ref}", "zh_CN": "负责人变更 · {ref}"},
    "transfer.title": {"en": "Handover: {from_user} → {to_user}", "zh_CN": "交接：{from_user} → {to_user}"},
    "transfer.summary": {"en": "Moved {leads} leads, {deals} deals, {tickets} tickets, {contracts} contracts and "
                                 "{tasks} tasks from {from_user} to {to_user}.",
                         "zh_CN": "已把 {from_user} 的 {leads} 条线索、{deals} 个商机、{tickets} 个工单、"
                                  "{contracts} 份合同和 {tasks} 项任务交接给 {to_user}。"},
    "transfer.you_got": {"en": "{actor} handed {from_user}'s open records over to you: {leads} leads, {deals} deals, "
                                 "{tickets} tickets, {contracts} contracts, {tasks} tasks. Type my to see them.",
                         "zh_CN": "{actor} 已把 {from_user} 的进行中记录交接给你：{leads} 条线索、{deals} 个商机、"
                                  "{tickets} 个工单、{contracts} 份合同、{tasks} 项任务。输入 我的 查看。"},
    "transfer.you_lost": {"en": "{actor} handed your open records over to {to_user}: {leads} leads, {deals} deals, "
                                  "{tickets} tickets, {contracts} contracts, {tasks} tasks.",
                          "zh_CN": "{actor} 已把你的进行中记录交接给 {to_user}：{leads} 条线索、{deals} 个商机、"
                                   "{tickets} 个工单、{contracts} 份合同、{tasks} 项任务。"},
}
t = translator(CATALOG)


@dataclass(frozen=True)
class LeadView:
    ref: str
    name: str
    company: str | None
    email: str | None
    phone: str | None
    owner: str
    score: int
    source: str
    status: str
    respond_by: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # (label, value): region, industry, declared fields, already localised


def lead_card(locale: str, v: LeadView, *, note: str | None = None, notes: Sequence[str] = (),
              extra_buttons: Sequence[Button] = ()) -> Card:
    fields = [Field(t(locale, "f.owner"), v.owner), Field(t(locale, "f.score"), str(v.score)),
              Field(t(locale, "f.status"), t(locale, f"status.{v.status}")),
              Field(t(locale, "f.source"), v.source)]
    for key, value in (("f.company", v.company), ("f.email", v.email), ("f.phone", v.phone),
                       ("f.respond_by", v.respond_by)):
        if value:
            fields.append(Field(t(locale, key), value))
    for label, value in v.extra:
        fields.append(Field(t(locale, f"f.{label}") if f"f.{label}" in CATALOG else label, value))
    buttons: tuple[Button, ...] = ()
    if v.status == "open":
        buttons = (Button(t(locale, "btn.convert"), "lead.convert", v.ref, "primary"),
                   Button(t(locale, "btn.log"), "lead.log", v.ref))
    blocks = tuple(Section(n) for n in ((note,) if note else ()) + tuple(notes))
    return Card(title=t(locale, "lead.title", ref=v.ref, name=v.name), locale=locale, fields=tuple(fields),
                blocks=blocks, buttons=buttons + tuple(extra_buttons), kind="lead", ref=v.ref)


def merge_button(locale: str, merged_ref: str, kept_ref: str) -> Button:
    """Merge the new lead into the older one of the same company; the value names both leads, nothing else."""
    return Button(t(locale, "btn.merge_into", ref=kept_ref), "lead.merge", f"{merged_ref}:{kept_ref}")


@dataclass(frozen=True)
class DealView:
    ref: str
    name: str
    stage: str
    status: str
    amount: str | None
    weighted: str | None
    close_date: date | None
    account: str
    contact: str | None
    owner: str
    days_in_stage: int
    custom: dict[str, str] = field(default_factory=dict)
    next_stage: str | None = None
    missing_for_next: Sequence[str] = ()
    recent: Sequence[str] = ()
    has_swarm: bool = False
    stage_key: str = ""  # the stage the card shows; the advance button carries it so a stale click is refused
    account_overpaid: str | None = None  # money the account paid beyond its invoices (flagged for finance)


def deal_card(locale: str, v: DealView, *, notes: Sequence[str] = ()) -> Card:
    fields = [Field(t(locale, "f.stage"), v.stage), Field(t(locale, "f.owner"), v.owner),
              Field(t(locale, "f.account"), t(locale, "account.overpaid", account=v.account, amount=v.account_overpaid)
                    if v.account_overpaid else v.account),
              Field(t(locale, "f.amount"), v.amount or "—"), Field(t(locale, "f.weighted"), v.weighted or "—"),
              Field(t(locale, "f.close"), v.close_date.isoformat() if v.close_date else "—"),
              Field(t(locale, "f.in_stage"), t(locale, "days", n=v.days_in_stage))]
    if v.contact:
        fields.append(Field(t(locale, "f.contact"), v.contact))
    if v.custom:
        fields.append(Field(t(locale, "f.fields"), ", ".join(f"{k}={val}" for k, val in sorted(v.custom.items()))))
    if v.next_stage and v.missing_for_next:
        fields.append(Field(t(locale, "f.missing", stage=v.next_stage), ", ".join(v.missing_for_next)))
    blocks: list[Section | Context] = [Section(n) for n in notes]
    if v.recent:
        blocks.append(Context(t(locale, "deal.recent", items=" · ".join(v.recent))))
    buttons: tuple[Button, ...] = ()
    if v.status == "open":
        buttons = (Button(t(locale, "btn.log"), "deal.log", v.ref),
                   Button(t(locale, "btn.advance"), "deal.advance", f"{v.ref}:{v.stage_key}" if v.stage_key else v.ref,
                          "primary"),
                   Button(t(locale, "btn.quote"), "deal.quote", v.ref),
                   Button(t(locale, "btn.swarm"), "deal.swarm", v.ref))
    return Card(title=t(locale, "deal.title", ref=v.ref, name=v.name), locale=locale,
                subtitle=t(locale, f"status.{v.status}") if v.status != "open" else None,
                fields=tuple(fields), blocks=tuple(blocks), buttons=buttons, kind="deal", ref=v.ref)


def deal_line(locale: str, ref: str, name: str, stage: str, amount: str | None) -> str:
    return f"{ref} · {name} · {stage} · {amount or '—'}"


def kind_label(locale: str, kind: str) -> str:
    return t(locale, f"kind.{kind}")
