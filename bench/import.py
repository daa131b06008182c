"""Bulk import benchmark: `chatcrm import leads` on generated leads vs a plain SQLAlchemy Core insert.

    python bench/import.py                 # 100 000 rows, SQLite file in a temp dir
    python bench/import.py --rows 20000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench

10 % of the rows are duplicates of earlier rows in varied spellings (company legal forms and places,
email case, phone formats). The floor inserts the same rows with no validation, dedupe, scoring or
assignment; a second floor also inserts their search keys (what makes a lead findable by part of its
name, pinyin or initials), the same way. Prints rows/s for both and the ratio chatcrm / floor. Not a test: figures depend on the machine.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.importer import run_import  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build  # noqa: E402
from crm_core.db import make_engine  # noqa: E402
from crm_core.migrate import upgrade  # noqa: E402
from crm_core.models import Lead  # noqa: E402
from crm_core.search_index import index_rows  # noqa: E402

CITIES = ["深圳", "上海", "杭州", "成都", "苏州", "南京"]
WORDS = ["华星", "远航", "云图", "金桥", "蓝海", "天衡", "博睿", "鼎盛", "启明", "万联", "青木", "汇通"]
EN = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]


def generate(path: Path, rows: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    originals: list[list[str]] = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["姓名", "公司", "邮箱", "手机", "地区", "来源"])
        for i in range(rows):
            if originals and rng.random() < 0.10:
                name, company, email, phone, region, source = rng.choice(originals)
                company = _respell(company, rng)
                email = email.upper() if email and rng.random() < 0.5 else email
                phone = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}" if phone and rng.random() < 0.5 else phone
                w.writerow([name, company, email, phone, region, "event"])
                continue
            if rng.random() < 0.6:
                company = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{i}科技有限公司"
            else:
                company = f"{rng.choice(EN)} {i} Inc."
            row = [f"客户{i}", company, f"c{i}@example.com" if rng.random() < 0.7 else "",
                   f"13{i % 10}{i:08d}"[:11] if rng.random() < 0.6 else "", rng.choice(["east", "west", "intl", ""]),
                   rng.choice(["web", "ads", "referral"])]
            originals.append(row)
            if len(originals) > 5000:
                originals.pop(rng.randrange(len(originals)))
            w.writerow(row)


def _respell(company: str, rng: random.Random) -> str:
    if company.endswith("科技有限公司"):
        city = company[:2]
        core = company[2:].removesuffix("有限公司")
        return rng.choice([f"{core}（{city}）有限公司", core, f"{city}市{core}有限公司"])
    base = company.removesuffix(" Inc.")
    return rng.choice([f"{base.upper()}, Inc", f"{base} Ltd", f"The {base} Company"])


def floor(url: str, path: Path, *, with_keys: bool = False) -> float:
    """Seconds to insert the file's rows as leads in batches of 1 000, no validation, dedupe, scoring or
    assignment. `with_keys`: also their search keys (crm_core.search_text, the same keys the import writes),
    by the same plain executemany — what makes an imported lead findable by part of its name, pinyin or
    initials; beside the plain floor it shows how much of the gap is the search index."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(timezone.utc)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        batch: list[dict[str, object]] = []
        started = time.perf_counter()
        with engine.begin() as conn:
            owner = conn.execute(text("SELECT id FROM users ORDER BY id LIMIT 1")).scalar_one()
            first = (conn.execute(text("SELECT max(id) FROM leads")).scalar() or 0) + 1
        for name, company, email, phone, region, source in reader:
            batch.append(dict(name=name, company=company, email=email or None, phone=phone or None, region=region or None,
                              source=source, status="open", owner_id=owner, assigned_at=now, created_at=now,
                              updated_at=now, score=0, tags=[], reassign_count=0, duplicate_hits=0))
            if len(batch) >= 1000:
                first = _insert(engine, batch, first, with_keys)
                batch = []
        if batch:
            _insert(engine, batch, first, with_keys)
        return time.perf_counter() - started


def _insert(engine: Engine, batch: list[dict[str, object]], first: int, with_keys: bool) -> int:
    """One batch in one transaction; the id the next batch's first row gets."""
    with engine.begin() as conn:
        conn.execute(insert(Lead), batch)
        if with_keys:
            index_rows(conn, "lead", [(first + i, row["owner_id"], (row["name"], row["company"]))  # type: ignore[misc]
                                      for i, row in enumerate(batch)])
    return first + len(batch)


def measure(label: str, url_for: "callable[[str], str]", csv_path: Path, rows: int) -> tuple[str, float, float, float]:  # type: ignore[valid-type]
    w = build(Settings(database_url=url_for("import")))
    w.prepare_database()
    started = time.perf_counter()
    result = run_import(w, csv_path, show_progress=False)
    t_import = time.perf_counter() - started
    floor_url = url_for("floor")
    w2 = build(Settings(database_url=floor_url))
    w2.prepare_database()  # users exist, so the floor's rows have a valid owner
    t_floor = floor(floor_url, csv_path)
    indexed_url = url_for("indexed")
    w3 = build(Settings(database_url=indexed_url))
    w3.prepare_database()
    t_indexed = floor(indexed_url, csv_path, with_keys=True)
    s = result.stats
    print(f"  [{label}] created {s.created}, merged {s.merged}, rejected {s.rejected}")
    return label, rows / t_import, rows / t_floor, rows / t_indexed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", help="also run against this PostgreSQL URL (its tables are dropped!)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chatcrm-bench-"))
    csv_path = tmp / "leads.csv"
    generate(csv_path, args.rows)
    results = [measure("sqlite", lambda name: f"sqlite:///{tmp / (name + '.db')}", csv_path, args.rows)]
    if args.pg:
        def pg(name: str) -> str:
            engine = make_engine(args.pg)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
            return args.pg
        results.append(measure("postgresql", pg, csv_path, args.rows))
    print(f"\nbulk import of {args.rows} leads (10 % duplicates in varied spellings)")
    print(f"{'database':<12}{'chatcrm rows/s':>16}{'floor rows/s':>14}{'ratio':>8}{'floor + search keys':>22}"
          f"{'ratio':>8}   (target >= 0.30 against the plain floor)")
    for label, ours, base, indexed in results:
        print(f"{label:<12}{ours:>16,.0f}{base:>14,.0f}{ours / base:>8.2f}{indexed:>22,.0f}{ours / indexed:>8.2f}")


if __name__ == "__main__":
    main()
