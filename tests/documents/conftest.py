"""Documents and pictures: the Slack and WeCom fakes of tests/bot are reused here (their fixtures, imported)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from cards.documents import fonts
from tests.bot.slack.conftest import fake_slack, slack, slack_api, slack_settings, slack_wiring  # noqa: F401
from tests.bot.wecom.conftest import (fake_wecom, side, wecom, wecom_client, wecom_rt,  # noqa: F401
                                      wecom_settings, wecom_wiring)


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the console saves files under ./chatcrm-files


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine without any CJK font (and a CHATCRM_CJK_FONT that names nothing)."""
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    monkeypatch.setattr(fonts, "FAMILY_HINTS", ())
    fonts.configure("/nonexistent/font.ttc")
    yield
    fonts.configure(None)


def pdf_fonts(reader: PdfReader) -> list[dict[str, Any]]:
    """Each font of each page: {base, embedded (a font file is in the PDF), subtype}."""
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            desc_font = descendants[0].get_object() if descendants else font
            descriptor = desc_font.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            found.append({"base": str(font["/BaseFont"]), "subtype": str(font["/Subtype"]),
                          "embedded": any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))})
    return found
