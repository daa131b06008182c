"""Block Kit views of the Slack modals (slack_sdk.models): log activity, advance stage, new quote, reject with
reason, "Log to CRM" from a message. Pure: no database, no Bolt; the text comes from cards/builders/modals.py,
and bot/slack/modals.py opens these views and listens for their submissions.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from cards.builders.modals import field_label, t
from cards.builders.search import t as search_t
from cards.builders.sales import kind_label
from cards.render.slack import escape_mrkdwn, fit_text
from crm_core.config import Config
from crm_core.services.activities import KINDS

LOG = "crm.log"
ADVANCE = "crm.advance"
NEW_CONTACT = "new_contact"  # the advance form's "a new person at the account" tick
QUOTE = "crm.quote"
REJECT = "crm.reject"
LOG_MESSAGE = "crm.log_message"  # also the message shortcut's callback id (slack_manifest.yml)
VALUE = "value"  # the action id of every input element
MAX_OPTIONS = 100
RECORD_PICKER = "deal"  # block id of the type-ahead deal picker: its options come from the search (bot/slack/modals.py)


@dataclass(frozen=True)
class Meta:
    """What a modal remembers between opening and submission (its private_metadata, JSON)."""

    ref: str
    locale: str = "en"
    response_url: str | None = None
    channel: str | None = None
    stage: str | None = None
    message_ts: str | None = None

    def dump(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, ensure_ascii=False)

    @classmethod
    def load(cls, raw: str | None) -> "Meta":
        data = json.loads(raw or "{}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# --- building views -------------------------------------------------------------------------------------

def _view(callback_id: str, title_key: str, meta: Meta, blocks: Sequence[Any], *, submit: bool = True) -> dict[str, Any]:
    loc = meta.locale
    view = View(type="modal", callback_id=callback_id, title=t(loc, title_key),
                submit=t(loc, "submit") if submit else None, close=t(loc, "close"),
                private_metadata=meta.dump(), blocks=list(blocks))
    return view.to_dict()  # slack_sdk validates title, metadata and block limits here


def _intro(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit_text(text, 3000)))


def _option(label: str, value: str) -> Option:
    return Option(text=fit_text(label, 75), value=value[:150])


def _kind_input(locale: str, initial: str) -> InputBlock:
    options = [_option(kind_label(locale, k), k) for k in KINDS]
    return InputBlock(block_id="kind", label=t(locale, "kind"), element=StaticSelectElement(
        action_id=VALUE, options=options, initial_option=options[KINDS.index(initial)]))


def _text_input(locale: str, block_id: str, label_key: str, initial: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=t(locale, label_key), element=PlainTextInputElement(
        action_id=VALUE, multiline=True, max_length=3000, initial_value=fit_text(initial, 3000) if initial else None))


def log_view(meta: Meta) -> dict[str, Any]:
    loc = meta.locale
    return _view(LOG, "title.log", meta, [_intro(t(loc, "log.on", ref=meta.ref)), _kind_input(loc, "call"),
                                          _text_input(loc, "text", "text")])


def advance_view(meta: Meta, stage_name: str, fields: Sequence[str], config: Config | None = None) -> dict[str, Any]:
    """The fields a stage needs, each labelled in the reader's language (declared ones by `config`)."""
    loc = meta.locale
    blocks: list[Any] = [_intro(t(loc, "advance.intro", ref=meta.ref, stage=escape_mrkdwn(stage_name)))]
    for name in fields:
        if name == "close_date":
            element: Any = DatePickerElement(action_id=VALUE)
        else:
            element = PlainTextInputElement(action_id=VALUE, max_length=500,
                                            placeholder=t(loc, "hint.amount") if name == "amount" else None)
        blocks.append(InputBlock(block_id=f"field:{name}", label=fit_text(field_label(loc, name, config), 2000), element=element))
        if name == "contact":  # the chat asks with a "New contact" button; a form says it with a tick
            blocks.append(InputBlock(block_id=NEW_CONTACT, optional=True, label=t(loc, "new_contact.label"),
                                     element=CheckboxesElement(action_id=VALUE, options=[
                                         _option(t(loc, "new_contact.option"), "yes")])))
    return _view(ADVANCE, "title.advance", meta, blocks)


def quote_view(meta: Meta, config: Config, money: Callable[[Decimal], str]) -> dict[str, Any]:
    loc = meta.locale
    options = [_option(f"{p.sku} · {p.name_for(loc)} · {money(p.price)}", p.sku) for p in config.products[:MAX_OPTIONS]]
    blocks = [
        _intro(t(loc, "quote.intro", ref=meta.ref)),
        InputBlock(block_id="product", label=t(loc, "product"),
                   element=StaticSelectElement(action_id=VALUE, options=options)),
        InputBlock(block_id="quantity", label=t(loc, "quantity"),
                   element=NumberInputElement(action_id=VALUE, is_decimal_allowed=False, min_value=1, initial_value=1)),
        InputBlock(block_id="discount", label=t(loc, "discount"), optional=True,
                   element=NumberInputElement(action_id=VALUE, is_decimal_allowed=True, min_value=0, max_value=100)),
    ]
    return _view(QUOTE, "title.quote", meta, blocks)


def reject_view(meta: Meta) -> dict[str, Any]:
    loc = meta.locale
    return _view(REJECT, "title.reject", meta, [_intro(t(loc, "reject.intro", ref=meta.ref)),
                                                _text_input(loc, "reason", "reason")])


def deal_picker(locale: str, options: Sequence[Option]) -> ExternalDataSelectElement:
    """A type-ahead over the deals the person may see (name, part of it, pinyin, initials, D-7): Slack asks
    the app for options as the person types; the person's only deal, if just one, is preselected."""
    return ExternalDataSelectElement(action_id=VALUE, placeholder=search_t(locale, "picker.placeholder"),
                                 min_query_length=0, initial_option=options[0] if len(options) == 1 else None)


def picker_option(label: str, value: str) -> dict[str, Any]:
    """One option of an options-load answer (75 characters of text at most)."""
    return _option(label, value).to_dict()


def log_message_view(meta: Meta, deals: Sequence[tuple[str, str]], text: str, channel_name: str | None) -> dict[str, Any]:
    loc = meta.locale
    if not deals:
        return _view(LOG_MESSAGE, "title.log_message", meta,
                     [_intro(f"*{t(loc, 'no_deals.title')}*\n{t(loc, 'no_deals.text')}")], submit=False)
    options = [_option(f"{ref} · {name}", ref) for ref, name in deals[:MAX_OPTIONS]]
    blocks: list[Any] = [
        InputBlock(block_id=RECORD_PICKER, label=t(loc, "deal"), element=deal_picker(loc, options)),
        _kind_input(loc, "note"),
        _text_input(loc, "text", "text", initial=text),
    ]
    if channel_name:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=fit_text(t(loc, "log_message.from", channel=escape_mrkdwn(f"#{channel_name}")), 2000))]))
    return _view(LOG_MESSAGE, "title.log_message", meta, blocks)


__all__ = ["ADVANCE", "LOG", "LOG_MESSAGE", "MAX_OPTIONS", "NEW_CONTACT", "QUOTE", "REJECT", "VALUE", "Meta",
           "advance_view", "deal_picker", "field_label", "log_message_view", "picker_option", "RECORD_PICKER", "log_view", "quote_view", "reject_view"]
