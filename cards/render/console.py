"""Plain-text rendering for the console: cards as text, buttons as numbered choices.

Every text goes through cards.escape.console_text (the one terminal escape): a name holding ANSI escape
sequences or other control characters cannot clear, recolour or rewrite the terminal.
"""
from __future__ import annotations

from collections.abc import Sequence

from cards.escape import console_text as _t
from cards.model import Button, Card, Context, Divider, Image, Section


def render_card(card: Card, *, first_number: int = 1) -> tuple[str, list[Button]]:
    """Text of one card and the buttons in the order they were numbered."""
    lines = [f"== {_t(card.title)} =="]
    if card.subtitle:
        lines.append(_t(card.subtitle))
    labels = [_t(f.label) for f in card.fields]
    width = max((len(label) for label in labels), default=0)
    for label, f in zip(labels, card.fields):
        lines.append(f"  {label.ljust(width)} : {_t(f.value)}")
    for block in card.blocks:
        if isinstance(block, Section):
            lines.extend(_t(block.text).replace("`", "").splitlines())
        elif isinstance(block, Context):
            lines.append(f"  ({_t(block.text).replace('`', '')})")
        elif isinstance(block, Divider):
            lines.append("-" * 20)
        elif isinstance(block, Image):
            lines.append(f"[image: {_t(block.alt)}] {_t(block.url)}")
    buttons = list(card.buttons)
    if buttons:
        lines.append("  " + "   ".join(f"[{first_number + i}] {_t(b.label)}" for i, b in enumerate(buttons)))
    return "\n".join(lines), buttons


def render_cards(cards: Sequence[Card], *, already: int = 0) -> tuple[str, list[Button]]:
    """The cards one after another, their buttons numbered on from `already` buttons shown before."""
    texts: list[str] = []
    buttons: list[Button] = []
    for card in cards:
        text, card_buttons = render_card(card, first_number=already + len(buttons) + 1)
        texts.append(text)
        buttons.extend(card_buttons)
    return "\n\n".join(texts), buttons
