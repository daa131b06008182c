"""The quote as a PDF (fpdf2): A4, the company in the header, the lines table, the totals and the terms,
in the deal owner's language, the CJK font embedded (subset). Built from the same `QuoteView` as the quote
card and the HTML document (cards/builders/quotes.py), so the three always show the same figures.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

from cards.documents.fonts import cjk_font, needs_cjk
from cards.documents.quote_view import QuoteView
from cards.i18n import is_chinese, normalise_locale, translator

log = logging.getLogger("chatcrm.documents")


t = translator("quote_pdf")

FONT = "doc"
INK = (34, 34, 34)
MUTED = (100, 100, 100)
RULE = (200, 200, 200)
HEAD_FILL = (238, 241, 245)


def pdf_filename(v: "QuoteView") -> str:
    return f"quote-{v.ref}-{v.deal_ref}-v{v.version}.pdf"


def _status(locale: str, v: "QuoteView") -> str:
    if not v.is_latest:
        return t(locale, "status.superseded_by", ref=v.superseded_by) if v.superseded_by else t(locale, "status.superseded")
    return t(locale, f"status.{v.status}") if v.status in ("approved", "rejected") else t(locale, "status.pending")


@functools.cache
def _quote_pdf_class() -> type[Any]:
    """fpdf2 is imported by the first PDF, not by every process that may render one (0.34 s of the start-up
    of every `chatcrm` command)."""
    from fpdf import FPDF
    from fpdf.enums import Align

    class QuotePDF(FPDF):  # type: ignore[misc]
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=8)
            self.set_text_color(*MUTED)
            self.cell(0, 5, self.footer_text.replace("{page}", str(self.page_no())), align=Align.C)

    return QuotePDF


def texts_of(v: "QuoteView") -> list[str]:
    return [v.company, v.deal_name, v.account, v.owner, *(ln.name for ln in v.lines), *(ln.sku for ln in v.lines)]


def can_render(locale: str, v: "QuoteView") -> bool:
    """False when the text needs Chinese glyphs and no CJK font is installed (fonts.MISSING was logged)."""
    return cjk_font().cjk or not (is_chinese(locale) or needs_cjk(*texts_of(v)))


def render_quote_pdf(locale: str, v: "QuoteView", *, payment_terms_days: int = 30) -> bytes:
    """payment_terms_days: `[quotes] payment_terms_days`, the due date of the order's invoice."""
    from fpdf.enums import Align, TableCellFillMode, XPos, YPos
    from fpdf.fonts import FontFace
    locale = normalise_locale(locale)
    font = cjk_font()
    pdf = _quote_pdf_class()(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(t(locale, "doc.title", ref=v.ref))
    pdf.set_author(v.company)
    pdf.set_creator("chatcrm")
    pdf.set_lang(locale.replace("_", "-"))  # zh-CN, zh-TW, en
    pdf.add_font(FONT, "", str(font.path))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages("{nb}")
    pdf.footer_text = t(locale, "page", company=v.company, ref=v.ref, page="{page}", pages="{nb}")
    pdf.add_page()
    width = pdf.epw

    # Header: the company, then the document title and its reference line.
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=18)
    pdf.multi_cell(width, 9, v.company, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + width, pdf.get_y() + 1)
    pdf.ln(4)
    pdf.set_font(FONT, size=14)
    pdf.multi_cell(width, 8, t(locale, "doc.title", ref=v.ref), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(width, 5, t(locale, "doc.meta", version=v.version, deal=v.deal_ref, deal_name=v.deal_name,
                                date=v.created_on), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    # Who and what state.
    status = _status(locale, v) + (f" · {t(locale, 'doc.invoice')} {v.invoice_no}" if v.invoice_no else "")
    pdf.set_font(FONT, size=10)
    for label, value in ((t(locale, "doc.customer"), v.account), (t(locale, "doc.owner"), v.owner),
                         (t(locale, "doc.status"), status)):
        pdf.set_text_color(*MUTED)
        pdf.cell(30, 6, label)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width - 30, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    # The lines table.
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.set_font(FONT, size=9.5)
    with pdf.table(col_widths=(62, 26, 20, 33, 33), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   headings_style=FontFace(color=INK, fill_color=HEAD_FILL), cell_fill_color=HEAD_FILL, cell_fill_mode=TableCellFillMode.NONE,
                   borders_layout="HORIZONTAL_LINES", line_height=6.5, padding=(1.5, 2),
                   first_row_as_headings=True, repeat_headings=1) as table:
        head = table.row()
        for key in ("col.product", "col.sku", "col.qty", "col.unit", "col.total"):
            head.cell(t(locale, key))
        for ln in v.lines:
            row = table.row()
            for value in (ln.name, ln.sku, str(ln.quantity), ln.unit_price, ln.line_total):
                row.cell(value)
    pdf.ln(3)

    # Totals, right-aligned under the amounts column.
    label_w, amount_w = 60.0, 40.0
    x = pdf.l_margin + width - label_w - amount_w
    totals = ((t(locale, "sum.subtotal"), v.subtotal), (t(locale, "sum.discount", pct=v.discount_pct),
                                                        f"−{v.discount_amount}"),
              (t(locale, "sum.tax", pct=v.tax_rate_pct), v.tax_amount))
    pdf.set_font(FONT, size=10)
    for label, amount in totals:
        if pdf.will_page_break(6):
            pdf.add_page()
        pdf.set_x(x)
        pdf.set_text_color(*MUTED)
        pdf.cell(label_w, 6, label, align=Align.R)
        pdf.set_text_color(*INK)
        pdf.cell(amount_w, 6, amount, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.will_page_break(12):
        pdf.add_page()
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.5)
    pdf.line(x, pdf.get_y() + 1, x + label_w + amount_w, pdf.get_y() + 1)
    pdf.ln(2)
    pdf.set_x(x)
    pdf.set_font(FONT, size=12.5)
    pdf.cell(label_w, 8, t(locale, "sum.total", currency=v.currency), align=Align.R)
    pdf.cell(amount_w, 8, v.total, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)

    # Terms.
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 7, t(locale, "terms"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    for line in (t(locale, "terms.currency", currency=v.currency, tax=v.tax_rate_pct),
                 t(locale, "terms.payment", days=payment_terms_days), t(locale, "terms.rounding"),
                 t(locale, "terms.status")):
        pdf.multi_cell(width, 5, f"• {line}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
