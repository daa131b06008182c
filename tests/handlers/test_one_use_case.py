"""A button and its command run the same use-case function; the button's value is read in one place
(handlers/registry.resolve_button), and values on cards already sitting in people's chats keep working."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.models import Deal, LeadMerge, Ticket
from handlers import registry
from handlers.invocation import Invocation

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"

# button action -> the command it is the click form of
TWINS = {
    "deal.advance": "advance", "deal.advance_confirm": "advance", "ticket.ack": "ticket ack",
    "ticket.close": "ticket close", "quote.order": "order", "contract.renew": "contract renew",
    "approval.approve": "approve", "approval.reject": "reject", "lead.convert": "lead convert",
    "lead.merge": "lead merge", "workspace.approve": "workspace approve", "workspace.refuse": "workspace refuse",
    "deal.swarm": "swarm",
}


def test_every_button_with_a_command_runs_the_commands_function() -> None:
    for action, command in TWINS.items():
        assert registry.ACTIONS[action].fn is registry.COMMANDS[command].fn, (action, command)


def _reads_button_value(tree: ast.AST) -> list[str]:
    """Calls of the old per-handler parsers, and any read of the raw "value" argument."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "button_ref", "button_detail"):
            found.append(f"{node.func.id}() line {node.lineno}")
        if isinstance(node, ast.Constant) and node.value == "value":
            parent_call = any(isinstance(p, ast.Call) and isinstance(p.func, ast.Attribute) and p.func.attr == "get"
                              and p.args and p.args[0] is node for p in ast.walk(tree))
            parent_sub = any(isinstance(p, ast.Subscript) and p.slice is node for p in ast.walk(tree))
            if parent_call or parent_sub:
                found.append(f'"value" line {node.lineno}')
    return found


def test_no_handler_reads_a_button_value_itself() -> None:
    offenders = {}
    for path in sorted(HANDLERS.rglob("*.py")):
        if path.name in ("registry.py", "runner.py"):
            continue
        found = _reads_button_value(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offenders[str(path.relative_to(HANDLERS))] = found
    assert offenders == {}, "declare the value's parts with @action(..., value=(...)) instead"


def test_the_check_catches_a_handler_that_parses_its_button() -> None:
    bad = 'def f(inv):\n    return button_ref(inv, "deal"), str(inv.args.get("value", "")).partition(":")\n'
    assert len(_reads_button_value(ast.parse(bad))) == 2


def test_every_button_declares_how_its_value_is_read() -> None:
    # a Home tab view, a 📌 event and a WeCom group message to the AI bot: the adapter passes named args
    not_buttons = {"home.show", "swarm.pin", "chat.log", "chat.link"}
    undeclared = sorted(n for n, reg in registry.ACTIONS.items() if not reg.value and n not in not_buttons)
    assert undeclared == []


def click(runner, who: int, action: str, value: str, **args: str):  # type: ignore[no-untyped-def]
    return runner.run(Invocation(actor_id=who, kind="action", name=action, args={"value": value, **args}))


def test_old_format_values_still_work(console_bot, runner, user_id, wiring) -> None:  # type: ignore[no-untyped-def]
    emma = user_id("emma")
    bot = console_bot("emma")
    bot.exec("deal new Globex amount=1000")
    bot.exec("deal set D-1 contact=Ann")
    # "D-1:<stage shown>" (deal.advance): moves once; the same card again is stale and changes nothing
    assert "Moved from Qualify to Discovery" in click(runner, emma, "deal.advance", "D-1:qualify").text()
    assert "already moved on" in click(runner, emma, "deal.advance", "D-1:qualify").text()
    # "D-1" alone (older cards carried no stage) still advances, with the same rules as the command
    bot.exec("deal set D-1 close_date=2026-06-30 budget=yes")
    assert "Moved from Discovery to Proposal" in click(runner, emma, "deal.advance", "D-1").text()
    # "D-1:<shown>:<target>" (deal.advance_confirm): a backwards move, confirmed
    out = click(runner, emma, "deal.advance_confirm", "D-1:proposal:qualify").text()
    assert "to Qualify" in out
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).stage == "qualify"
    # a confirm value without its stages says what to type and changes nothing
    out = click(runner, emma, "deal.advance_confirm", "D-1").text()
    assert "advance D-1 <stage> confirm" in out
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).stage == "qualify"
    # lower-case and prefix-less references parse as before; a reference of the wrong kind is not found
    assert "was not found" in click(runner, emma, "deal.advance", "L-1:qualify").text()
    assert "was not found" in click(runner, emma, "deal.advance", "").text()


def test_two_part_values_become_two_arguments(console_bot, runner, user_id, wiring) -> None:  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('lead add "Ann Lee" company="Acme Inc." email=ann@acme.com')
    emma.exec("lead add Bob company='ACME, Inc'")
    assert "was not found" in click(runner, user_id("emma"), "lead.merge", "L-2:D-1").text()  # not a lead
    assert "was not found" in click(runner, user_id("emma"), "lead.merge", "L-2").text()  # no lead to keep
    # "L-2:L-1" (lead.merge, the card's merge button): as `lead merge L-2 L-1` would
    out = click(runner, user_id("emma"), "lead.merge", "L-2:L-1").text()
    assert "Merged L-2 into L-1" in out
    with wiring.session_factory() as s:
        assert s.scalar(select(LeadMerge.kept_lead_id).where(LeadMerge.merged_lead_id == 2)) == 1


@pytest.mark.parametrize("action", ["ticket.ack", "ticket.close"])
def test_a_ticket_button_and_its_command_answer_alike(action, console_bot, runner, user_id, wiring) -> None:  # type: ignore[no-untyped-def]
    bot = console_bot("emma")
    with wiring.session_factory() as s:
        assert s.scalar(select(Ticket.id).limit(1)) is None
    assert "T-1 was not found" in click(runner, user_id("emma"), action, "T-1").text()
    assert "T-1 was not found" in bot.exec(TWINS[action] + " T-1")  # the typed form answers alike
