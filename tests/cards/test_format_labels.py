"""Labels from the configuration in the reader's language: stage tasks (title_zh) and record fields."""
from __future__ import annotations

import tomllib
from typing import Any

import pytest

from cards.format import field_names, task_title
from crm_core.config import SAMPLE_CONFIG_PATH, load_config, parse_config
from crm_core.errors import ConfigError


def _sample() -> dict[str, Any]:
    return tomllib.loads(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8"))


def test_stage_tasks_read_in_the_readers_language_and_plain_strings_stay_valid() -> None:
    config = load_config(None)
    assert task_title(config, "Send the proposal", "zh_CN") == "发送方案"
    assert task_title(config, "Send the proposal", "zh_TW") == "发送方案"  # no Traditional label: Simplified
    assert task_title(config, "Send the proposal", "en") == "Send the proposal"
    assert task_title(config, "call the CFO back", "zh_CN") == "call the CFO back"  # a person's own task
    data = _sample()
    data["pipeline"]["stages"][0]["tasks"] = ["Confirm budget and timeline"]  # an older configuration
    old = parse_config(data)
    assert task_title(old, "Confirm budget and timeline", "zh_CN") == "Confirm budget and timeline"


def test_a_misspelt_or_empty_task_label_is_refused_by_check_config() -> None:
    for bad in ({"title": "Send", "title_cn": "发送"}, {"title": "Send", "title_zh": ""}):
        data = _sample()
        data["pipeline"]["stages"][0]["tasks"] = [bad]
        with pytest.raises(ConfigError) as err:
            parse_config(data)
        assert "pipeline.stages.0.tasks" in str(err.value)


def test_fields_are_keys_for_english_readers_and_labels_for_chinese_ones() -> None:
    config = load_config(None)
    keys = ["amount", "close_date", "budget", "decision_maker", "level", "colour"]
    assert field_names(config, "deal", keys, "en") == "amount, close_date, budget, decision_maker, level, colour"
    assert field_names(config, "deal", keys, "zh_CN") == "金额、预计成交日期、预算、决策人、客户级别、colour"
    assert field_names(config, "contract", ["usage", "nps"], "zh_CN") == "使用率、NPS"


def test_a_list_inside_a_sentence_is_joined_the_readers_way() -> None:
    """The swarm reply named the invited teams with an English comma in a Chinese sentence."""
    from cards.builders.swarm import swarm_status_card
    from cards.model import Section

    def text(locale: str) -> str:
        card = swarm_status_card(locale, "D-7", "深圳某某", invite_tags=("presales", "legal"))
        return " ".join(b.text for b in card.blocks if isinstance(b, Section))

    assert "presales、legal" in text("zh_CN") and "presales, legal" in text("en")
