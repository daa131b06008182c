"""Fixtures for the operations tests: a throwaway database of its own for each test (a fresh SQLite file,
or `fresh_pg_url` from tests/conftest.py: a fresh PostgreSQL database, dropped afterwards)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("CHATCRM_TEST_DATABASE_URL")


def child_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a `chatcrm` child process: no outside CHATCRM_/Slack/WeCom settings, this worktree first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATCRM_", "DATABASE_URL", "SLACK_", "WECOM_"))}
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    env.update(extra)
    return env


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database: SQLite always, PostgreSQL too when CHATCRM_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ops.db'}"
        return
    yield request.getfixturevalue("fresh_pg_url")


# The metrics and logging tests reuse the Slack scenario fixtures: a fake Slack API and the real app wired to it.
from tests.bot.slack.conftest import fake_slack, slack, slack_api, slack_settings, slack_wiring  # noqa: E402,F401
