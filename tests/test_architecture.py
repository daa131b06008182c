"""The dependency rule of ARCHITECTURE.md, enforced: imports flow one way, time comes from a clock."""
from __future__ import annotations

import ast
import re
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


# --- no import cycles; function-local imports only where they are genuinely lazy -------------------------
#
# The graph is built from the source with ast: every `import` and `from … import …` of a project module, at
# module level and inside functions alike (a function-local import is still an edge: it only hides the cycle
# until the function runs). Imports under `if TYPE_CHECKING:` are not edges (they never run).

# Function-local imports of project modules that are genuinely lazy, with the reason. Anything else inside
# a function is an import that should stand at the top of its module (or, when it would close a cycle,
# a sign that a helper belongs in a lower module).
LAZY_IMPORTS = {
    ("bot/cli.py", "bot.wiring"): "the CLI builds the wiring only for the sub-commands that need it",
    ("bot/cli.py", "bot.app"): "`chatcrm serve` only: the console and demo start without FastAPI",
    ("bot/cli.py", "bot.console"): "`chatcrm console` only",
    ("bot/cli.py", "bot.processes"): "the worker sub-commands only",
    ("bot/cli.py", "bot.demo"): "`chatcrm demo` only",
    ("bot/cli.py", "bot.importer"): "`chatcrm import` only",
    ("bot/app.py", "bot.processes"): "workers embedded only when configured to start with the app",
    ("bot/app.py", "bot.crashpoint"): "a test-only crash point, loaded only when its variable is set",
    ("bot/app.py", "bot.slack.app"): "the Slack adapter (slack_bolt) is loaded only when Slack is configured",
    ("bot/app.py", "bot.wecom.routes"): "the WeCom adapter is loaded only when WeCom is configured",
    ("bot/app.py", "bot.wecom.runtime"): "the WeCom adapter is loaded only when WeCom is configured",
    ("bot/app.py", "bot.wecom.aibot"): "the WeCom AI bot route is loaded only when the AI bot is configured",
}

# Cycles tolerated for now, listed exactly so that no new one (and no larger one) can appear. Empty: the
# project has none (bot/slack's app -> actions/commands -> inbox -> app went when web_client and
# ack_path_sessions moved to bot/slack/clients.py). crm_core may never get one (test below).
KNOWN_CYCLES: list[frozenset[str]] = []


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sources(package)}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_sites(path: Path, module: str, *, typing_too: bool = False) -> list[tuple[str, int, bool]]:
    """(imported name, line, inside a function) for every runtime import statement in the file (`typing_too`:
    those under `if TYPE_CHECKING:` as well); `from a import b` yields "a.b" (b may be a submodule) — the
    caller resolves it to the longest project module."""
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and not typing_too:
                for sub in child.orelse:
                    visit_one(sub, in_function)
                continue
            visit_one(child, in_function)

    def visit_one(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.extend((f"{source}.{alias.name}", node.lineno, in_function) for alias in node.names)
        visit(node, in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(*, typing_too: bool = False) -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(name, modules) for name, _, _ in import_sites(path, module, typing_too=typing_too)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    """The checker itself: a two-module cycle closed by a function-local import is found."""
    graph = {"crm_core.services.a": {"crm_core.services.b"}, "crm_core.services.b": {"crm_core.services.a"},
             "crm_core.services.c": {"crm_core.services.a"}}
    assert cycles(graph) == [frozenset({"crm_core.services.a", "crm_core.services.b"})]
    source = tmp_path / "b.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from crm_core import uow\n"
                      "def f():\n    from crm_core.services.a import g\n    return g\n", encoding="utf-8")
    assert import_sites(source, "crm_core.services.b") == [("typing.TYPE_CHECKING", 1, False),
                                                           ("crm_core.services.a.g", 5, True)]


def test_crm_core_has_no_import_cycle() -> None:
    graph = import_graph()
    core = {m: {t for t in targets if t.startswith("crm_core")} for m, targets in graph.items()
            if m.startswith("crm_core")}
    assert [sorted(c) for c in cycles(core)] == []


def test_no_new_import_cycle_anywhere_in_the_project() -> None:
    found = cycles(import_graph())
    assert sorted(sorted(c) for c in found if c not in KNOWN_CYCLES) == []
    # a known cycle that is gone must leave the list too, so the list never hides a new one
    assert sorted(sorted(c) for c in KNOWN_CYCLES if c not in found) == []


def test_no_import_cycle_even_through_the_names_only_type_checkers_import() -> None:
    # Such a loop never runs, but a reader (or a checker) following the types goes round it. The wiring names
    # the adapters' parts; the adapters take bot/shared.py, never the wiring's module, so none closes.
    assert sorted(sorted(c) for c in cycles(import_graph(typing_too=True))) == []


def test_function_local_imports_are_only_genuinely_lazy_ones() -> None:
    modules = project_modules()
    local = set()
    for module, path in modules.items():
        for name, line, in_function in import_sites(path, module):
            target = resolve(name, modules)
            # a migration imports what it needs inside upgrade(): loaded on every start, run once
            if in_function and target is not None and "migrations" not in path.parts:
                local.add((str(path.relative_to(ROOT)), target, line))
    unexplained = sorted(f"{path}:{line} imports {target}" for path, target, line in local
                         if (path, target) not in LAZY_IMPORTS)
    assert unexplained == []
    stale = sorted(set(LAZY_IMPORTS) - {(path, target) for path, target, _ in local})
    assert stale == []


def test_a_cross_area_effect_is_not_patched_in_at_import_time() -> None:
    """No module assigns to an attribute of another project module at import time (the old
    `activities.ticket_access = …` set by tickets.py): such behaviour depends on import order."""
    modules = project_modules()
    offenders = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.asname or alias.name for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names}
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                        target.value.id in imported:
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
    "bot/slack/replay.py": "ack path: a request signature claimed before the ack (replay refusal); an Events API "
                           "event_id claimed where the event starts its work, so a retry does it once",
    "bot/slack/inbox.py": "inbox bookkeeping after the work: the reply marked sent",
    "bot/slack/identity.py": "binding a Slack user to a CRM user, before the request's actor is known",
    "bot/wecom/identity.py": "binding a WeCom user to a CRM user, before the request's actor is known",
    "bot/wecom/inbound.py": "inbox bookkeeping of the 5 s callback (the reply marked sent)",
    "bot/wecom/client.py": "the access-token cache shared by processes",
    "bot/wecom/store.py": "sent cards and their task ids (transport records of the deliverer)",
    "bot/console_messenger.py": "the console's delivered messages (transport records of the deliverer)",
    "scheduler/delivery/queue.py": "the deliverer's claim/send/mark cycle: each step commits apart from the send",
    "scheduler/delivery/records.py": "the sent-message records (an 'unsure' record committed before a post)",
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


