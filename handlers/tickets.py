"""Ticket use cases: new, show, ack, close; the owner's and the CSAT notifications; `my` section.

The card's "Open swarm" button (action "ticket.swarm") is handled with `swarm T-9` in handlers/swarm.py.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cards.builders.service import (TITLE_TEXT_MAX, CsatView, csat_card, my_tickets_card,
                                    notice, priority_label, ticket_card)
from cards.format import reader_time, short
from cards.model import Card, Reply
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.events import Event, TicketClosed, TicketOpened
from crm_core.models import Ticket, User
from crm_core.queries.people import user_name
from crm_core.outbox import enqueue
from crm_core.services.access import access_ticket
from crm_core.services.tickets import (csat_recipient, do_ack, do_close, do_open_ticket, is_priority, near_breach,
                                       near_breach_count)
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.help import MY_SECTIONS
from handlers.invocation import Invocation
from handlers.names import ask_which_account
from handlers.notify import on, record_and_recipient
from handlers.registry import action, command
from handlers.swarm import has_swarm, post_to_swarm, request_swarm_archive
from handlers.presentation.service import ticket_view


def _card(uow: UnitOfWork, ticket: Ticket, locale: str, now: datetime, *notes: str, zone: str | None = None) -> Reply:
    """`zone`: the reader's own time zone; the ticket's times show in it when it is not the company's."""
    return Reply(cards=(ticket_card(locale, ticket_view(uow, ticket, locale, now, zone=zone), notes=notes),))


def account_of_several_words(inv: Invocation, config: Config) -> Invocation:
    """`ticket new Cyberdyne GmbH urgent printer down`: the grammar takes one word for the account, so "GmbH"
    came as the priority. When the priority word is none, the first priority word after it ends the account;
    the words between are the account's (and so are their places in the text, for the account question)."""
    if is_priority(inv.args["priority"], config):
        return inv
    words = [*inv.spans.get("priority", ()), *inv.spans.get("subject", ())]
    for k in range(1, len(words) - 1):  # a subject must follow the priority word
        start, end = words[k]
        if is_priority(inv.text[start:end], config):
            account_spans = (*inv.spans.get("account", ()), *words[:k])
            account = inv.text[account_spans[0][0]:account_spans[-1][1]]
            args = {**inv.args, "account": account, "priority": inv.text[start:end],
                    "subject": inv.text[words[k + 1][0]:words[-1][1]]}
            return replace(inv, args=args, spans={**inv.spans, "account": account_spans, "priority": (words[k],),
                                                  "subject": tuple(words[k + 1:])})
    return inv


