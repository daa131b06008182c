"""Declared fields, picklists and input limits: what a person may type, checked before anything is stored.

- **Limits.** Every text a person types has a length limit and may not carry control characters
  (NUL, escape, …); free text (a log entry, a reason) may carry newlines and tabs. Values over a limit
  are refused with the limit, never cut short.
- **Picklists** (`[picklists.<name>]` in the configuration): a value is stored as the choice's key,
  shown as the label of the reader's language, and may be typed as the key, either label or an alias
  (case-insensitive). A picklist that is not configured leaves its field free text.
- **Declared fields** (`[[fields.lead]]`, `[[fields.deal]]`): the only custom fields there are. An
  unknown `key=value` is refused with the nearest known names (difflib), never stored.

See docs/fields.md.
"""
from __future__ import annotations

import difflib
import re
from typing import Any
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from crm_core.config import Config, FieldDecl, PicklistChoice
from crm_core.dates import parse_date
from crm_core.errors import FieldName, InvalidValue, UnknownField

NAME_MAX = 200        # a person's name, a contact
COMPANY_MAX = 300     # a company / account, a deal name
EMAIL_MAX = 320       # RFC 5321 path limit
PHONE_MAX = 32        # as typed, before normalising
SHORT_MAX = 100       # region, industry, product, source when they are free text
TAG_MAX = 50          # one tag
TAGS_MAX = 20         # tags on one lead
FIELD_MAX = 500       # a custom field without its own max_length
TEXT_MAX = 5000       # free text: a log entry, a lost / rejection reason, a comment
COMMAND_MAX = 10_000  # one whole chat command, checked before parsing
NUMBER_MAX = Decimal("1e15")  # numbers and amounts stay below this (Numeric(18, 2))

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def shown(value: str, n: int = 30) -> str:
    """A safe, short rendering of what was typed, for an error message."""
    short = value[:n] + ("…" if len(value) > n else "")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else "\\u{:04x}".format(
        ord(m.group())), short)


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """The first control character in value (as \\x00), or None."""
    m = (_CONTROL if multiline else _CONTROL_LINE).search(value)
    if m is None:
        return None
    return f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"


