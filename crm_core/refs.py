"""Record references as people type them: L-12, D-7, Q-3, A-5, T-9, C-4 (any case)."""
from __future__ import annotations

import re
from dataclasses import dataclass

PREFIXES = {"L": "lead", "D": "deal", "Q": "quote", "A": "approval", "T": "ticket", "C": "contract", "O": "order"}
KIND_PREFIX = {v: k for k, v in PREFIXES.items()}
_REF = re.compile(r"^([LDQATCO])-?(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class Ref:
    kind: str
    id: int

    def __str__(self) -> str:
        return f"{KIND_PREFIX[self.kind]}-{self.id}"


@dataclass(frozen=True)
class RecordName:
    """What was typed where a reference goes when it is not one (`deal Acme`): resolved to a Ref by name
    (crm_core.queries.lookup) before the use case runs. `source[start:end]` is the name in the command text,
    so a pick list can re-run the command with a reference in its place."""
    text: str
    kinds: tuple[str, ...]
    source: str = ""
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return self.text


def parse_ref(text: str, *kinds: str) -> Ref | None:
    """Parse a reference; if kinds are given, only those kinds are accepted."""
    m = _REF.match(text.strip())
    if not m:
        return None
    ref = Ref(PREFIXES[m.group(1).upper()], int(m.group(2)))
    if kinds and ref.kind not in kinds:
        return None
    return ref


def ref_str(kind: str, id_: int) -> str:
    return f"{KIND_PREFIX[kind]}-{id_}"
