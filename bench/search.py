"""Search benchmark: do `search` and names-for-references stay fast on 100k records?

    python bench/search.py                      # 100k records on SQLite (a temporary file)
    python bench/search.py --records 20000      # quick
    python bench/search.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/chatcrm_bench_search

Fills a fresh database with --records named records — accounts (Chinese and Latin company names), deals
on them, leads, contacts and tickets — bulk-inserted with their search keys (crm_core.search_index.index_rows,
what the ORM listener writes for records made in chat), owned by the sample team's reps. Then, as a rep
(who sees only their own records) and as an admin (who sees everything), times:

- search: crm_core.queries.lookup.search (a page of 7, as the command asks) over a mix of queries — a whole Chinese name, a part of one,
  pinyin, pinyin initials, a Latin prefix, a word inside a Latin name, a reference;
- name lookup: crm_core.queries.lookup.resolve(..., kinds=("deal",)), as `deal <name>` does;
- misspelt: the same with names nothing is called (`shenzen`, `globx`), answered by the names spelled alike;
- floor: one indexed SELECT of a deal by its id (what `deal D-7` costs to load).

Prints p50 / p99 in milliseconds. Not a test: the figures depend on the machine. The target is < 50 ms.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm_core.config import load_config  # noqa: E402
from crm_core.db import make_engine, make_session_factory  # noqa: E402
from crm_core.migrate import upgrade  # noqa: E402
from crm_core.models import Account, Contact, Deal, Lead, Ticket, User  # noqa: E402
from crm_core.queries.lookup import resolve, search  # noqa: E402
from crm_core.search_index import index_rows  # noqa: E402
from crm_core.services.users import sync_users  # noqa: E402

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
PAGE = 7  # what `search` asks for: six shown, one more to know there are more (handlers/search.py)
CHUNK = 5000
CITIES = "深圳 上海 北京 杭州 广州 成都 南京 苏州 武汉 西安 重庆 天津 青岛 厦门 长沙".split()
BRAND = list("华腾阿里百度京东美团小米科大飞讯云海星辰光明远航智能数据信息网络长城东方新中国际金鑫泰安康瑞丰恒达")
TRADE = "科技 网络 软件 电子 贸易 物流 医疗 教育 传媒 制造".split()
LATIN = ("acme globex initech umbrella stark wayne hooli vandelay soylent cyberdyne tyrell wonka oscorp "
         "massive dynamic aperture black mesa monarch nakatomi gringotts pied piper contoso fabrikam").split()
SUFFIX = ["Inc", "Ltd", "Group", "Labs", "Systems", "Holdings", "Partners"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚")


class Filler:
    def __init__(self, engine: Engine, n: int, seed: int = 7) -> None:
        self.engine, self.n, self.rng = engine, n, random.Random(seed)
        with make_session_factory(engine).begin() as session:
            sync_users(session, load_config(None), NOW)
            self.reps = list(session.scalars(select(User.id).where(User.role == "rep").order_by(User.id)))

    def company(self, i: int) -> str:
        r = self.rng
        if i % 2:
            return f"{r.choice(CITIES)}{''.join(r.sample(BRAND, 2))}{r.choice(TRADE)}有限公司"
        return f"{r.choice(LATIN).title()} {r.choice(LATIN).title()} {r.choice(SUFFIX)} {i}"

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.choice((1, 2))))

    def fill(self) -> dict[str, int]:
        n = self.n
        counts = {"account": n // 4, "deal": n // 4, "lead": n // 4, "contact": n * 3 // 20}
        counts["ticket"] = n - sum(counts.values())
        owner = lambda: self.rng.choice(self.reps)  # noqa: E731
        accounts = [{"name": self.company(i), "owner_id": owner(), "created_at": NOW} for i in range(counts["account"])]
        for a in accounts:
            a["name_key"] = a["name"].lower()[:300]
        self._insert(Account, "account", accounts, ("name",))
        acc_ids = self._ids(Account)
        names = {aid: row["name"] for aid, row in zip(acc_ids, accounts)}
        deals = []
        for i in range(counts["deal"]):
            aid = self.rng.choice(acc_ids)
            deals.append({"name": f"{names[aid]} {self.rng.choice(['扩容', '续约', 'rollout', 'pilot', '二期'])}",
                          "account_id": aid, "owner_id": owner(), "stage": "qualify",
                          "status": self.rng.choice(["open", "open", "won", "lost"]), "currency": "CNY",
                          "fields": {}, "stage_entered_at": NOW, "created_at": NOW, "updated_at": NOW, "version": 1})
        self._insert(Deal, "deal", deals, ("name",))
        leads = [{"name": self.person(), "company": self.company(i), "source": "web", "tags": [], "fields": {},
                  "score": 10, "status": "open", "owner_id": owner(), "assigned_at": NOW, "reassign_count": 0,
                  "duplicate_hits": 0, "created_at": NOW, "updated_at": NOW} for i in range(counts["lead"])]
        self._insert(Lead, "lead", leads, ("name", "company"))
        contacts = [{"account_id": self.rng.choice(acc_ids), "name": self.person(), "owner_id": owner(),
                     "created_at": NOW} for _ in range(counts["contact"])]
        self._insert(Contact, "contact", contacts, ("name",))
        tickets = [{"account_id": self.rng.choice(acc_ids), "subject": self.rng.choice(
                    ["VPN 连接失败", "Invoice address wrong", "登录很慢", "Export to Excel fails", "数据同步异常"]) + f" #{i}",
                    "priority": "normal", "status": "open", "owner_id": owner(), "opened_at": NOW,
                    "respond_due_at": NOW, "resolve_due_at": NOW, "updated_at": NOW, "version": 1}
                   for i in range(counts["ticket"])]
        self._insert(Ticket, "ticket", tickets, ("subject",))
        return counts

    def _ids(self, model: Any) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(model.id).order_by(model.id)))

    def _insert(self, model: Any, kind: str, rows: list[dict[str, Any]], texts: tuple[str, ...]) -> None:
        with self.engine.begin() as conn:
            floor = conn.scalar(select(func.max(model.id))) or 0
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(model), rows[start:start + CHUNK])
            ids = list(conn.scalars(select(model.id).where(model.id > floor).order_by(model.id)))
            for start in range(0, len(rows), CHUNK):
                index_rows(conn, kind, [(rid, row["owner_id"], tuple(row[t] for t in texts)) for rid, row in
                                        zip(ids[start:start + CHUNK], rows[start:start + CHUNK])])


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench(label: str, engine: Engine, n: int, runs: int) -> None:
    t0 = time.perf_counter()
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(Deal))
    counts = Filler(engine, n).fill() if not have else {"reused": int(have)}
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
        terms = conn.scalar(text("SELECT count(*) FROM search_terms"))
    print(f"{label}: {sum(counts.values())} records {counts}, {terms} index rows, filled in "
          f"{time.perf_counter() - t0:.1f} s")
    factory = make_session_factory(engine)
    with factory() as session:
        rep = session.scalar(select(User).where(User.role == "rep").order_by(User.id))
        admin = session.scalar(select(User).where(User.role == "admin")) or rep
        some = session.execute(select(Deal.id, Deal.name).where(Deal.owner_id == rep.id).limit(1)).one()
        queries = ["深圳", "深圳华腾科技有限公司", "华腾", "shenzhen", "szht", "hangzhou", "acme", "Globex Initech",
                   "pied", "vpn", "王伟", f"D-{some.id}", "Ｄ－1", some.name[:6]]
        deal_names = [some.name, some.name[:4], "shanghai", "acme", "sh"]
        misspelt = ["shenzen", "hangzou", "globx", "initeck", "acmme"]
        first_letter = ["qlobex", "unitech", "zcme"]  # a slip in the first letter: the last resort
        unlike = ["zorblaxx", "newco labs", "quuxworks"]  # nothing is named like these (every new name)
        for who, actor in (("rep", rep), ("admin", admin)):
            rows: list[tuple[str, list[float]]] = []
            rows.append(("search", [x for q in queries for x in timed(lambda q=q: (search(session, actor, q, limit=PAGE),
                                                                                   session.expunge_all()), runs)]))
            rows.append(("name lookup (deal)", [x for q in deal_names for x in timed(
                lambda q=q: (resolve(session, actor, q, ("deal",)), session.expunge_all()), runs)]))
            rows.append(("misspelt (deal)", [x for q in misspelt for x in timed(
                lambda q=q: (resolve(session, actor, q, ("deal",)), session.expunge_all()), runs)]))
            rows.append(("first letter (deal)", [x for q in first_letter for x in timed(
                lambda q=q: (resolve(session, actor, q, ("deal",)), session.expunge_all()), runs)]))
            rows.append(("nothing like (deal)", [x for q in unlike for x in timed(
                lambda q=q: (resolve(session, actor, q, ("deal",)), session.expunge_all()), runs)]))
            rows.append(("floor: deal by id", timed(lambda: (session.execute(
                select(Deal.id, Deal.name).where(Deal.id == some.id)).one()), runs * len(queries))))
            for name, values in rows:
                print(f"  {who:5} {name:20} p50 {pct(values, 50):6.2f} ms   p99 {pct(values, 99):6.2f} ms   "
                      f"({len(values)} runs)")
        hits = search(session, rep, "深圳")
        print(f"  e.g. rep searching 深圳: {len(hits)} hits, first {hits[0].kind} {hits[0].name!r}" if hits else
              "  e.g. rep searching 深圳: no hits")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20, help="timed runs per query")
    ap.add_argument("--pg", help="PostgreSQL URL (the database is emptied first)")
    ap.add_argument("--sqlite", help="SQLite file to fill once and reuse (default: a temporary file)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--pg-reuse", action="store_true", help="keep the PostgreSQL data of an earlier run")
    args = ap.parse_args()
    if args.sqlite:
        engine = make_engine(f"sqlite:///{args.sqlite}")
        upgrade(engine)
        bench("SQLite", engine, args.records, args.runs)
        engine.dispose()
    elif not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'search.db'}")
            upgrade(engine)
            bench("SQLite", engine, args.records, args.runs)
            engine.dispose()
    if args.pg:
        engine = make_engine(args.pg)
        if not args.pg_reuse:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        bench(f"PostgreSQL {make_url(args.pg).database}", engine, args.records, args.runs)
        engine.dispose()


if __name__ == "__main__":
    main()