def check_text(field: str, value: str | None, max_len: int, *, multiline: bool = False,
               required: bool = False) -> str | None:
    """Strip; refuse control characters and anything longer than max_len. Empty gives None (or refuses)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidValue(field, "", "value.empty")
        return None
    bad = control_problem(text, multiline=multiline)
    if bad:
        raise InvalidValue(field, shown(text), "value.control_multiline" if multiline else "value.control", bad=bad)
    if len(text) > max_len:
        raise InvalidValue(field, shown(text), "value.too_long", max_len=max_len, length=len(text))
    return text


def check_number(field: str, raw: str, *, integer: bool = False) -> Decimal:
    """A finite, non-negative number below NUMBER_MAX; refuses 1e400, NaN, 30-digit numbers, negatives."""
    text = raw.strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(text) if len(text) <= 40 else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidValue(field, shown(raw), "number.format")
    if value < 0 or value >= NUMBER_MAX or (integer and value != value.to_integral_value()):
        raise InvalidValue(field, shown(raw), "number.range_integer" if integer else "number.range")
    return value


def check_date(field: str, raw: str | None, today: date) -> date:
    """A date as people write it (crm_core/dates.py), read against `today` (the reader's calendar day);
    else the field's error listing the forms it understands. Nothing is stored on error."""
    text = check_text(field, raw, 50, required=True) or ""
    day = parse_date(text, today)
    if day is None:
        raise InvalidValue(field, shown(text), "date.forms")
    return day


# --- picklists ------------------------------------------------------------------------------------

def _norm(s: str) -> str:
    return s.strip().lower()


def resolve_choice(field: str, raw: str, choices: Sequence[PicklistChoice]) -> str:
    wanted = _norm(raw)
    for c in choices:
        if wanted in {_norm(s) for s in c.spellings()}:
            return c.key
    raise InvalidValue(field, shown(raw), "choice.one_of", choices=list(choices))


def find_choice(choices: Sequence[PicklistChoice], key: str | None) -> PicklistChoice | None:
    """The choice stored as `key` (cards/format.py says its label in the reader's language)."""
    return next((c for c in choices if c.key == key), None)


def picklist_value(config: Config, name: str, field: str, raw: str | None, *, max_len: int = SHORT_MAX) -> str | None:
    """A picklisted field: the canonical key. Without a configured picklist: free text, lower-cased."""
    text = check_text(field, raw, max_len)
    if text is None:
        return None
    picklist = config.picklist(name)
    if picklist is None:
        return text.lower()
    key = _spelling_index(picklist).get(_norm(text))
    return key if key is not None else resolve_choice(field, text, picklist.choices)


_SPELLINGS: dict[int, tuple[object, dict[str, str]]] = {}


def _spelling_index(picklist: Any) -> dict[str, str]:
    """Normalised spelling -> key, built once per picklist (an import resolves the same few values 100 000 times).
    The first choice that has a spelling wins, as in resolve_choice."""
    cached = _SPELLINGS.get(id(picklist))
    if cached is not None and cached[0] is picklist:
        return cached[1]
    index: dict[str, str] = {}
    for c in picklist.choices:
        for spelling in c.spellings():
            index.setdefault(_norm(spelling), c.key)
    if len(_SPELLINGS) > 256:
        _SPELLINGS.clear()
    _SPELLINGS[id(picklist)] = (picklist, index)
    return index


def picklist_choices(config: Config, name: str) -> list[PicklistChoice] | None:
    """The choices of `[picklists.<name>]`, None when it is not configured (the field is free text)."""
    picklist = config.picklist(name)
    return None if picklist is None else list(picklist.choices)


# --- declared custom fields ------------------------------------------------------------------------

def decl_choices(config: Config, decl: FieldDecl) -> list[PicklistChoice]:
    if decl.choices:
        return list(decl.choices)
    picklist = config.picklist(decl.picklist) if decl.picklist else None
    return list(picklist.choices) if picklist else []


def declared(config: Config, kind: str) -> list[FieldDecl]:
    return list(getattr(config.fields, kind))


def find_decl(config: Config, kind: str, raw_key: str) -> FieldDecl | None:
    """A declared field by key, either label or an alias (case-insensitive)."""
    wanted = _norm(raw_key)
    for d in declared(config, kind):
        if wanted in {_norm(s) for s in (d.key, d.name.en, d.name.zh_CN, *d.aliases)}:
            return d
    return None


def check_custom(config: Config, decl: FieldDecl, raw: str, today: date | None = None) -> str:
    """The stored (canonical, text) value of a declared field; raises InvalidValue with what to type."""
    try:
        text = check_text(decl.key, raw, decl.max_length, required=True)
        assert text is not None
        if decl.type == "number":
            return format(check_number(decl.key, text).normalize(), "f")
        if decl.type == "date" and today is not None:
            return check_date(decl.key, text, today).isoformat()
        if decl.type == "date":
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                raise InvalidValue(decl.key, shown(text), "date.format") from None
        if decl.type == "choice":
            return resolve_choice(decl.key, text, decl_choices(config, decl))
        return text
    except InvalidValue as exc:
        exc.data["field"] = FieldName(decl.key, decl.name)  # named by its declared label
        raise


def unknown_field(raw_key: str, known: Iterable[str], *, extra: Sequence[str] = (),
                  decls: Sequence[FieldDecl] = (), record: str | None = None) -> UnknownField:
    """The error for a key nobody declared: the nearest known names first (difflib), then all of them (a
    declared field with its label). A declared field is also near when what was typed is near its label in
    either language (a slip in the Chinese label of budget is near budget), as a label is typed as well as a key."""
    names = list(dict.fromkeys(known))
    typed = _norm(raw_key)
    by_label = {_norm(text): d.key for d in decls for text in (d.name.zh_CN, d.name.en)}
    near = [*difflib.get_close_matches(typed, names, n=3, cutoff=0.5),
            *(by_label[x] for x in difflib.get_close_matches(typed, list(by_label), n=3, cutoff=0.5))]
    labels = {d.key: d.name for d in decls}
    return UnknownField(shown(raw_key, 40), [*extra, *list(dict.fromkeys(near))[:3]],
                        [FieldName(k, labels.get(k), record) for k in names])


LOST_REASON_MAX = 2000


def check_lost_reason(config: Config, raw: str | None) -> str:
    """A lost reason: the key of [picklists.lost_reason] when one is configured, else free text (≤ 2000)."""
    text = check_text("reason", raw, LOST_REASON_MAX, multiline=True) or ""
    picklist = config.picklist("lost_reason")
    if picklist is None or not text:
        return text
    return resolve_choice("reason", text, picklist.choices)
