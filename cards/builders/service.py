"""Ticket, contract (health) and renewals cards, and the notifications of the service area."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.format import short
from cards.builders.common import list_card
from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

t = translator("service")


TITLE_TEXT_MAX = 60  # Slack headers stop at 150 characters, WeCom suggests 36: keep titles short
MAX_RENEWAL_ROWS = 8  # WeCom markdown stops at 2048 bytes (a Chinese row is up to ~200 bytes)
MAX_RENEW_BUTTONS = 5  # WeCom template cards carry at most 6 buttons


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


def my_tickets_card(locale: str, views: Sequence[TicketView], *, more: int = 0) -> Card:
    """`more`: how many further tickets are near breach than `views` shows."""
    return list_card(locale, t(locale, "my.tickets"), [ticket_line(locale, v) for v in views],
                     hint=t(locale, "my.tickets_more", n=more) if more > 0 else None)


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
