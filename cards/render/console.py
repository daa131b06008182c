"""Plain-text rendering for the console: cards as text, buttons as numbered choices."""
from __future__ import annotations

from collections.abc import Sequence

from cards.model import Button, Card, Context, Divider, Image, Section


def render_card(card: Card, *, first_number: int = 1) -> tuple[str, list[Button]]:
    """Text of one card and the buttons in the order they were numbered."""
    lines = [f"== {card.title} =="]
    if card.subtitle:
        lines.append(card.subtitle)
    width = max((len(f.label) for f in card.fields), default=0)
    for f in card.fields:
        lines.append(f"  {f.label.ljust(width)} : {f.value}")
    for block in card.blocks:
        if isinstance(block, Section):
            lines.extend(block.text.replace("`", "").splitlines())
        elif isinstance(block, Context):
            lines.append(f"  ({block.text.replace('`', '')})")
        elif isinstance(block, Divider):
            lines.append("-" * 20)
        elif isinstance(block, Image):
            lines.append(f"[image: {block.alt}] {block.url}")
    buttons = list(card.buttons)
    if buttons:
        lines.append("  " + "   ".join(f"[{first_number + i}] {b.label}" for i, b in enumerate(buttons)))
    return "\n".join(lines), buttons


def render_cards(cards: Sequence[Card]) -> tuple[str, list[Button]]:
    texts: list[str] = []
    buttons: list[Button] = []
    for card in cards:
        text, card_buttons = render_card(card, first_number=len(buttons) + 1)
        texts.append(text)
        buttons.extend(card_buttons)
    return "\n\n".join(texts), buttons
