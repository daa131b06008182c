"""The dependency rule of ARCHITECTURE.md, enforced: imports flow one way, time comes from a clock."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "crm_core", "cards", "scheduler")
FORBIDDEN = {
    "crm_core": {"bot", "handlers", "cards", "scheduler", "slack_bolt", "slack_sdk", "wechatpy", "fastapi",
                 "jinja2", "apscheduler", "starlette"},
    "cards": {"bot", "handlers", "scheduler", "slack_bolt", "wechatpy", "fastapi", "apscheduler", "sqlalchemy"},
    "handlers": {"bot", "scheduler", "slack_bolt", "slack_sdk", "wechatpy", "fastapi", "apscheduler"},
    "scheduler": {"bot", "slack_bolt", "wechatpy", "fastapi"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    bad = {str(p.relative_to(ROOT)): sorted(imports_of(p) & FORBIDDEN[package]) for p in sources(package)}
    assert {k: v for k, v in bad.items() if v} == {}


def test_card_model_imports_nothing_from_the_project() -> None:
    assert not imports_of(ROOT / "cards" / "model.py") & set(PACKAGES)


@pytest.mark.parametrize("package", ["crm_core", "handlers", "scheduler"])
def test_time_is_never_read_directly(package: str) -> None:
    offenders = []
    for path in sources(package):
        if path.name == "clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today") and isinstance(
                    node.value, (ast.Name, ast.Attribute)) and getattr(node.value, "id", getattr(
                    node.value, "attr", "")) in ("datetime", "date"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize("package", ["crm_core", "handlers", "cards", "scheduler"])
def test_nothing_below_the_entry_points_reads_the_environment(package: str) -> None:
    offenders = [str(p.relative_to(ROOT)) for p in sources(package) if "os.environ" in p.read_text(encoding="utf-8")
                 or "os.getenv" in p.read_text(encoding="utf-8")]
    # Alembic's env.py is an entry point of its own (the plain `alembic` command with alembic.ini runs it):
    # it reads DATABASE_URL only when no URL was handed to it, as chatcrm always does (crm_core.migrate).
    offenders = [o for o in offenders if o != "crm_core/migrations/env.py"]
    assert offenders == []


def test_no_bare_except_anywhere() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sources(package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ExceptHandler) and node.type is None:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
