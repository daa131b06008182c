"""The account card at its largest (every list full, long Chinese names) still renders for Slack (inside Block
Kit limits) and WeCom (buttons on a template card of their own, the overview as markdown), in both languages."""
from __future__ import annotations

import pytest

from cards.builders.glance import (AccountView, ActivityRowView, ContactRowView, ContractRowView, DealRowView,
                                   InvoiceRowView, QuoteStateView, TicketRowView, account_buttons_card,
                                   account_card)
from cards.builders.service import ClockView, HealthView
from cards.render import wecom
from cards.render.slack import to_message

LONG = "深圳市前海某某某某国际供应链管理有限公司" * 3


def biggest() -> AccountView:
    quote = QuoteStateView("Q-12", 3, "¥1,234,567.00", "pending", "A-9", "pending", 2, 3)
    return AccountView(
        account_id=1, name=LONG, owner="李雷", industry="制造", region="华南",
        contacts=tuple(ContactRowView(i, f"联系人{i}{LONG[:10]}", f"p{i}@example.com", "+8613800138000")
                       for i in range(5)), more_contacts=True,
        deals=tuple(DealRowView(f"D-{i}", LONG, "方案报价", "¥1,000,000.00", "2027-03-31", True, "李雷", quote)
                    for i in range(5)), more_deals=True,
        orders=12, outstanding="¥99,999.00", overdue_invoices=7,
        invoices=tuple(InvoiceRowView(f"INV-2026-{i:04d}", "¥9,999.00", "2026-01-31") for i in range(5)),
        tickets=tuple(TicketRowView(f"T-{i}", LONG, "urgent", ClockView("2026-03-02 10:00", "breached", 3000), False)
                      for i in range(5)), more_tickets=True,
        contract=ContractRowView("C-3", "2027-03-02", 365, "¥120,000.00", HealthView(35, "risk", ())),
        activities=tuple(ActivityRowView("2026-03-02 09:00", "电话", LONG, "李雷", f"D-{i}") for i in range(5)),
        swarms=("D-1 · #deal-1-yuntu", "T-2 · 云图工单 (wecom)"))


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_largest_account_card_renders_on_every_platform(locale: str) -> None:
    overview, related = account_card(locale, biggest()), account_buttons_card(locale, biggest())
    assert len(related.buttons) == wecom.MAX_BUTTONS
    assert [b.value for b in related.buttons][:5] == ["D-0", "D-1", "D-2", "T-0", "C-3"]
    to_message([overview, related])  # raises on any Block Kit limit
    wecom.to_template_card(related, "task-1")
    text = wecom.fit_markdown(overview)
    assert len(text.encode("utf-8")) <= wecom.MAX_MARKDOWN_BYTES and LONG[:20] in text
    assert not overview.buttons  # WeCom cuts a template card's text at 160 characters: the overview has none
