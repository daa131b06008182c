"""The quote as a PDF: A4 print layout, the CJK font embedded, the same totals as the card; it reaches the
person as a file on Slack (files upload), on WeCom (media/upload + a `file` message) and in the console."""
from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from pypdf import PdfReader

from cards.builders.quotes import quote_documents
from cards.documents.quote_view import QuoteLineView, QuoteView
from cards.documents import fonts
from cards.documents.quote_pdf import render_quote_pdf
from tests.documents.conftest import pdf_fonts

A4 = (595.28, 841.89)  # points


def view(n: int = 3, **kw: object) -> QuoteView:
    rows = tuple(QuoteLineView(f"SKU{i}", f"专业版许可证 {i}", 10 + i, "¥12,000.00", f"¥{120000 + 12000 * i:,}.00")
                 for i in range(n))
    base = dict(ref="Q-3", version=2, deal_ref="D-7", deal_name="年度采购", account="深圳某某科技有限公司", owner="李雷",
                company="示例软件有限公司", status="pending", created_on="2026-11-29 10:00", currency="CNY",
                lines=rows, subtotal="¥360,000.00", discount_pct="15", discount_amount="¥54,000.00",
                tax_rate_pct="13", tax_amount="¥39,780.00", total="¥345,780.00")
    base.update(kw)
    return QuoteView(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def zh_pdf() -> PdfReader:
    fonts.reset()
    return PdfReader(io.BytesIO(render_quote_pdf("zh_CN", view(), payment_terms_days=45)))


def test_a_chinese_quote_is_one_a4_page_with_the_cjk_font_embedded(zh_pdf: PdfReader) -> None:
    assert len(zh_pdf.pages) == 1
    box = zh_pdf.pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == (round(A4[0], 1), round(A4[1], 1))
    used = pdf_fonts(zh_pdf)
    assert used and all(f["embedded"] for f in used), used  # nothing left to the reader's fonts
    assert fonts.cjk_font().cjk and not any("DejaVu" in f["base"] for f in used)  # the CJK font, not the fallback
    assert all(f["subtype"] == "/Type0" for f in used), used  # a CID font: the Chinese glyphs, subset


def test_the_pdf_says_what_the_card_says(zh_pdf: PdfReader) -> None:
    text = zh_pdf.pages[0].extract_text()
    for expected in ("示例软件有限公司", "报价单 Q-3", "深圳某某科技有限公司", "李雷", "待审批", "专业版许可证 2",
                     "¥360,000.00", "折扣 15%", "¥54,000.00", "税 13%", "¥39,780.00", "总计", "¥345,780.00",
                     "45 天内付款"):
        assert expected in text, expected


def test_a_long_quote_breaks_onto_a_second_page_with_the_headings_again() -> None:
    reader = PdfReader(io.BytesIO(render_quote_pdf("en", view(n=30))))
    assert len(reader.pages) == 2
    second = reader.pages[1].extract_text()
    assert "Product" in second and "Line total" in second  # the table heading repeats
    assert "Total (CNY)" in second and "¥345,780.00" in second and "page 2/2" in second


def test_without_a_cjk_font_a_chinese_quote_goes_as_html_only_and_the_log_says_why(
        no_cjk_font: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "chatcrm.documents"):
        docs = quote_documents("zh_CN", view())
    assert [d.filename for d in docs] == ["quote-Q-3-D-7-v2.html"]
    assert "no CJK font found" in caplog.text and "CHATCRM_CJK_FONT" in caplog.text
    # An English quote without Chinese text still gets its PDF, in the fallback font (DejaVu Sans).
    latin = view(deal_name="Annual renewal", account="Acme Inc.", owner="Emma", company="Example Software",
                 lines=(QuoteLineView("PRO", "Professional", 10, "$1,000.00", "$10,000.00"),))
    docs = quote_documents("en", latin)
    assert [d.content_type for d in docs] == ["text/html; charset=utf-8", "application/pdf"]
    [used] = pdf_fonts(PdfReader(io.BytesIO(docs[1].data())))
    assert used["base"].split("+")[-1].startswith("DejaVuSans") and used["embedded"]


def test_the_console_saves_the_pdf_and_prints_its_path(console_bot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("deal new Acme amount=200000")
    out = li.exec("quote D-1 PRO x10 discount=5")
    pdf = Path("chatcrm-files") / "quote-Q-1-D-1-v1.pdf"
    assert f"[文件] {pdf}" in out and f"[文件] {pdf.with_suffix('.html')}" in out
    assert "quote-Q-1-D-1-v1.pdf" in out.split("[文件]")[0]  # the card names the files too
    reader = PdfReader(tmp_path / pdf)
    assert "报价单 Q-1" in reader.pages[0].extract_text()


def test_the_pdf_reaches_wecom_as_a_file_message(wecom) -> None:  # type: ignore[no-untyped-def]
    wecom.say("lilei", "商机 新建 Acme amount=200000")
    wecom.say("lilei", "报价 D-1 PRO x10 discount=5")
    assert wecom.last_card("lilei")["main_title"]["title"].startswith("报价 Q-1")  # the card first, then its files
    files = wecom.fake.files_to("lilei")
    assert [(f["type"], f["filename"]) for f in files] == [("file", "quote-Q-1-D-1-v1.html"),
                                                          ("file", "quote-Q-1-D-1-v1.pdf")]
    assert files[1]["content_type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(files[1]["data"]))
    assert "报价单 Q-1" in reader.pages[0].extract_text() and all(f["embedded"] for f in pdf_fonts(reader))
    assert [c.query["type"] for c in wecom.fake.called("media/upload")] == ["file", "file"]


def test_the_pdf_reaches_slack_as_a_file_in_the_dm(slack, fake_slack) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=5")
    by_title = {meta["title"]: (fid, meta["channel"]) for fid, meta in fake_slack.files.items()}
    fid, channel = by_title["quote-Q-1-D-1-v1.pdf"]
    assert channel == "D01EMMA"
    reader = PdfReader(io.BytesIO(fake_slack.upload_bytes[fid]))
    assert len(reader.pages) == 1 and "Quote Q-1" in reader.pages[0].extract_text()
