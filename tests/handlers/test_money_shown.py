"""Money reads the same everywhere a person sees it, in the currency's own minor unit (JPY: none)."""
from __future__ import annotations

from crm_core.config import Config


def in_currency(config: Config, currency: str) -> Config:
    return config.model_copy(update={"company": config.company.model_copy(update={"currency": currency})})


def test_a_yen_deal_shows_whole_yen_on_the_card_and_in_the_list(console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
    wiring.runner.uow_factory.config = in_currency(wiring.runner.config, "JPY")
    emma = console_bot("emma")
    out = emma.exec("deal new Sony amount=1234.5")
    assert "¥1,235" in out and "1,234.50" not in out and "JPY" not in out
    out = emma.exec("deal list")
    assert "¥1,235" in out and "1,234.50" not in out


def test_a_yuan_deal_keeps_its_fen(console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    out = li.exec("商机 新建 华为 amount=12万")
    assert "¥120,000.00" in out
    out = li.exec("deal list")
    assert "¥120,000.00" in out
