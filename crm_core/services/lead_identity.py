"""Identity keys of a lead: the same person is the same normalised e-mail, the same normalised phone, or the same
normalised name at the same normalised company. Pure functions (the migration backfill uses them too)."""
from __future__ import annotations

import re
import unicodedata

from crm_core.normalize import normalize_company

# Strongest first: when a newcomer matches two leads, the e-mail match wins.
KINDS = ("email", "phone", "name")
_SPACE = re.compile(r"\s+")
_DOTS = re.compile(r"[.·•,，]")


def normalize_person_name(raw: str) -> str:
    """NFKC, case-folded, dots/commas dropped, runs of whitespace made one space: "ann  LEE" == "Ann Lee"."""
    s = unicodedata.normalize("NFKC", raw or "").casefold()
    s = _DOTS.sub(" ", s)
    return _SPACE.sub(" ", s).strip()


def name_key(name: str | None, company_key: str | None) -> str | None:
    person = normalize_person_name(name or "")
    if not person or not company_key:
        return None
    return f"{person}|{company_key}"[:512]


def identity_keys(*, name: str | None, company_key: str | None, email: str | None,
                  phone: str | None) -> list[tuple[str, str]]:
    """(kind, value) pairs of already normalised values, strongest first."""
    keys: list[tuple[str, str]] = []
    if email:
        keys.append(("email", email))
    if phone:
        keys.append(("phone", phone))
    by_name = name_key(name, company_key)
    if by_name:
        keys.append(("name", by_name))
    return keys


def company_key_of(company: str | None) -> str | None:
    return normalize_company(company) if company else None
