"""One owner per presentation concern: the scheduler takes views and formatting from the presentation
layer, never from a use-case module; money, company time and stage names are formatted in one place."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bot", "handlers", "crm_core", "cards", "scheduler")

# What the scheduler may still take from handlers/, and why:
SCHEDULER_MAY_IMPORT = {
    "handlers.presentation.sales": "deal and lead views for nudges",
    "handlers.presentation.service": "ticket and contract views for nudges and swarm channels",
    "handlers.ports": "the Messenger / SwarmSpec / delivery protocols the deliverer sends through",
    "handlers.notify": "flush_events: a job's domain events become outbox rows in its transaction",
    "handlers.swarm": "post_to_swarm: a nudge line into a record's swarm channel is an outbox write",
}


def _py(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _modules_imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_the_scheduler_takes_no_views_or_formatting_from_use_case_modules() -> None:
    used = {f"{p.relative_to(ROOT)}: {m}" for p in _py("scheduler") for m in _modules_imported(p)
            if m.startswith("handlers") and m not in SCHEDULER_MAY_IMPORT}
    assert used == set()


def _offenders(pattern: str, allowed: set[str]) -> list[str]:
    rx = re.compile(pattern)
    return [f"{p.relative_to(ROOT)}:{n}" for pkg in SOURCES for p in _py(pkg)
            if str(p.relative_to(ROOT)) not in allowed and "migrations" not in p.parts
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if rx.search(line)]


def test_amounts_are_formatted_only_by_the_money_formatter() -> None:
    assert _offenders(r":,\.\d?f|:,\.\{", {"cards/format.py"}) == []
    assert _offenders(r"def (fmt_)?money\(|def format_money\(", {"cards/format.py"}) == []


def test_company_time_is_converted_only_by_the_company_time_helper() -> None:
    assert _offenders(r"ZoneInfo\([^)]*timezone", {"crm_core/company_time.py", "crm_core/config.py"}) == []


def test_stage_names_and_user_names_have_one_lookup_each() -> None:
    assert _offenders(r"def _?stage_name\(", {"cards/format.py"}) == []
    assert _offenders(r"def _?user_name\(|user\.name if user", {"crm_core/queries/people.py"}) == []
