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
    assert offenders == []


def test_no_bare_except_anywhere() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sources(package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ExceptHandler) and node.type is None:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# --- one transaction owner (issue 12) ---------------------------------------------------------------------
# Every unit of work that may change state comes from crm_core.uow.UnitOfWorkFactory, built once by the
# composition root (bot/wiring.py through handlers.notify.unit_of_work_factory) with the event flush as its
# before-commit step. So nothing else builds a UnitOfWork, flushes events by hand, or commits a session.
OWNER_CALLS = {
    "UnitOfWork": {"crm_core/uow.py",
                   # wraps a session it is handed for the view helpers (read only): never entered nor committed
                   "scheduler/swarms.py"},
    "UnitOfWorkFactory": {"crm_core/uow.py", "handlers/notify.py"},
    "flush_events": {"handlers/notify.py"},
    "commit": {"crm_core/uow.py"},
}
# Adapters (bot/, scheduler/) open no transaction of their own: state changes go through the owner. These
# files keep short transactions of transport bookkeeping that record no domain event (so there is nothing
# to flush) and must commit on their own schedule, before or apart from the use case's unit of work.
OWN_TRANSACTIONS = {
    "bot/wiring.py": "start-up: configured users synced under the start-up lock, before any request",
    "bot/slack/app.py": "ack path: an Events API delivery id claimed before Bolt dispatches it",
    "bot/slack/replay.py": "ack path: a request signature claimed before the ack (replay refusal)",
    "bot/slack/inbox.py": "inbox bookkeeping after the work: the reply marked sent",
    "bot/slack/identity.py": "binding a Slack user to a CRM user, before the request's actor is known",
    "bot/wecom/identity.py": "binding a WeCom user to a CRM user, before the request's actor is known",
    "bot/wecom/inbound.py": "inbox bookkeeping of the 5 s callback (the reply marked sent)",
    "bot/wecom/client.py": "the access-token cache shared by processes",
    "bot/wecom/store.py": "sent cards and their task ids (transport records of the deliverer)",
    "bot/console_messenger.py": "the console's delivered messages (transport records of the deliverer)",
    "scheduler/outbox.py": "the deliverer's claim/send/mark cycle: each step commits apart from the send",
    "scheduler/pacing.py": "per-recipient send pacing shared by deliverers",
}


def _calls(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            if name:
                found.append((name, node.lineno))
    return found


def test_only_the_transaction_owner_builds_units_of_work_flushes_events_and_commits() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sources(package):
            rel = path.relative_to(ROOT).as_posix()
            offenders += [f"{rel}:{line} {name}()" for name, line in _calls(path)
                          if name in OWNER_CALLS and rel not in OWNER_CALLS[name]]
    assert offenders == []


def test_adapters_open_no_transactions_of_their_own() -> None:
    opened: dict[str, list[int]] = {}
    for package in ("bot", "scheduler"):
        for path in sources(package):
            lines = [line for name, line in _calls(path) if name == "begin"]
            if lines:
                opened[path.relative_to(ROOT).as_posix()] = lines
    assert {k: v for k, v in opened.items() if k not in OWN_TRANSACTIONS} == {}
    # An entry no longer needed goes, so the list stays the short list of real exceptions.
    assert sorted(set(OWN_TRANSACTIONS) - set(opened)) == []
