"""What a quote shows, read once from the database (handlers/presentation/quotes.py) and drawn by its card
(cards/builders/quotes.py) and its documents (HTML, cards/documents/quote_pdf.py)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ProductNames:
    """A product's name in each language (the configuration's `name = { zh_CN = …, en = … }`)."""
    zh_CN: str
    en: str


@dataclass(frozen=True)
class QuoteLineView:
    sku: str
    name: str  # as the quote keeps it (the company's language)
    quantity: int
    unit_price: str
    line_total: str
    local: ProductNames | None = None  # the product's name in each language, while the configuration has it


@dataclass(frozen=True)
class StepView:
    level: int
    role: str
    approver: str
    status: str
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class QuoteView:
    ref: str
    version: int
    deal_ref: str
    deal_name: str
    account: str
    owner: str
    company: str
    status: str  # pending | approved | rejected
    created_on: str
    currency: str
    lines: Sequence[QuoteLineView]
    subtotal: str
    discount_pct: str
    discount_amount: str
    tax_rate_pct: str
    tax_amount: str
    total: str
    superseded_by: str | None = None
    is_latest: bool = True
    approval_ref: str | None = None
    steps: Sequence[StepView] = ()
    invoice_no: str | None = None
    deal_amount_differs: bool = False  # an approved quote proposes its total as the (open) deal's amount
    order_flag: str | None = None  # overpaid | cancelled_order: its order received money it should not have
    order_overpaid: str | None = None
