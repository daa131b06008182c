"""Ticket, contract (health) and renewals cards, and the notifications of the service area."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.builders.common import list_card
from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

CATALOG = {
    "ticket.title": {"en": "Ticket {ref} · {subject}", "zh_CN": "工单 {ref} · {subject}"},
    "ticket.opened": {"en": "Ticket opened for {account}; {owner} owns it. Respond by {respond_by}.",
                      "zh_CN": "已为 {account} 新建工单，负责人：{owner}。请在 {respond_by} 前响应。"},
    "ticket.acked": {"en": "First response recorded.", "zh_CN": "已记录首次响应。"},
    "ticket.already_acked": {"en": "Already acknowledged at {at}; nothing changed.",
                             "zh_CN": "已于 {at} 响应过，未做修改。"},
    "ticket.closed": {"en": "Ticket closed. A satisfaction check goes to {who}.",
                      "zh_CN": "工单已关闭，满意度回访已发给 {who}。"},
    "ticket.assigned_to_you": {"en": "New {priority} ticket for you from {by}. Respond by {respond_by}.",
                               "zh_CN": "{by} 给你分配了一个{priority}工单，请在 {respond_by} 前响应。"},
    "csat.title": {"en": "Satisfaction check: {ref} closed", "zh_CN": "满意度回访：{ref} 已关闭"},
    "csat.body": {"en": "{ref} “{subject}” for {account} was closed by {closer}. Please ask {contact} how satisfied "
                        "they are (1–5) and record it: log {ref} note CSAT 5",
                  "zh_CN": "{account} 的工单 {ref}「{subject}」已由 {closer} 关闭。请向 {contact} 了解满意度（1–5 分）"
                           "并记录：记录 {ref} note CSAT 5"},
    "f.account": {"en": "Account", "zh_CN": "客户"},
    "f.priority": {"en": "Priority", "zh_CN": "优先级"},
    "f.status": {"en": "Status", "zh_CN": "状态"},
    "f.owner": {"en": "Owner", "zh_CN": "负责人"},
    "f.opened": {"en": "Opened", "zh_CN": "创建时间"},
    "f.respond_by": {"en": "Respond by", "zh_CN": "响应截止"},
    "f.resolve_by": {"en": "Resolve by", "zh_CN": "解决截止"},
    "f.value": {"en": "Value", "zh_CN": "金额"},
    "f.term": {"en": "Term", "zh_CN": "合同期"},
    "f.ends_in": {"en": "Ends in", "zh_CN": "距到期"},
    "f.health": {"en": "Health", "zh_CN": "健康度"},
    "f.renewal": {"en": "Renewal deal", "zh_CN": "续约商机"},
    "f.deal": {"en": "From deal", "zh_CN": "来源商机"},
    "prio.urgent": {"en": "urgent", "zh_CN": "紧急"},
    "prio.high": {"en": "high", "zh_CN": "高"},
    "prio.normal": {"en": "normal", "zh_CN": "普通"},
    "prio.low": {"en": "low", "zh_CN": "低"},
    "status.open": {"en": "open", "zh_CN": "处理中"},
    "status.closed": {"en": "closed", "zh_CN": "已关闭"},
    "clock.met": {"en": "{due} · met ({span} early)", "zh_CN": "{due} · 已达成（提前 {span}）"},
    "clock.late": {"en": "{due} · met late ({span} over)", "zh_CN": "{due} · 超时完成（超出 {span}）"},
    "clock.running": {"en": "{due} · {span} left", "zh_CN": "{due} · 剩余 {span}"},
    "clock.breached": {"en": "{due} · BREACHED {span} ago", "zh_CN": "{due} · 已超时 {span}"},
    "btn.ack": {"en": "Acknowledge", "zh_CN": "响应"},
    "btn.close": {"en": "Close", "zh_CN": "关闭"},
    "btn.swarm": {"en": "Open swarm", "zh_CN": "协作群"},
    "btn.renew": {"en": "Create renewal deal", "zh_CN": "创建续约商机"},
    "btn.renew_ref": {"en": "Renew {ref}", "zh_CN": "续约 {ref}"},
    "contract.title": {"en": "Contract {ref} · {account}", "zh_CN": "合同 {ref} · {account}"},
    "contract.set": {"en": "Updated: {fields}", "zh_CN": "已更新：{fields}"},
    "contract.how_to_set": {"en": "Set usage and NPS with: contract set {ref} usage=80 nps=30",
                            "zh_CN": "设置使用率和 NPS：合同 设置 {ref} usage=80 nps=30"},
    "contract.renewal_created": {"en": "Renewal deal {deal} created (closes {close}).",
                                 "zh_CN": "已创建续约商机 {deal}（预计成交 {close}）。"},
    "contract.renewal_exists": {"en": "{ref} already has its renewal deal {deal}; nothing changed.",
                                "zh_CN": "{ref} 已有续约商机 {deal}，未重复创建。"},
    "contract.renewal_for_you": {"en": "Renewal deal {deal} was created for contract {ref} ({account}, ends {end}).",
                                 "zh_CN": "已为合同 {ref}（{account}，{end} 到期）创建续约商机 {deal}。"},
    "health.usage": {"en": "usage {value}% → {points}/{weight}", "zh_CN": "使用率 {value}% → {points}/{weight}"},
    "health.nps": {"en": "NPS {value} → {points}/{weight}", "zh_CN": "NPS {value} → {points}/{weight}"},
    "health.nps_unset": {"en": "NPS not set (neutral) → {points}/{weight}",
                         "zh_CN": "NPS 未设置（按中性计）→ {points}/{weight}"},
    "health.tickets": {"en": "open tickets {value} → {points}/{weight}", "zh_CN": "未关闭工单 {value} → {points}/{weight}"},
    "health.payments": {"en": "overdue payments {value} → {points}/{weight}",
                        "zh_CN": "逾期付款 {value} → {points}/{weight}"},
    "health.score": {"en": "{score}/100 ({band})", "zh_CN": "{score}/100（{band}）"},
    "band.good": {"en": "good", "zh_CN": "良好"},
    "band.watch": {"en": "watch", "zh_CN": "关注"},
    "band.risk": {"en": "at risk", "zh_CN": "有风险"},
    "renewals.title": {"en": "Renewals in the next {days} days", "zh_CN": "未来 {days} 天到期的合同"},
    "renewals.row": {"en": "{ref} · {account} · ends {end} ({days} d) · {value} · health {score} · {owner}",
                     "zh_CN": "{ref} · {account} · {end} 到期（{days} 天）· {value} · 健康度 {score} · {owner}"},
    "renewals.more": {"en": "Showing the {n} soonest; more end in this window. Narrow it, e.g. renewals {days}",
                      "zh_CN": "仅显示最早到期的 {n} 个，窗口内还有更多。可缩短天数，例如：续费 {days}"},
    "renewals.has_deal": {"en": "renewal {deal}", "zh_CN": "续约 {deal}"},
    "my.tickets": {"en": "My tickets near breach", "zh_CN": "我即将超时的工单"},
    "days": {"en": "{n} d", "zh_CN": "{n} 天"},
    "span.d": {"en": "{d} d {h} h", "zh_CN": "{d} 天 {h} 小时"},
    "span.h": {"en": "{h} h {m} min", "zh_CN": "{h} 小时 {m} 分钟"},
    "span.m": {"en": "{m} min", "zh_CN": "{m} 分钟"},
}
t = translator(CATALOG)


TITLE_TEXT_MAX = 60  # Slack headers stop at 150 characters, WeCom suggests 36: keep titles short
MAX_RENEWAL_ROWS = 8  # WeCom markdown stops at 2048 bytes (a Chinese row is up to ~200 bytes)
MAX_RENEW_BUTTONS = 5  # WeCom template cards carry at most 6 buttons


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def span(locale: str, minutes: int) -> str:
    """45 min · 3 h 20 min · 2 d 4 h."""
    minutes = max(0, minutes)
    d, rest = divmod(minutes, 1440)
    h, m = divmod(rest, 60)
    if d:
        return t(locale, "span.d", d=d, h=h)
    if h:
        return t(locale, "span.h", h=h, m=m)
    return t(locale, "span.m", m=m)


def priority_label(locale: str, priority: str) -> str:
    return t(locale, f"prio.{priority}")


# --- tickets -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClockView:
    due: str  # local time, "2026-03-02 10:00"
    state: str  # met | late | running | breached
    minutes: int


def clock_text(locale: str, c: ClockView) -> str:
    return t(locale, f"clock.{c.state}", due=c.due, span=span(locale, c.minutes))


@dataclass(frozen=True)
class TicketView:
    ref: str
    subject: str
    account: str
    priority: str
    status: str  # open | closed
    owner: str
    opened: str
    respond: ClockView
    resolve: ClockView
    responded: bool
    recent: Sequence[str] = ()


def ticket_card(locale: str, v: TicketView, *, notes: Sequence[str] = ()) -> Card:
    fields = (Field(t(locale, "f.account"), short(v.account, TITLE_TEXT_MAX)),
              Field(t(locale, "f.priority"), priority_label(locale, v.priority)),
              Field(t(locale, "f.status"), t(locale, f"status.{v.status}")), Field(t(locale, "f.owner"), v.owner),
              Field(t(locale, "f.opened"), v.opened),
              Field(t(locale, "f.respond_by"), clock_text(locale, v.respond)),
              Field(t(locale, "f.resolve_by"), clock_text(locale, v.resolve)))
    blocks: list[Section | Context] = [Section(v.subject)] if len(v.subject) > TITLE_TEXT_MAX else []
    blocks += [Section(n) for n in notes]
    if v.recent:
        blocks.append(Context(" · ".join(v.recent)))
    buttons: list[Button] = []
    if v.status == "open":
        if not v.responded:
            buttons.append(Button(t(locale, "btn.ack"), "ticket.ack", v.ref, "primary"))
        buttons += [Button(t(locale, "btn.close"), "ticket.close", v.ref, "default" if not v.responded else "primary"),
                    Button(t(locale, "btn.swarm"), "ticket.swarm", v.ref)]
    return Card(title=t(locale, "ticket.title", ref=v.ref, subject=short(v.subject, TITLE_TEXT_MAX)), locale=locale,
                subtitle=t(locale, "status.closed") if v.status == "closed" else None, fields=fields,
                blocks=tuple(blocks), buttons=tuple(buttons), kind="ticket", ref=v.ref)


def ticket_line(locale: str, v: TicketView) -> str:
    clock = v.respond if not v.responded else v.resolve
    return " · ".join((v.ref, priority_label(locale, v.priority), short(v.account, 30), short(v.subject, 40),
                       clock_text(locale, clock)))


def my_tickets_card(locale: str, views: Sequence[TicketView]) -> Card:
    return list_card(locale, t(locale, "my.tickets"), [ticket_line(locale, v) for v in views])


@dataclass(frozen=True)
class CsatView:
    ref: str
    subject: str
    account: str
    closer: str
    contact: str  # the contact's name, or the account name when there is no contact


def csat_card(locale: str, v: CsatView) -> Card:
    return Card(title=t(locale, "csat.title", ref=v.ref), locale=locale,
                blocks=(Section(t(locale, "csat.body", ref=v.ref, subject=short(v.subject, TITLE_TEXT_MAX),
                                  account=short(v.account, TITLE_TEXT_MAX), closer=v.closer,
                                  contact=short(v.contact, TITLE_TEXT_MAX))),), kind="ticket.csat", ref=v.ref)


# --- contracts ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HealthPartView:
    name: str  # usage | nps | tickets | payments
    value: int | None
    points: int
    weight: int


@dataclass(frozen=True)
class HealthView:
    score: int
    band: str  # good | watch | risk
    parts: Sequence[HealthPartView]


def health_text(locale: str, h: HealthView) -> str:
    return t(locale, "health.score", score=h.score, band=t(locale, f"band.{h.band}"))


def health_lines(locale: str, h: HealthView) -> list[str]:
    lines = []
    for p in h.parts:
        key = "health.nps_unset" if p.name == "nps" and p.value is None else f"health.{p.name}"
        lines.append("• " + t(locale, key, value=p.value, points=p.points, weight=p.weight))
    return lines


@dataclass(frozen=True)
class ContractView:
    ref: str
    account: str
    owner: str
    value: str
    start: str
    end: str
    days_left: int
    health: HealthView
    deal_ref: str | None = None
    renewal_ref: str | None = None


def contract_card(locale: str, v: ContractView, *, notes: Sequence[str] = ()) -> Card:
    fields = [Field(t(locale, "f.owner"), v.owner), Field(t(locale, "f.value"), v.value),
              Field(t(locale, "f.term"), f"{v.start} → {v.end}"),
              Field(t(locale, "f.ends_in"), t(locale, "days", n=v.days_left)),
              Field(t(locale, "f.health"), health_text(locale, v.health))]
    if v.deal_ref:
        fields.append(Field(t(locale, "f.deal"), v.deal_ref))
    if v.renewal_ref:
        fields.append(Field(t(locale, "f.renewal"), v.renewal_ref))
    blocks: list[Section | Context] = [Section(n) for n in notes]
    blocks.append(Section("\n".join(health_lines(locale, v.health))))
    blocks.append(Context(t(locale, "contract.how_to_set", ref=v.ref)))
    buttons = () if v.renewal_ref else (Button(t(locale, "btn.renew"), "contract.renew", v.ref, "primary"),)
    return Card(title=t(locale, "contract.title", ref=v.ref, account=short(v.account, TITLE_TEXT_MAX)), locale=locale,
                fields=tuple(fields),
                blocks=tuple(blocks), buttons=buttons, kind="contract", ref=v.ref)


@dataclass(frozen=True)
class RenewalRowView:
    ref: str
    account: str
    end: str
    days_left: int
    value: str
    score: int
    band: str
    owner: str
    renewal_ref: str | None = None


def renewals_card(locale: str, days: int, rows: Sequence[RenewalRowView], *, more: bool = False) -> Card:
    """At most MAX_RENEWAL_ROWS rows (soonest first); `more` says that further contracts end in the window."""
    rows = rows[:MAX_RENEWAL_ROWS]
    lines = []
    for r in rows:
        line = t(locale, "renewals.row", ref=r.ref, account=short(r.account, 30), end=r.end, days=r.days_left,
                 value=r.value, score=f"{r.score} {t(locale, f'band.{r.band}')}", owner=r.owner)
        if r.renewal_ref:
            line += " · " + t(locale, "renewals.has_deal", deal=r.renewal_ref)
        lines.append(line)
    card = list_card(locale, t(locale, "renewals.title", days=days), lines)
    blocks = card.blocks + ((Context(t(locale, "renewals.more", n=len(rows), days=max(1, days // 3))),) if more else ())
    buttons = tuple(Button(t(locale, "btn.renew_ref", ref=r.ref), "contract.renew", r.ref)
                    for r in rows if not r.renewal_ref)[:MAX_RENEW_BUTTONS]
    return Card(title=card.title, locale=locale, blocks=blocks, buttons=buttons, kind="renewals")


def notice(locale: str, key: str, **params: str) -> str:
    return t(locale, key, **params)
