"""[quotes] payment_terms_days sets when an order's invoice falls due."""
from __future__ import annotations

from datetime import date

import pytest
import tomllib
from sqlalchemy import select

from crm_core.config import SAMPLE_CONFIG_PATH, Config, parse_config
from crm_core.models import Order


@pytest.fixture
def config() -> Config:
    data = tomllib.loads(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8"))
    data.setdefault("quotes", {})["payment_terms_days"] = 10
    return parse_config(data)


def test_the_invoice_is_due_after_the_configured_terms(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("deal new 某某科技 amount=12000")
    li.exec("quote D-1 PRO x10")
    assert "INV-" in li.exec("order Q-1")
    with wiring.session_factory() as s:
        assert s.scalar(select(Order.due_date)) == date(2026, 3, 12)  # ordered Monday 2026-03-02 + 10 days
