"""CSV decoding reads the WHOLE file's encoding: a UTF-8 file over 1 MiB whose 1 MiB cut falls inside a
Chinese character is UTF-8 (it used to be read as GB18030 and imported as mojibake); GB18030 and
UTF-8-with-BOM files still work; a file that is neither is refused, naming the line and byte."""
from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select

from bot.importer import CHUNK, detect_encoding, run_import
from crm_core.models import Lead

NAMES = ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十", "郑一", "冯二", "陈三", "褚四"]
HEADER = "姓名,公司,手机,备注\n"


def big_utf8_csv(tmp_path: Path) -> Path:
    """~1.2 MiB of UTF-8 with Chinese names; the byte at 1 MiB is the middle byte of a Chinese character."""
    rows = [f"{name},{name}科技有限公司,1380013{i:04d},{'备注' * 16_000}\n" for i, name in enumerate(NAMES)]
    body = (HEADER + "".join(rows)).encode("utf-8")
    # Shift the text by ASCII padding in the first note until the cut lands inside a character.
    for pad in range(4):
        text = HEADER + rows[0].replace(",备注", "," + "x" * pad + "备注", 1) + "".join(rows[1:])
        body = text.encode("utf-8")
        if 0x80 <= body[CHUNK] < 0xC0:  # a continuation byte: the cut is inside a character
            break
    assert len(body) > CHUNK and 0x80 <= body[CHUNK] < 0xC0
    # The old sniffing (decode the first MiB) would have failed on UTF-8 and picked GB18030:
    with pytest.raises(UnicodeDecodeError):
        body[:CHUNK].decode("utf-8")
    path = tmp_path / "big.csv"
    path.write_bytes(body)
    return path


def names(wiring) -> list[str]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return list(s.scalars(select(Lead.name).order_by(Lead.id)))


def test_utf8_over_one_mib_cut_inside_a_character_is_read_as_utf8(wiring, tmp_path):  # type: ignore[no-untyped-def]
    path = big_utf8_csv(tmp_path)
    assert detect_encoding(path) == "utf-8-sig"
    result = run_import(wiring, path, show_progress=False)
    assert result.stats.created == len(NAMES)
    assert names(wiring) == NAMES  # the real names, no mojibake
    with wiring.session_factory() as s:
        assert s.scalar(select(Lead.company).where(Lead.name == "张三")) == "张三科技有限公司"


def test_gb18030_and_utf8_with_bom_still_work(wiring, tmp_path):  # type: ignore[no-untyped-def]
    gb = tmp_path / "gb.csv"
    gb.write_bytes((HEADER + "张三,深圳某某科技有限公司,13800138000,\n").encode("gb18030"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes((HEADER + "李四,上海某某软件有限公司,13900139000,\n").encode("utf-8-sig"))
    assert detect_encoding(gb) == "gb18030"
    assert detect_encoding(bom) == "utf-8-sig"
    run_import(wiring, gb, show_progress=False)
    run_import(wiring, bom, show_progress=False)
    assert names(wiring) == ["张三", "李四"]  # the BOM is not glued onto the first header or name


def test_a_big_gb18030_file_is_gb18030(wiring, tmp_path):  # type: ignore[no-untyped-def]
    rows = [f"{name},{name}科技有限公司,1380013{i:04d},{'备注' * 24_000}\n" for i, name in enumerate(NAMES)]
    path = tmp_path / "gb-big.csv"
    path.write_bytes((HEADER + "".join(rows)).encode("gb18030"))
    assert path.stat().st_size > CHUNK
    run_import(wiring, path, show_progress=False)
    assert names(wiring) == NAMES


def test_neither_utf8_nor_gb18030_is_refused_with_line_and_byte(wiring, tmp_path, capsys):  # type: ignore[no-untyped-def]
    good = (HEADER + "张三,深圳某某科技有限公司,13800138000,\n").encode("utf-8")
    bad_line = b"Jos\xe9,Caf\xe9 \xff\xfe Ltd,,\n"  # Latin-1 with bytes that are neither UTF-8 nor GB18030
    path = tmp_path / "latin.csv"
    path.write_bytes(good + bad_line)
    with pytest.raises(typer.Exit) as exit_info:
        run_import(wiring, path, show_progress=False)
    assert exit_info.value.exit_code == 2
    err = capsys.readouterr().err
    assert f"byte {len(good) + 4} (line 3)" in err  # the é of "José": 1-based byte number, third line
    assert "CSV UTF-8" in err and "第 3 行" in err
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 0  # nothing imported
