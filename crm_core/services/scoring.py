"""Lead scoring from configurable source weights and fit attributes."""
from __future__ import annotations

from crm_core.config import Scoring


def score_lead(rules: Scoring, *, source: str, industry: str | None, region: str | None,
               product: str | None, has_email: bool, has_phone: bool, has_company: bool) -> int:
    score = rules.sources.get(source.lower(), 0)
    score += _lookup(rules.industry, industry) + _lookup(rules.region, region) + _lookup(rules.product, product)
    score += rules.has_email if has_email else 0
    score += rules.has_phone if has_phone else 0
    score += rules.has_company if has_company else 0
    return max(0, min(100, score))


def _lookup(table: dict[str, int], value: str | None) -> int:
    if not value:
        return 0
    lowered = {k.lower(): v for k, v in table.items()}
    return lowered.get(value.lower(), 0)
