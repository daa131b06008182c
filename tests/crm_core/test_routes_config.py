"""`[[routes]]` in the configuration: a good route loads; an unknown key, a condition the event cannot have, a
route without a target are refused with their key path; `chatcrm check-config` refuses a template with a
syntax error or an unknown variable, naming the route's index."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from cards.builders.routes import route_text
from crm_core.config import SAMPLE_CONFIG_PATH, parse_config
from crm_core.errors import ConfigError

runner = CliRunner()
SAMPLE = SAMPLE_CONFIG_PATH.read_text(encoding="utf-8")


def _with_routes(tmp_path: Path, routes: str) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(SAMPLE + "\n" + routes, encoding="utf-8")
    return path


def _problems(route: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    data = tomllib.loads(SAMPLE)
    data["routes"] = [route]
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


def test_a_good_route_loads_and_check_config_counts_it(tmp_path: Path) -> None:
    path = _with_routes(tmp_path, '''
[[routes]]
event = "deal.won"
min_amount = 1000000
region = "east"
slack_channel = "C0WINS"
wecom_chat = "wrWINS"
locale = "en"
template = { zh_CN = "{{ owner }} 赢单 {{ ref }}：{{ amount }}", en = "{{ owner }} won {{ ref }}: {{ amount }}" }
''')
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 notification routes" in result.output


def test_an_unknown_key_is_refused_with_its_path() -> None:
    problems = _problems({"event": "deal.won", "min_amout": 5, "slack_channel": "C0WINS"})
    assert ("routes.0.min_amout", "unknown setting (did you mean 'min_amount'?)") in problems


def test_a_condition_the_event_cannot_have_and_a_route_without_target_are_refused() -> None:
    [(path, msg)] = _problems({"event": "deal.won", "priority": "urgent", "slack_channel": "C0WINS"})
    assert path == "routes.0" and "priority does not apply to deal.won" in msg
    [(path, msg)] = _problems({"event": "lead.new"})
    assert path == "routes.0" and "needs slack_channel" in msg
    [(path, _)] = _problems({"event": "deal.lost", "slack_channel": "C0WINS"})
    assert path == "routes.0.event"


def test_check_config_refuses_a_bad_template_naming_the_route(tmp_path: Path) -> None:
    path = _with_routes(tmp_path, '''
[[routes]]
event = "lead.new"
slack_channel = "C0LEADS"

[[routes]]
event = "deal.won"
slack_channel = "C0WINS"
template = { en = "{{ owner }} won {{ deal_name }}", zh_CN = "{{ owner 赢单" }
''')
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "routes.1.template.en: unknown variable deal_name" in out
    assert "routes.1.template.zh_CN: template syntax error" in out


def test_a_template_cannot_reach_python_internals() -> None:
    text = route_text("en", "deal.won", {"ref": "D-1", "owner": "Tom"},
                      {"en": "{{ ref.__class__.__mro__ }}"})
    assert "class" not in text  # the sandbox refuses; the catalog's text is used instead
