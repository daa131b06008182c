"""Use cases behind forms (Slack modals): the same rules as the commands, shaped for a form.

`form.advance` is the "Advance stage" button where a form can be shown: with nothing missing it
advances at once; with required fields missing it changes nothing and answers with
`Reply.form = {"type": "advance", "ref", "stage", "stage_name", "fields"}` so the adapter can ask for
them; the submitted form comes back as the same action with the stage and the field values
(`options`), which fills the fields and advances in one transaction.
"""
from __future__ import annotations

from cards.builders.common import notice_card
from cards.format import field_names, stage_name
from cards.i18n import translator
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.errors import InvalidValue
from crm_core.models import Deal, User
from crm_core.services.access import access_deal
from crm_core.services.accounts import contacts_to_ask_about
from crm_core.services.deals import check_shown_stage, do_set_fields, missing_fields, resolve_stage
from crm_core.uow import UnitOfWork
from handlers.deals import _advance
from handlers.invocation import Invocation
from handlers.registry import action

t = translator("chat")


def check_contact_typed(uow: UnitOfWork, deal: Deal, name: str) -> None:
    """A form has no buttons to ask with: a contact named like one of the account's people but not as any of
    them is refused in the form, with their names and the form's "new contact" tick to add the new one,
    rather than made a second contact (the chat question's rule, handlers/names.py `ask_which_contact`)."""
    alike = contacts_to_ask_about(uow.session, deal.account_id, name, limit=3)
    if alike:
        raise InvalidValue("contact", name, "contact.alike_form", account=deal.account.name,
                           names=[c.name for c in alike])


@action("form.advance", value=("deal", "shown"))
def advance_with_fields(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    deal = access_deal(uow, actor, inv.args["deal"].id, for_update=True)
    check_shown_stage(uow, deal, inv.args.get("shown"))
    target = resolve_stage(uow, deal, inv.args.get("stage"))
    values = {k: v for k, v in inv.options.items() if str(v).strip()}
    new_contact = values.pop("new_contact", None) == "yes"  # ticked in the form: the person is new, as typed
    if values.get("contact") and not new_contact:
        check_contact_typed(uow, deal, str(values["contact"]))
    if values:
        do_set_fields(uow, actor, deal, values, now=clock.now())
    missing = missing_fields(uow, deal, target)
    if missing and not values:
        name = stage_name(uow.config, target.key, locale)
        title = t(locale, "form.advance_title", ref=deal.ref, stage=name)
        text = t(locale, "form.fill_first", fields=field_names(uow.config, "deal", missing, locale))
        form = {"type": "advance", "ref": deal.ref, "stage": target.key, "stage_name": name, "fields": missing}
        return Reply(cards=(notice_card(locale, title, text, ref=deal.ref, kind="prompt"),), form=form)
    return _advance(uow, clock, actor, locale, deal.id, target.key)
