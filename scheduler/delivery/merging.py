"""Merging: nudges, digests and task reminders to one person claimed in the same pass go out as one
message (one card listing them), not one message each."""
from __future__ import annotations

from cards.builders.nudges import merged_card
from cards.model import Card
from scheduler.delivery.queue import ClaimedRow

# Kinds whose rows to one person within a minute may go out as one message.
MERGEABLE_PREFIXES = ("nudge.", "digest.", "tasks.")


def merge_rows(rows: list[ClaimedRow]) -> list[ClaimedRow]:
    """The rows to carry out, in id order: each group of mergeable first attempts to one person becomes its
    first row, carrying the merged card and the ids of the others (`merged_ids`, finished with it)."""
    groups: dict[int, list[ClaimedRow]] = {}
    out: list[ClaimedRow] = []
    for row in rows:
        if (row.op == "send" and row.target_type == "user" and row.target_id is not None and not row.ref_key
                and row.kind.startswith(MERGEABLE_PREFIXES) and row.attempts == 0):
            groups.setdefault(row.target_id, []).append(row)
        else:
            out.append(row)
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        try:
            cards = [Card.from_dict(r.payload) for r in group]
        except (KeyError, TypeError, ValueError):
            out.extend(group)  # a bad payload goes on its own (and fails on its own)
            continue
        first = group[0]
        first.payload = merged_card(cards[0].locale, cards).to_dict()
        first.merged_ids = [r.id for r in group[1:]]
        out.append(first)
    return sorted(out, key=lambda r: r.id)
