"""The chatcrm CLI: check-config reports every problem with its path; console is scriptable."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from crm_core.config import SAMPLE_CONFIG_PATH

runner = CliRunner()


def test_check_config_accepts_the_sample_team() -> None:
    result = runner.invoke(app, ["check-config", str(SAMPLE_CONFIG_PATH)])
    assert result.exit_code == 0 and "12 users" in result.output and "6 stages" in result.output


def test_check_config_lists_every_problem_with_its_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[company]
locale = "fr"
timezone = "Mars/Olympus"
[[users]]
key = "li"
name = "李雷"
role = "intern"
manager = "nobody"
[[pipeline.stages]]
key = "only"
name = { zh_CN = "唯一", en = "Only" }
probability = 150
[digest]
daily_at = "8 o'clock"
""", encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(bad)])
    out = result.output
    assert result.exit_code == 1
    for path in ("company.locale", "company.timezone", "users.0.role", "pipeline.stages.0.probability",
                 "digest.daily_at"):
        assert path in out, path


def test_check_config_reports_unknown_keys_and_broken_toml(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text('[company]\nnmae = "x"\n[[pipeline.stages]]\nkey="a"\nname={zh_CN="a",en="a"}\nprobability=1\n',
                    encoding="utf-8")
    out = runner.invoke(app, ["check-config", str(typo)]).output
    assert "company.nmae" in out
    broken = tmp_path / "broken.toml"
    broken.write_text("[company\n", encoding="utf-8")
    assert "not valid TOML" in runner.invoke(app, ["check-config", str(broken)]).output


def test_console_is_scriptable_from_standard_input(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    env.pop("CHATCRM_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--as", "li"],
                          input="lead add 王五 company=某某科技\nlead list\n", capture_output=True, text=True,
                          env=env, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert "线索 L-1 · 王五" in proc.stdout and "L-1 · 王五 · 某某科技" in proc.stdout


def test_unknown_console_user_is_told_who_exists(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--as", "nobody"], input="",
                          capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode != 0 and "Known users" in proc.stderr and "li" in proc.stderr


def test_a_command_that_draws_nothing_starts_without_the_document_libraries() -> None:
    """matplotlib and fpdf2 were imported by every `chatcrm` command (`db current`, `import`, `console`), about a
    second of each start; charts and quote PDFs import them on first use, and `serve` loads them before it
    freezes its heap (bot/heap.py)."""
    probe = ("import sys, bot.cli, bot.wiring, handlers\n"
             "print(sorted(m for m in ('matplotlib', 'fpdf') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2], text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
