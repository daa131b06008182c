"""`lead paste` (线索 粘贴): a lead from a pasted e-mail signature or business-card text.

The paste is read (crm_core.signature) and shown with Create and Edit; nothing is stored until Create.
Both buttons carry the pasted text itself, so they work from any card, in any process, days later."""
from __future__ import annotations

from cards.builders.common import error_card
from cards.builders.paste import edit_card, note_text, part_label, paste_card, t
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.services.lead_paste import do_create_lead_from_signature, lead_input_of, unfielded
from crm_core.signature import Signature, parse_signature
from crm_core.uow import UnitOfWork
from handlers.grammar import SPEC_BY_NAME, typed_option
from handlers.invocation import Invocation
from handlers.leads import lead_result_card
from handlers.registry import action, command


@command("lead paste", writes=False)
def show_paste(inv: Invocation, locale: str) -> Reply:
    text = str(inv.args["text"])
    sig = parse_signature(text)
    if not sig.name:
        return Reply(cards=(error_card(locale, t(locale, "no_name")),))
    phone = lead_input_of(sig).phone
    other = [f"{part_label(locale, part)}: {value}" for part, value in unfielded(sig, phone)
             if part not in ("title", "mobile", "landline", "address", "website")]
    return Reply(cards=(paste_card(locale, sig.found(), other, text, add_command(locale, sig)),))


@action("lead.paste_create", value=("text",))
def create_from_paste(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    sig = parse_signature(str(inv.args["text"]))
    if not sig.name:
        return Reply(cards=(error_card(locale, t(locale, "no_name")),))
    items = [f"{part_label(locale, part)}: {value}" for part, value in unfielded(sig, lead_input_of(sig).phone)]
    note = note_text(locale, items) if items else None
    result = do_create_lead_from_signature(uow, sig, note, actor=actor, now=clock.now())
    return Reply(cards=(lead_result_card(uow, locale, result, actor),))


@action("lead.paste_edit", writes=False, value=("text",))
def edit_paste(inv: Invocation, locale: str) -> Reply:
    return Reply(cards=(edit_card(locale, add_command(locale, parse_signature(str(inv.args["text"])))),))


def add_command(locale: str, sig: Signature) -> str:
    """The `lead add` a person could have typed for this paste (quoted where a value has spaces)."""
    words = [SPEC_BY_NAME["lead add"].title(locale), _q(sig.name or "?")]
    lead = lead_input_of(sig) if sig.name else None
    for key, value in (("company", sig.company), ("phone", lead.phone if lead else None), ("email", sig.email)):
        if value:
            words.append(f"{typed_option(locale, key)}={_q(value)}")
    return " ".join(words)


def _q(value: str) -> str:
    return f"“{value}”" if any(c.isspace() for c in value) else value