# --- crm_core speaks in codes, cards/ in words ------------------------------------------------------------
#
# crm_core raises DomainErrors with a message code and data (crm_core/errors.py); the sentence for each code
# is in the catalogs (cards/locales/*.po, area "errors") and cards/errors.py renders it. So crm_core holds no
# human language, except data tables that read what people type, each allowed here with its reason.

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")  # ideographs, kana, hangul
CJK_DATA_TABLES = {
    "crm_core/normalize.py": "legal forms, places and phone prefixes that matching strips from typed names",
    "crm_core/search_text.py": "how Chinese names are folded for search (examples of the keys it makes)",
    "crm_core/vocabulary.py": "words people type (12万, 电话, CSV headers) and the renewal deal's stored name",
    "crm_core/signature.py": "labels, titles, company and address words that read a pasted e-mail signature",
    "crm_core/dates.py": "the date words people type (明天, 下周五, 月底, 3月31日) and what they mean",
    "crm_core/discounts.py": "the discount words people type (打8折, 八五折) and what they mean",
    "crm_core/sample_config.toml": "the sample configuration: bilingual labels are configuration, not code",
}
ERROR_CLASSES = {"DomainError", "NotFound", "Forbidden", "InvalidValue", "InvalidFieldValue", "MissingFields",
                 "Conflict", "StaleAction", "UnknownField", "ApprovalForbidden", "RoleForbidden"}
CODE_ARG = {"InvalidValue": 2, "InvalidFieldValue": 2, "require_access": 3}  # else the first argument
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
SENTENCE = re.compile(r"[A-Za-z]{2,}[ ,;:][ ]?[A-Za-z]{2,}")


def test_crm_core_holds_no_human_language_outside_its_data_tables() -> None:
    found = {}
    for path in sorted((ROOT / "crm_core").rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if not path.is_file() or "__pycache__" in rel or rel in CJK_DATA_TABLES:
            continue
        lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if CJK.search(line)]
        if lines:
            found[rel] = lines
    assert found == {}
    assert all((ROOT / rel).exists() for rel in CJK_DATA_TABLES)  # an allowance no longer needed goes


# Outside crm_core and cards/, a Chinese string is a word people type (read by the grammar) or demo data;
# a sentence anyone reads comes from the catalogs (for the command line and HTTP refusals: cards/operator.py).
# Docstrings and comments may quote Chinese commands; string values may not, except in these modules.
TYPED_WORDS = {
    "handlers/grammar.py": "the command words and option keys people type (线索 新建, 金额=)",
    "handlers/routes.py": "the event, condition and language words of `notify` (赢单, 地区, 中文)",
    "handlers/record_lists.py": "the scope and filter words of a list (我的, 团队, 逾期)",
    "handlers/names.py": "the yes-words of an option (是, 确定)",
    "handlers/tasks.py": "`@我` as an assignee",
    "handlers/deals.py": "`金额=报价` and `确认` as people type them",
    "handlers/conversation.py": "`记录` / `绑定` typed in a WeCom group",
    "bot/demo.py": "demo data: Chinese company, city and person names",
}


