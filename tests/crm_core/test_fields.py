"""Declared fields, picklists and input limits (crm_core/fields.py), against the real database."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from crm_core.config import SAMPLE_CONFIG_PATH, parse_config
from crm_core.errors import ConfigError, InvalidValue, UnknownField
from cards.format import picklist_label
from crm_core.fields import COMMAND_MAX, check_lost_reason, check_number, check_text, picklist_value
from crm_core.models import Deal, Lead
from crm_core.services.deals import do_create_deal, do_set_fields
from crm_core.services.leads import LeadInput, check_lead_input, do_create_lead
from crm_core.services.tickets import check_priority
from cards.errors import error_text
from tests.said import raises_said


def sample() -> dict:  # type: ignore[type-arg]
    return tomllib.loads(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8"))


def problems(data: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


class TestPicklists:
    @pytest.mark.parametrize("typed", ["event", "EVENT", "展会", "会展", "expo", "Trade show / event"])
    def test_every_spelling_of_a_choice_gives_its_key(self, config, typed):  # type: ignore[no-untyped-def]
        assert picklist_value(config, "source", "source", typed) == "event"

    def test_an_unknown_value_is_refused_listing_the_allowed_ones_in_both_languages(self, config):  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue) as exc:
            picklist_value(config, "region", "region", "mars")
        assert "east (East)" in error_text(exc.value, "en") and "intl (International)" in error_text(exc.value, "en")
        assert "地区「mars」无效" in error_text(exc.value, "zh_CN") and "华东（east）" in error_text(exc.value, "zh_CN")

    def test_labels_follow_the_readers_language(self, config):  # type: ignore[no-untyped-def]
        assert picklist_label(config, "source", "event", "zh_CN") == "展会"
        assert picklist_label(config, "source", "event", "en") == "Trade show / event"

    def test_without_a_picklist_the_field_stays_free_text(self):  # type: ignore[no-untyped-def]
        data = sample()
        del data["picklists"]["region"]
        cfg = parse_config(data)
        assert picklist_value(cfg, "region", "region", "Mars") == "mars"

    @pytest.mark.parametrize("typed,key", [("紧急", "urgent"), ("Urgent", "urgent"), ("p2", "high"), ("普通", "normal"),
                                           ("低", "low")])
    def test_ticket_priorities_take_chinese_labels(self, config, typed, key):  # type: ignore[no-untyped-def]
        assert check_priority(typed, config) == key

    def test_lost_reason_is_free_text_unless_a_picklist_is_declared(self, config):  # type: ignore[no-untyped-def]
        assert check_lost_reason(config, " 价格太高 a=b ") == "价格太高 a=b"
        data = sample()
        data["picklists"]["lost_reason"] = {"choices": [{"key": "price", "zh_CN": "价格", "en": "Price"},
                                                        {"key": "competitor", "zh_CN": "竞品", "en": "Competitor"}]}
        cfg = parse_config(data)
        assert check_lost_reason(cfg, "价格") == "price"
        with raises_said(InvalidValue, "price"):
            check_lost_reason(cfg, "the weather")


class TestLimits:
    def test_control_characters_are_refused_but_free_text_keeps_newlines_and_tabs(self):  # type: ignore[no-untyped-def]
        with raises_said(InvalidValue, r"\\x00"):
            check_text("company", "Acme\x00Corp", 300)
        with raises_said(InvalidValue, r"\\x1b"):
            check_text("text", "hi\x1b[31m", 5000, multiline=True)
        with pytest.raises(InvalidValue):
            check_text("name", "Ann\nLee", 200)
        assert check_text("text", "line 1\n\tline 2", 5000, multiline=True) == "line 1\n\tline 2"

    def test_too_long_is_refused_with_the_limit_never_cut(self):  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue) as exc:
            check_text("company", "x" * 100_000, 300)
        assert "at most 300 characters (this one has 100000)" in error_text(exc.value, "en")
        assert "最多 300 个字符" in error_text(exc.value, "zh_CN") and len(error_text(exc.value, "en")) < 300
        assert check_text("company", "x" * 300, 300) == "x" * 300

    @pytest.mark.parametrize("raw", ["1e400", "9" * 30, "-1", "NaN", "Infinity", "1" + "0" * 10_000, "12abc"])
    def test_numbers_out_of_range_are_refused(self, raw):  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue):
            check_number("budget", raw)

    def test_command_limit_is_documented_size(self):  # type: ignore[no-untyped-def]
        assert COMMAND_MAX == 10_000


class TestLeadFields:
    def test_chinese_source_alias_and_a_declared_field_are_stored_as_keys(self, wiring, as_user, clock):  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            lead = do_create_lead(uow, LeadInput(name="王五", source="展会", region="华东", industry="银行",
                                                 fields={"客户级别": "重点"}), actor=as_user("li"), now=clock.now()).lead
        with wiring.session_factory() as s:
            stored = s.get(Lead, lead.id)
            assert (stored.source, stored.region, stored.industry, stored.fields) == ("event", "east", "finance",
                                                                                     {"level": "a"})

    @pytest.mark.parametrize("data,what", [
        (LeadInput(name="Carl", fields={"amount": "25万"}), "lead convert"),
        (LeadInput(name="Carl", fields={"colour": "red"}), "Unknown field"),
        (LeadInput(name="Carl", region="mars"), "region"),
        (LeadInput(name="Carl", company="x" * 100_000), "at most 300"),
        (LeadInput(name="Ca\x00rl"), "\\x00"),
        (LeadInput(name="Carl", email="a" * 400 + "@x.com"), "at most 320"),
        (LeadInput(name="Carl", phone="1" * 40), "at most 32"),
        (LeadInput(name="Carl", tags=[f"t{i}" for i in range(21)]), "at most 20 tags"),
    ])
    def test_bad_input_creates_nothing(self, wiring, as_user, clock, data, what):  # type: ignore[no-untyped-def]
        with pytest.raises((InvalidValue, UnknownField)) as exc:
            with wiring.runner.uow() as uow:
                do_create_lead(uow, data, actor=as_user("li"), now=clock.now())
        assert what in error_text(exc.value, "en")
        with wiring.session_factory() as s:
            assert s.scalar(select(func.count(Lead.id))) == 0

    def test_unknown_lead_field_suggests_the_nearest(self, config):  # type: ignore[no-untyped-def]
        with pytest.raises(UnknownField) as exc:
            check_lead_input(LeadInput(name="A", fields={"levle": "a"}), config)
        assert "Did you mean: level?" in error_text(exc.value, "en")
        assert "你是不是想输入：level" in error_text(exc.value, "zh_CN")


class TestDealSet:
    def _deal(self, wiring, as_user, clock) -> int:  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            return do_create_deal(uow, as_user("li"), account_name="Acme", amount=None, name=None, close_date=None,
                                  now=clock.now()).id

    def _set(self, wiring, as_user, clock, deal_id, values):  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            return do_set_fields(uow, as_user("li"), uow.session.get(Deal, deal_id), values, now=clock.now())

    def test_unknown_field_is_refused_with_a_suggestion_and_nothing_stored(self, wiring, as_user, clock):  # type: ignore[no-untyped-def]
        deal_id = self._deal(wiring, as_user, clock)
        with pytest.raises(UnknownField) as exc:
            self._set(wiring, as_user, clock, deal_id, {"budget": "yes", "colour": "red"})
        assert "Unknown field “colour”. Did you mean:" in error_text(exc.value, "en")
        with wiring.session_factory() as s:
            assert s.get(Deal, deal_id).fields == {}

    def test_stage_required_names_declared_fields_and_owner_are_known(self, wiring, as_user, clock):  # type: ignore[no-untyped-def]
        deal_id = self._deal(wiring, as_user, clock)
        changed = self._set(wiring, as_user, clock, deal_id, {"budget": "yes", "decision_maker": "CFO",
                                                              "客户级别": "B类", "owner": "tom"})
        assert changed == ["budget", "decision_maker", "level"]
        with wiring.session_factory() as s:
            assert s.get(Deal, deal_id).fields == {"budget": "yes", "decision_maker": "CFO", "level": "b"}

    @pytest.mark.parametrize("values,what", [({"competitor": "x" * 201}, "at most 200"),
                                             ({"level": "Z"}, "one of a"),
                                             ({"amount": "1e400"}, "below 10^15"),
                                             ({"amount": "9" * 30}, "below 10^15"),
                                             ({"name": "x" * 301}, "at most 300"),
                                             ({"contact": "x" * 201}, "at most 200"),
                                             ({"budget": "x" * 501}, "at most 500"),
                                             ({"budget": "y\x00es"}, "\\x00")])
    def test_bad_values_change_nothing(self, wiring, as_user, clock, values, what):  # type: ignore[no-untyped-def]
        deal_id = self._deal(wiring, as_user, clock)
        with pytest.raises(InvalidValue) as exc:
            self._set(wiring, as_user, clock, deal_id, {"close": "2027-03-31", **values})
        assert what in error_text(exc.value, "en")
        with wiring.session_factory() as s:
            deal = s.get(Deal, deal_id)
            assert deal.close_date is None and deal.fields == {} and deal.name == "Acme"


class TestCheckConfig:
    def test_the_sample_declares_picklists_and_fields(self, config):  # type: ignore[no-untyped-def]
        assert set(config.picklists) == {"source", "industry", "region", "level", "priority"}
        assert [f.key for f in config.fields.deal] == ["level", "competitor", "budget", "decision_maker"]

    def test_problems_inside_a_section_are_reported_by_key_path(self):  # type: ignore[no-untyped-def]
        data = sample()
        data["picklists"]["source"]["choices"].append({"key": "expo2", "zh_CN": "博览会", "en": "Expo", "aliases": ["expo"]})
        data["fields"]["lead"].append({"key": "size", "name": {"zh_CN": "规模", "en": "Size"}, "type": "choice"})
        data["fields"]["deal"].append({"key": "Bad Key", "name": {"zh_CN": "坏", "en": "Bad"}})
        found = dict(problems(data))
        assert "duplicate alias 'expo' (also used by 'event')" in found["picklists.source"]
        assert "a choice field needs choices" in found["fields.lead.1"]
        assert "fields.deal.4.key" in found

    def test_problems_across_sections_are_reported_by_key_path(self):  # type: ignore[no-untyped-def]
        data = sample()
        data["picklists"]["priority"]["choices"].append({"key": "critical", "zh_CN": "致命", "en": "Critical"})
        data["fields"]["lead"].append({"key": "company", "name": {"zh_CN": "公司2", "en": "Company 2"}})
        data["fields"]["deal"].append({"key": "tier", "name": {"zh_CN": "等级", "en": "Tier"}, "type": "choice",
                                       "picklist": "lost_reason"})
        data["fields"]["deal"].append({"key": "rival", "name": {"zh_CN": "竞争对手", "en": "Rival"}})
        data["assignment"]["rules"].append({"match": {"region": "mars"}, "pool_tag": "east"})
        found = dict(problems(data))
        assert "'mars' is not a key of [picklists.region]" in found["assignment.rules.3.match.region"]
        assert "built-in lead field" in found["fields.lead.1.key"]
        assert "no [picklists.lost_reason]" in found["fields.deal.4.picklist"]
        assert "also used by field 'competitor'" in found["fields.deal.5"]
        assert "has no [sla.ticket.critical]" in found["picklists.priority.choices.4.key"]

    def test_an_unknown_picklist_name_is_a_problem(self):  # type: ignore[no-untyped-def]
        data = sample()
        data["picklists"]["colour"] = {"choices": [{"key": "red", "zh_CN": "红", "en": "Red"}]}
        assert any(path.startswith("picklists.colour") for path, _ in problems(data))

    def test_check_config_command_prints_the_paths(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        text = SAMPLE_CONFIG_PATH.read_text(encoding="utf-8") + (
            '\n[[fields.lead]]\nkey = "size"\nname = { zh_CN = "规模", en = "Size" }\ntype = "choice"\n')
        bad = tmp_path / "bad.toml"
        bad.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(app, ["check-config", str(bad)])
        assert result.exit_code == 1
        assert "fields.lead.1" in result.output and "a choice field needs choices" in result.output