@command("ticket new")
def open_ticket(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    inv = account_of_several_words(inv, uow.config)
    if (ask := ask_which_account(inv, uow, actor, locale)) is not None:
        return ask
    now = clock.now()
    ticket = do_open_ticket(uow, actor, account_name=inv.args["account"], priority=inv.args["priority"],
                            subject=inv.args["subject"], now=now)
    note = notice(locale, "ticket.opened", account=short(ticket.account.name, TITLE_TEXT_MAX), owner=ticket.owner.name,
                  respond_by=reader_time(uow.config, ticket.respond_due_at, None, actor.timezone) or "")
    return _card(uow, ticket, locale, now, note, zone=actor.timezone)


@command("ticket", writes=False)
def show_ticket(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _card(uow, access_ticket(uow, actor, inv.args["ticket"].id), locale, clock.now(), zone=actor.timezone)


def _ack(uow: UnitOfWork, clock: Clock, actor: User, locale: str, ticket_id: int) -> Reply:
    now = clock.now()
    ticket = access_ticket(uow, actor, ticket_id, for_update=True)
    if do_ack(uow, actor, ticket, now=now):
        return _card(uow, ticket, locale, now, notice(locale, "ticket.acked"), zone=actor.timezone)
    return _card(uow, ticket, locale, now,
                 notice(locale, "ticket.already_acked", at=reader_time(uow.config, ticket.responded_at, None, actor.timezone) or ""),
                 zone=actor.timezone)


def _close(uow: UnitOfWork, clock: Clock, actor: User, locale: str, ticket_id: int) -> Reply:
    now = clock.now()
    ticket = access_ticket(uow, actor, ticket_id, for_update=True)
    do_close(uow, actor, ticket, now=now)
    who, _ = csat_recipient(uow.session, ticket)
    return _card(uow, ticket, locale, now, notice(locale, "ticket.closed", who=who.name), zone=actor.timezone)


@command("ticket ack")
@action("ticket.ack", value=("ticket",))
def ack_ticket(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _ack(uow, clock, actor, locale, inv.args["ticket"].id)


@command("ticket close")
@action("ticket.close", value=("ticket",))
def close_ticket(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _close(uow, clock, actor, locale, inv.args["ticket"].id)


# --- notifications -----------------------------------------------------------------------------------

@on(TicketOpened)
def tell_ticket_owner(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, TicketOpened)
    if event.owner_id == event.actor_id:
        return
    found = record_and_recipient(uow, Ticket, event.ticket_id, event.owner_id)
    if found is None:
        return
    ticket, owner, locale = found
    note = notice(locale, "ticket.assigned_to_you", priority=priority_label(locale, ticket.priority),
                  by=user_name(uow.session, event.actor_id, "chatcrm"),
                  respond_by=reader_time(uow.config, ticket.respond_due_at, None, owner.timezone) or "")
    card = ticket_card(locale, ticket_view(uow, ticket, locale, now, recent=False, zone=owner.timezone), notes=(note,))
    enqueue(uow.session, dedupe_key=f"ticket-assigned:{ticket.id}:{owner.id}", kind="ticket.assigned",
            target_type="user", target_id=owner.id, payload=card.to_dict(), now=now, record_type="ticket",
            record_id=ticket.id)


@on(TicketClosed)
def ask_for_csat(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """A closed ticket → a satisfaction check for the account's contact owner (else the account owner)."""
    assert isinstance(event, TicketClosed)
    ticket = uow.session.get(Ticket, event.ticket_id)
    if ticket is None:
        return
    recipient, contact = csat_recipient(uow.session, ticket)
    closer = uow.session.get(User, ticket.closed_by_id) if ticket.closed_by_id else None
    locale = locale_of(recipient, uow.config)
    card = csat_card(locale, CsatView(ref=ticket.ref, subject=ticket.subject, account=ticket.account.name,
                                      closer=closer.name if closer else "chatcrm",
                                      contact=contact.name if contact else ticket.account.name))
    enqueue(uow.session, dedupe_key=f"ticket-csat:{ticket.id}", kind="ticket.csat", target_type="user",
            target_id=recipient.id, payload=card.to_dict(), now=now, record_type="ticket", record_id=ticket.id)


@on(TicketClosed)
def tell_swarm_ticket_closed(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """A ticket with a swarm channel: post the closed card there, then archive it (swarm.archive_on_close)."""
    assert isinstance(event, TicketClosed)
    ticket = uow.session.get(Ticket, event.ticket_id)
    if ticket is None or not has_swarm(uow, "ticket", ticket.id):
        return
    locale = uow.config.company.locale
    card = ticket_card(locale, ticket_view(uow, ticket, locale, now, recent=False))
    post_to_swarm(uow, "ticket", ticket.id, card, dedupe_key=f"swarm-summary:ticket:{ticket.id}",
                  kind="swarm.summary", now=now)
    if uow.config.swarm.archive_on_close:
        request_swarm_archive(uow, "ticket", ticket.id, now=now)


# --- `my`: tickets near breach -----------------------------------------------------------------------

NEAR_BREACH_SHOWN = 10  # in `my` and on the Home tab, the clocks that run out first; the rest are counted


def my_tickets_near_breach(uow: UnitOfWork, actor: User, locale: str, clock: Clock) -> Card | None:
    now = clock.now()
    tickets = near_breach(uow.session, actor.id, now, limit=NEAR_BREACH_SHOWN + 1)
    if not tickets:
        return None
    more = (near_breach_count(uow.session, actor.id, now) - NEAR_BREACH_SHOWN
            if len(tickets) > NEAR_BREACH_SHOWN else 0)
    return my_tickets_card(locale, [ticket_view(uow, x, locale, now, recent=False, zone=actor.timezone)
                                    for x in tickets[:NEAR_BREACH_SHOWN]], more=more)


if my_tickets_near_breach not in MY_SECTIONS:
    MY_SECTIONS.append(my_tickets_near_breach)
