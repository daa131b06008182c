"""`chatcrm check-config FILE`: every problem with its key path in one run — schema errors and
cross-references together — and a duplicate user key says which key."""
from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from crm_core.config import SAMPLE_CONFIG_PATH

runner = CliRunner()


def _check(tmp_path: Path, extra: str) -> tuple[int, str]:
    path = tmp_path / "team.toml"
    path.write_text(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8") + extra, encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(path)])
    return result.exit_code, result.output


def _user_count() -> int:
    return SAMPLE_CONFIG_PATH.read_text(encoding="utf-8").count("[[users]]")


BAD_ROLE_AND_UNKNOWN_MANAGER = """
[[users]]
key = "newbie"
name = "New Bie"
role = "intern"
manager = "wnag"
"""


def test_an_unknown_manager_is_reported_alongside_schema_errors(tmp_path: Path) -> None:
    code, out = _check(tmp_path, BAD_ROLE_AND_UNKNOWN_MANAGER)
    n = _user_count()
    assert code == 1
    assert f"users.{n}.role" in out  # the schema error
    assert f"users.{n}.manager: no user with key 'wnag' (did you mean 'wang'?)" in out  # and the reference


def test_a_duplicate_user_key_names_the_key_and_both_places(tmp_path: Path) -> None:
    code, out = _check(tmp_path, '\n[[users]]\nkey = "li"\nname = "Another Li"\nrole = "rep"\n')
    text = SAMPLE_CONFIG_PATH.read_text(encoding="utf-8")
    first = text[:text.index('key = "li"')].count("[[users]]") - 1
    assert code == 1
    assert f"users.{_user_count()}.key: user keys must be unique; 'li' is also users.{first}" in out


def test_a_duplicate_key_and_a_schema_error_in_one_run(tmp_path: Path) -> None:
    code, out = _check(tmp_path, '\n[[users]]\nkey = "li"\nname = "Another Li"\nrole = "boss"\n')
    n = _user_count()
    assert code == 1
    assert f"users.{n}.role" in out and f"users.{n}.key: user keys must be unique; 'li'" in out


def test_a_duplicate_sku_names_the_sku(tmp_path: Path) -> None:
    text = SAMPLE_CONFIG_PATH.read_text(encoding="utf-8")
    sku = text.split("[[products]]", 1)[1].split('sku = "', 1)[1].split('"', 1)[0]
    code, out = _check(tmp_path, f'\n[[products]]\nsku = "{sku.lower()}"\nname = {{ zh_CN = "重复", en = "Dup" }}\n'
                                 'list_price = "1"\n')
    assert code == 1
    assert f"skus must be unique; '{sku.lower()}' is also products." in out


def test_bracketed_key_paths_in_messages_are_printed_not_eaten(tmp_path: Path) -> None:
    code, out = _check(tmp_path, '\n[[fields.deal]]\nkey = "why_lost"\nname = { zh_CN = "输单原因", en = "Why lost" }\n'
                                 'type = "choice"\npicklist = "lost_reason"\n')
    assert code == 1
    assert "fields.deal.4.picklist: no [picklists.lost_reason] in this file" in out


def _with_pool(tmp_path: Path, lines: str) -> tuple[int, str]:
    text = SAMPLE_CONFIG_PATH.read_text(encoding="utf-8").replace("[pool]\n", "[pool]\n" + lines + "\n", 1)
    path = tmp_path / "team.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(path)])
    return result.exit_code, result.output


def test_pool_cards_for_a_tag_somebody_carries_are_accepted(tmp_path: Path) -> None:
    code, out = _with_pool(tmp_path, 'wecom_cards = true\nmembers_tag = "east"')
    assert code == 0, out
    assert _with_pool(tmp_path, "wecom_cards = true")[0] == 0  # every rep with a WeCom id


def test_a_pool_members_tag_nobody_carries_is_refused_with_the_tags_in_use(tmp_path: Path) -> None:
    code, out = _with_pool(tmp_path, 'wecom_cards = true\nmembers_tag = "eats"')
    assert code == 1
    assert "pool.members_tag: no [[users]] has the tag 'eats' (did you mean 'east'?" in out and "intl" in out


def test_a_pool_members_tag_without_wecom_cards_says_what_to_add(tmp_path: Path) -> None:
    code, out = _with_pool(tmp_path, 'members_tag = "east"')
    assert code == 1 and "pool.members_tag: only used with pool.wecom_cards = true" in out


def test_a_pool_members_tag_whose_people_have_no_wecom_id_is_refused(tmp_path: Path) -> None:
    code, out = _with_pool(tmp_path, 'wecom_cards = true\nmembers_tag = "intl"')  # Sam and Emma: Slack only
    assert code == 1 and "nobody tagged 'intl' has a wecom id" in out


def test_an_unknown_pool_setting_is_refused(tmp_path: Path) -> None:
    code, out = _with_pool(tmp_path, "wecom_card = true")
    assert code == 1 and "pool.wecom_card: unknown setting (did you mean 'wecom_cards'?)" in out


def test_a_time_zone_that_is_a_region_not_a_zone_is_refused_with_its_path(tmp_path: Path) -> None:
    code, out = _check(tmp_path, '\n[[users]]\nkey = "pat"\nname = "Pat"\nrole = "rep"\ntimezone = "America"\n')
    assert code == 1 and f"users.{_user_count()}.timezone" in out and "unknown timezone 'America'" in out
    assert "Traceback" not in out