def _string_values(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_adapters_and_jobs_say_nothing_in_chinese_outside_the_catalogs() -> None:
    found: dict[str, list[int]] = {}
    for package in ("bot", "handlers", "scheduler"):
        for path in sources(package):
            rel = path.relative_to(ROOT).as_posix()
            lines = sorted({n for n, text in _string_values(path) if CJK.search(text)})
            if lines and rel not in TYPED_WORDS:
                found[rel] = lines
    assert found == {}
    assert all((ROOT / rel).exists() for rel in TYPED_WORDS)


def _error_calls(tree: ast.Module) -> list[tuple[str, ast.Call]]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name in ERROR_CLASSES or name == "require_access":
                calls.append((name, node))
    return calls


def _texts(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_domain_errors_are_given_codes_and_data_never_sentences() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sources(package):
            if path.name == "errors.py" and package == "crm_core":
                continue
            for name, call in _error_calls(ast.parse(path.read_text(encoding="utf-8"))):
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    offenders += [f"{path.relative_to(ROOT)}:{call.lineno} {name}({text[:40]!r})"
                                  for text in _texts(arg) if SENTENCE.search(text) or CJK.search(text)]
    assert offenders == []


def _resolve(tree: ast.Module, func: str, position: int) -> list[ast.AST]:
    """The arguments at `position` of every call of `func` in the module (a code handed through a helper)."""
    return [call.args[position] for call in ast.walk(tree) if isinstance(call, ast.Call)
            and getattr(call.func, "id", None) == func and len(call.args) > position]


def _codes(node: ast.AST, tree: ast.Module, scope: ast.FunctionDef | None) -> tuple[set[str], list[str]]:
    """The message codes an expression can be: constants, either side of `a if c else b`, or a parameter of
    the enclosing function (resolved through that function's callers in the module)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}, []
    if isinstance(node, ast.IfExp):
        a, bad_a = _codes(node.body, tree, scope)
        b, bad_b = _codes(node.orelse, tree, scope)
        return a | b, bad_a + bad_b
    if isinstance(node, ast.Name) and scope is not None:
        params = [a.arg for a in scope.args.args]
        if node.id in params:
            found: set[str] = set()
            bad: list[str] = []
            for arg in _resolve(tree, scope.name, params.index(node.id)):
                codes, worse = _codes(arg, tree, None)
                found |= codes
                bad += worse
            return found, bad
    if isinstance(node, ast.Attribute) and node.attr == "usage":
        return set(), []  # handlers/registry.py: the `usage=` of a registration, collected below
    return set(), [ast.unparse(node)]


def raised_codes() -> tuple[set[str], list[str]]:
    """Every message code the project raises, read from the source, and the code expressions not understood."""
    codes: set[str] = set()
    unknown: list[str] = []
    for package in PACKAGES:
        for path in sources(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            scopes = {id(n): f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
            for name, call in _error_calls(tree):
                position = CODE_ARG.get(name, 0)
                is_init = name in ERROR_CLASSES and not call.args and not call.keywords
                if name in ("NotFound", "MissingFields", "UnknownField") or is_init or len(call.args) <= position:
                    continue  # their codes are fixed in crm_core/errors.py (the super().__init__ calls below)
                found, bad = _codes(call.args[position], tree, scopes.get(id(call)))
                codes |= found
                unknown += [f"{path.relative_to(ROOT)}:{call.lineno} {b}" for b in bad]
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__" \
                        and path.name == "errors.py" and node.args:
                    found, _ = _codes(node.args[0], tree, None)
                    codes |= found
                if isinstance(node, ast.keyword) and node.arg == "usage" and package == "handlers" \
                        and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    codes.add(node.value.value)
                if isinstance(node, ast.Assign) and path.name == "errors.py" and getattr(node.targets[0], "id", "") \
                        == "frame" and isinstance(node.value, ast.Constant):
                    codes.add(node.value.value)
    return codes, unknown


def test_every_error_code_raised_has_a_sentence_in_both_catalogs() -> None:
    from cards.i18n import messages

    codes, unknown = raised_codes()
    assert unknown == []  # a code the collector cannot see is a code nobody checks
    assert len(codes) > 100 and all(CODE.match(c) for c in codes), sorted(c for c in codes if not CODE.match(c))
    for locale in ("en", "zh_CN"):
        assert sorted(c for c in codes if ("errors", c) not in messages(locale)) == [], locale
    # and the other way round: a sentence nobody raises any more goes (the renderer's own pieces aside)
    renderer = {"field.name", "field.known", "list.sep", "choice", "invalid.empty"}  # cards/errors.py: how a field, a list, a choice, a value left empty is said
    assert sorted(k for a, k in messages("en") if a == "errors" and k not in codes | renderer) == []


def test_the_code_collector_sees_a_code_handed_through_a_helper(tmp_path: Path) -> None:
    tree = ast.parse("def check(raw, hint):\n    raise InvalidValue('f', raw, hint)\n\n"
                     "def use():\n    check('x', 'a.one')\n    check('y', 'a.two' if y else 'a.three')\n")
    call = next(c for _, c in _error_calls(tree))
    scope = next(f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "check")
    assert _codes(call.args[2], tree, scope) == ({"a.one", "a.two", "a.three"}, [])
