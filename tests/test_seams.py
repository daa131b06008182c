"""Seams inside the rooms (issue 12): the deliverer's queue mechanics apart from its delivery operations,
pacing where both transport users reach it, and a typed wiring object instead of a bag of extras."""
from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

from tests.test_architecture import imports_of

ROOT = Path(__file__).resolve().parents[1]
DELIVERY = ROOT / "scheduler" / "delivery"


def modules_imported(path: Path) -> set[str]:
    """Full module names of absolute imports, e.g. {"handlers.ports", "crm_core.models"}."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def outbox_status_writers(path: Path) -> list[int]:
    """Lines that UPDATE the outbox table (`update(OutboxMessage)`)."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "update" and node.args
            and getattr(node.args[0], "id", "") == "OutboxMessage"]


def test_only_the_queue_changes_an_outbox_rows_status() -> None:
    writers = {p.name: outbox_status_writers(p) for p in sorted(DELIVERY.glob("*.py"))}
    assert {name for name, lines in writers.items() if lines} == {"queue.py"}


def test_the_queue_knows_no_messenger_and_merging_no_database() -> None:
    assert not {m for m in modules_imported(DELIVERY / "queue.py") if m.startswith(("handlers", "scheduler"))}
    assert not imports_of(DELIVERY / "merging.py") & {"sqlalchemy", "crm_core", "handlers"}


def test_the_old_outbox_module_is_gone_and_nothing_imports_it() -> None:
    assert not (ROOT / "scheduler" / "outbox.py").exists()
    users = [str(p.relative_to(ROOT)) for pkg in ("bot", "scheduler", "handlers", "tests")
             for p in (ROOT / pkg).rglob("*.py") if "scheduler.outbox" in modules_imported(p)]
    assert users == []


@pytest.mark.parametrize("adapter", ["slack", "wecom"])
def test_chat_adapters_take_nothing_from_the_scheduler(adapter: str) -> None:
    """Pacing is shared with the deliverer through crm_core.pacing, not borrowed from the scheduler."""
    bad = {str(p.relative_to(ROOT)): sorted(imports_of(p) & {"scheduler"}) for p in (ROOT / "bot" / adapter).rglob("*.py")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_wiring_names_everything_it_holds() -> None:
    from bot.wiring import Lifespan, SlackParts, Wiring

    for cls in (Wiring, SlackParts, Lifespan):
        hints = typing.get_type_hints(cls, include_extras=False, localns=_adapter_types())
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            assert hint is not typing.Any and "Any" not in repr(hint), f"{cls.__name__}.{f.name}: {hint!r}"
            assert typing.get_origin(hint) is not dict, f"{cls.__name__}.{f.name} is an untyped bag: {hint!r}"
    offenders = [str(p.relative_to(ROOT)) for pkg in ("bot", "scheduler", "handlers", "tests")
                 for p in (ROOT / pkg).rglob("*.py") if p.name != "test_seams.py"
                 and (".extras[" in p.read_text(encoding="utf-8") or ".extras.get(" in p.read_text(encoding="utf-8"))]
    assert offenders == []


def _adapter_types() -> dict[str, object]:
    from slack_bolt import App

    from bot.slack.context import SlackContext
    from bot.slack.oauth import OAuthParts
    from bot.slack.workspaces import WorkspaceGate
    from bot.wecom.runtime import WeComRuntime
    return {"App": App, "SlackContext": SlackContext, "OAuthParts": OAuthParts, "WorkspaceGate": WorkspaceGate,
            "WeComRuntime": WeComRuntime}
