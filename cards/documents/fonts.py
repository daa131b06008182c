"""Finding a font that has Chinese glyphs, for the PDF quote and the chart PNG.

Order: the file named by `CHATCRM_CJK_FONT` (a .ttf/.ttc/.otf path; bot/settings.py reads it and the
wiring hands it to `configure`), then the Debian/Ubuntu packages
`fonts-wqy-microhei`, `fonts-noto-cjk`, `fonts-wqy-zenhei` (what `.ci/run` and the Dockerfile install),
then any installed font whose family says CJK (macOS PingFang, Windows Microsoft YaHei …, found through
matplotlib's font list). Without one, documents fall back to DejaVu Sans (shipped inside matplotlib) and
ONE warning says what to install; a PDF quote whose text needs Chinese is then not produced (the HTML
quote still is), and a chart draws its Chinese labels as best it can.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("chatcrm.documents")

ENV = "CHATCRM_CJK_FONT"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
FAMILY_HINTS = ("wenquanyi", "noto sans cjk", "noto sans sc", "source han sans", "pingfang", "heiti",
                "microsoft yahei", "simhei", "droid sans fallback")
MISSING = ("no CJK font found (set CHATCRM_CJK_FONT to a .ttf/.ttc file, or install fonts-wqy-microhei): "
           "PDF quotes with Chinese text are not produced (the HTML quote still is) and chart labels may not render")


@dataclass(frozen=True)
class Font:
    path: Path
    cjk: bool  # False: the DejaVu fallback, which has no Chinese glyphs


_lock = threading.Lock()
_found: Font | None = None
_configured: str | None = None


def configure(path: str | None) -> None:
    """The font file the operator named (CHATCRM_CJK_FONT), or None to search. Forgets an earlier choice."""
    global _configured, _found
    with _lock:
        _configured, _found = (path or "").strip() or None, None


def _fallback() -> Font:
    import matplotlib
    return Font(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", cjk=False)


def _search() -> Font:
    configured = _configured
    if configured:
        if Path(configured).is_file():
            return Font(Path(configured), cjk=True)
        log.warning("%s=%s is not a file; looking for an installed CJK font instead", ENV, configured)
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Font(Path(candidate), cjk=True)
    try:
        from matplotlib import font_manager
        for entry in font_manager.fontManager.ttflist:
            if any(h in entry.name.lower() for h in FAMILY_HINTS) and Path(entry.fname).suffix.lower() in (
                    ".ttf", ".ttc", ".otf"):
                return Font(Path(entry.fname), cjk=True)
    except Exception:  # noqa: BLE001 - a broken font cache must not stop a quote
        log.exception("could not list the installed fonts")
    log.warning(MISSING)
    return _fallback()


def cjk_font() -> Font:
    """The font documents use, looked up once per process (`reset()` forgets it, for tests)."""
    global _found
    with _lock:
        if _found is None:
            _found = _search()
            if _found.cjk:
                log.info("documents use the font %s", _found.path)
        return _found


def reset() -> None:
    global _found
    with _lock:
        _found = None


def needs_cjk(*texts: str) -> bool:
    """True when a text has characters DejaVu Sans cannot draw (CJK and other East Asian scripts)."""
    return any(ord(ch) >= 0x2E80 for text in texts for ch in text)
