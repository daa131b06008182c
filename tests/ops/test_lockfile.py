"""The lock files pin every dependency pyproject.toml declares, each pin inside its range, with hashes;
the application lock (the Docker image) and the test lock (CI) agree on every package they share."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.ops.conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def pins(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        m = PIN.match(line)
        if m:
            out[canonicalize_name(m.group(1))] = m.group(3)
    # every requirement carries hashes (pip then refuses anything else: --require-hashes is implied)
    blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(b)]
    assert blocks and all("--hash=sha256:" in b for b in blocks), path.name
    return out


def project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _check(reqs: list[str], locked: dict[str, str], lock_name: str) -> None:
    problems = []
    for raw in reqs:
        req = Requirement(raw)
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name} is not pinned in {lock_name}")
        elif not req.specifier.contains(locked[name], prereleases=True):
            problems.append(f"{req.name}=={locked[name]} in {lock_name} is outside {req.specifier}")
    assert not problems, "; ".join(problems) + " — regenerate the lock (README, 'Reproducible installs')"


def test_every_application_dependency_is_pinned_inside_its_range() -> None:
    _check(project()["dependencies"], pins(ROOT / "requirements.lock"), "requirements.lock")


def test_the_test_lock_pins_the_application_and_the_test_extra() -> None:
    _check(project()["dependencies"] + project()["optional-dependencies"]["test"],
           pins(ROOT / "requirements-test.lock"), "requirements-test.lock")


def test_both_locks_agree_and_the_app_lock_has_no_test_tools() -> None:
    app, test = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-test.lock")
    assert {n: v for n, v in app.items() if test.get(n) != v} == {}
    assert not {"pytest", "hypothesis", "schemathesis", "check-jsonschema"} & set(app)


def test_dropped_dependencies_stay_dropped() -> None:
    names = {canonicalize_name(Requirement(r).name): Requirement(r) for r in project()["dependencies"]}
    assert "python-multipart" not in names  # no Form/File endpoints
    # The asyncio extra stays: slack_sdk's SQLAlchemy installation store imports sqlalchemy.ext.asyncio.
    assert "asyncio" in names["sqlalchemy"].extras
    assert "greenlet" in pins(ROOT / "requirements.lock")


def test_ci_installs_from_the_lock() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"pip\"? install .*-r requirements-test\.lock", ci)
    assert re.search(r"pip\"? install .*--no-deps -e \.", ci)
