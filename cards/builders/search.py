"""Cards of record lookup: the pick list when a name matches several records, "none found", search results."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Button, Card, Context, Section

t = translator("search")

MAX_CHOICES = 6  # one button per record; WeCom template cards hold at most six
LABEL_CHARS = 10  # WeCom's suggested button text length


@dataclass(frozen=True)
class HitView:
    kind: str  # lead | deal | account | contact | ticket | contract | quote | approval
    token: str  # D-7, or account:12 / contact:5
    ref: str | None
    name: str
    detail: str = ""
    open: bool = True
    near: bool = False  # found only as spelled alike (a guess)


KINDS = frozenset({"lead", "deal", "account", "contact", "ticket", "contract", "quote", "approval"})


def kind_name(locale: str, kind: str) -> str:
    """"Deal" at the head of a line."""
    return t(locale, f"kind.{kind}" if kind in KINDS else "kind.record")


def _what(locale: str, kinds: Sequence[str]) -> str:
    """"deal" inside a sentence ("record" when several kinds are asked for)."""
    return t(locale, f"what.{kinds[0]}") if len(kinds) == 1 and kinds[0] in KINDS else t(locale, "kind.record")


def hit_line(locale: str, hit: HitView, number: int | None = None) -> str:
    parts = [kind_name(locale, hit.kind)]
    if hit.ref:
        parts.append(hit.ref)
    head = " ".join(parts)
    line = f"{head} · {hit.name}" + (f" · {hit.detail}" if hit.detail else "")
    if not hit.open:
        line += f" ({t(locale, 'closed')})"
    return f"{number}. {line}" if number is not None else line


def _label(locale: str, hit: HitView) -> str:
    return hit.ref or hit.name[:LABEL_CHARS].rstrip()


def pick_card(locale: str, text: str, kinds: Sequence[str], hits: Sequence[HitView], values: Sequence[str],
              *, more: bool, open_instead: bool = False) -> Card:
    """Several records match a name: one button per record re-runs the command with its reference (its value,
    from `values`), or opens the record (`open_instead`: the value is its reference)."""
    action = "search.open" if open_instead else "record.pick"
    kind = _what(locale, kinds)
    lines = [hit_line(locale, h, i) for i, h in enumerate(hits, 1)]
    blocks: list[Section | Context] = [Section("\n".join(lines))]
    if hits and all(h.near for h in hits):
        blocks.insert(0, Context(t(locale, "near", text=text)))
    blocks.append(Context(t(locale, "pick.more", text=text) if more else t(locale, "pick.hint")))
    buttons = tuple(Button(_label(locale, h), action, v) for h, v in zip(hits, values))
    return Card(title=t(locale, "pick.title", text=text, kind=kind), locale=locale, blocks=tuple(blocks),
                buttons=buttons, kind="list")


def account_pick_card(locale: str, text: str, accounts: Sequence[HitView], values: Sequence[str],
                      new_value: str) -> Card:
    """No account is called `text`, but some the person sees are named like it (a typo, a short form): one
    button per account re-runs the command with it (`values`), and one creates the new account (`new_value`)."""
    return _new_or_which(locale, "account_new", {"text": text}, accounts, values, new_value)


def contact_pick_card(locale: str, text: str, account: str, contacts: Sequence[HitView], values: Sequence[str],
                      new_value: str) -> Card:
    """No contact of `account` is called `text`, but some are named like it: the same question of contacts."""
    return _new_or_which(locale, "contact_new", {"text": text, "account": account}, contacts, values, new_value)


def _new_or_which(locale: str, area: str, words: dict[str, str], records: Sequence[HitView], values: Sequence[str],
                  new_value: str) -> Card:
    lines = [hit_line(locale, h, i) for i, h in enumerate(records, 1)]
    labelled = [(_label(locale, h), v) for h, v in zip(records, values)]
    labelled.append((t(locale, f"btn.{area}", text=words["text"][:LABEL_CHARS].rstrip()), new_value))
    buttons: list[Button] = []
    for label, value in labelled:
        if all(b.value != value for b in buttons):  # one button per command: WeCom wants unique keys
            buttons.append(Button(label, "record.pick", value))
    return Card(title=t(locale, f"{area}.title", **words), locale=locale,
                blocks=(Section(t(locale, f"{area}.text", **words)), Section("\n".join(lines)),
                        Context(t(locale, f"{area}.hint", **words))),
                buttons=tuple(buttons), kind="list")


def none_card(locale: str, text: str, kinds: Sequence[str], example: str) -> Card:
    kind = _what(locale, kinds)
    return Card(title=t(locale, "none.title", kind=kind), locale=locale,
                blocks=(Section(t(locale, "none.text", text=text, kind=kind)),
                        Context(t(locale, "none.hint", text=text, example=example))),
                buttons=(Button(t(locale, "btn.search"), "search.run", text[:200]),), kind="error")


def results_card(locale: str, text: str, hits: Sequence[HitView], *, more: bool) -> Card:
    """`search <words>`: the best matches, one Open button each."""
    if not hits:
        return Card(title=t(locale, "results.title", text=text), locale=locale,
                    blocks=(Section(t(locale, "results.empty", text=text)),), kind="list")
    blocks: list[Section | Context] = [Section("\n".join(hit_line(locale, h, i) for i, h in enumerate(hits, 1)))]
    if all(h.near for h in hits):
        blocks.insert(0, Context(t(locale, "near", text=text)))
    if more:
        blocks.append(Context(t(locale, "results.more", n=len(hits))))
    buttons = tuple(Button(t(locale, "btn.open", name=_label(locale, h)), "search.open", h.token) for h in hits)
    return Card(title=t(locale, "results.title", text=text), locale=locale, blocks=tuple(blocks), buttons=buttons,
                kind="list")


def related_card(locale: str, title_key: str, name: str, detail: str, hits: Sequence[HitView]) -> Card:
    """An account's (or a contact's account's) records, for the Open button of an account or contact hit."""
    lines = [hit_line(locale, h) for h in hits]
    body = "\n".join(lines) if lines else t(locale, "related.empty")
    blocks: list[Section | Context] = [Section(body)]
    if detail:
        blocks.insert(0, Context(detail))
    buttons = tuple(Button(t(locale, "btn.open", name=_label(locale, h)), "search.open", h.token)
                    for h in hits[:MAX_CHOICES])
    return Card(title=t(locale, title_key, name=name), locale=locale, blocks=tuple(blocks), buttons=buttons,
                kind="list")
