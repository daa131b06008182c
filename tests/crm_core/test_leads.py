"""Leads: validation, dedupe, scoring, round-robin assignment, first-response clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm_core.errors import InvalidValue
from crm_core.events import LeadAssigned
from crm_core.models import Lead, User
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.leads import LeadInput, do_create_lead, same_company_lead
from cards.errors import error_text


def create(wiring, data: LeadInput, actor_key: str | None = None):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        actor = uow.session.scalar(select(User).where(User.key == actor_key)) if actor_key else None
        result = do_create_lead(uow, data, actor=actor, now=wiring.clock.now())
        events = list(uow.events)
        return result.lead.id, result.created, result.matched_on, result.lead.owner.key, events


def lead_count(wiring) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count(Lead.id))) or 0


class TestDedupe:
    @pytest.mark.parametrize("second", ["某某科技（深圳）有限公司", "某某科技", "深圳市某某科技有限公司"])
    def test_the_same_name_at_any_spelling_of_the_company_is_one_person(self, wiring, second):  # type: ignore[no-untyped-def]
        first_id, created, _, _, _ = create(wiring, LeadInput(name="张三", company="深圳某某科技有限公司"), "li")
        again_id, created2, matched, _, _ = create(wiring, LeadInput(name="张三", company=second), "li")
        assert created and not created2
        assert again_id == first_id and matched == "name"
        assert lead_count(wiring) == 1

    @pytest.mark.parametrize("second", ["某某科技（深圳）有限公司", "深圳市某某科技有限公司"])
    def test_another_person_at_the_same_company_is_a_new_lead(self, wiring, second):  # type: ignore[no-untyped-def]
        first_id, *_ = create(wiring, LeadInput(name="张三", company="深圳某某科技有限公司"), "li")
        again_id, created, matched, *_ = create(wiring, LeadInput(name="李四", company=second), "li")
        assert created and again_id != first_id and matched is None
        assert lead_count(wiring) == 2

    def test_acme_spellings_are_one_company_but_bob_is_not_ann(self, wiring):  # type: ignore[no-untyped-def]
        a, *_ = create(wiring, LeadInput(name="Ann", company="Acme Inc."), "emma")
        b, created, matched, *_ = create(wiring, LeadInput(name="Bo", company="ACME, Inc"), "emma")
        assert a != b and created and matched is None
        c, created, matched, *_ = create(wiring, LeadInput(name="ann", company="ACME, Inc"), "emma")
        assert a == c and not created and matched == "name"

    def test_a_namesake_at_the_same_company_of_another_city_is_another_person(self, wiring):  # type: ignore[no-untyped-def]
        """张伟 of 广州华星科技 was merged into 张伟 of 深圳华星科技有限公司: the company key leaves places out, and a
        name at a company was one person. Two cities are two companies, so two people; and the third 张伟, of no
        stated city, is still taken for the first."""
        sz, *_ = create(wiring, LeadInput(name="张伟", company="深圳华星科技有限公司", phone="13800138000"), "li")
        gz, created, matched, *_ = create(wiring, LeadInput(name="张伟", company="广州华星科技", email="zw@gz.example"), "li")
        assert created and gz != sz and matched is None
        with wiring.session_factory() as s:
            assert s.get(Lead, sz).phone == "+8613800138000" and s.get(Lead, sz).email is None  # nothing merged in
            assert s.get(Lead, gz).company == "广州华星科技"
        again, created, matched, *_ = create(wiring, LeadInput(name="张伟", company="广州华星科技", email="zw@gz.example"), "li")
        assert again == gz and not created and matched == "email"  # the Guangzhou one is found by what it holds
        with wiring.runner.uow() as uow:  # and is not called "the same company as" the Shenzhen one
            assert same_company_lead(uow, uow.session.get(Lead, gz)) is None
        same, created, matched, *_ = create(wiring, LeadInput(name="张伟", company="华星科技"), "li")
        assert same == sz and matched == "name"
        assert lead_count(wiring) == 2

    def test_different_companies_stay_apart(self, wiring):  # type: ignore[no-untyped-def]
        create(wiring, LeadInput(name="Ann", company="Acme Inc."), "emma")
        _, created, *_ = create(wiring, LeadInput(name="Ann", company="Acme Robotics"), "emma")
        assert created and lead_count(wiring) == 2

    def test_same_email_in_other_case_is_a_duplicate_and_updates_source_and_tags(self, wiring):  # type: ignore[no-untyped-def]
        lid, *_ = create(wiring, LeadInput(name="Ann", email="ann@acme.com", source="web"), "emma")
        lid2, created, matched, *_ = create(wiring, LeadInput(name="Ann B", email="ANN@Acme.com ", source="event",
                                                               tags=["expo"], phone="13800138000"), "emma")
        assert lid2 == lid and not created and matched == "email"
        with wiring.session_factory() as s:
            lead = s.get(Lead, lid)
            assert lead.last_source == "event" and lead.source == "web"
            assert "expo" in lead.tags and "src:event" in lead.tags
            assert lead.phone == "+8613800138000"  # an empty field is filled, nothing is overwritten
            assert lead.name == "Ann"

    def test_same_phone_in_other_format_is_a_duplicate(self, wiring):  # type: ignore[no-untyped-def]
        lid, *_ = create(wiring, LeadInput(name="王五", phone="138 0013 8000"), "li")
        lid2, created, matched, *_ = create(wiring, LeadInput(name="王五", phone="+86 13800138000"), "li")
        assert (lid2, created, matched) == (lid, False, "phone")


class TestValidation:
    @pytest.mark.parametrize("field,value", [("email", "not-an-email"), ("phone", "12345"), ("phone", "call me"),
                                             ("source", "carrier-pigeon")])
    def test_bad_values_are_refused_and_nothing_is_created(self, wiring, field, value):  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue) as info:
            create(wiring, LeadInput(name="X", **{field: value}), "li")
        assert field in error_text(info.value, "en")
        assert lead_count(wiring) == 0

    @pytest.mark.parametrize("phone,normal", [("010-12345678", "+861012345678"), ("0755-8888 6666", "+8675588886666"),
                                              ("+44 20 7946 0958", "+442079460958")])
    def test_landlines_and_international_numbers_are_accepted(self, wiring, phone, normal):  # type: ignore[no-untyped-def]
        lid, *_ = create(wiring, LeadInput(name="X", phone=phone), "li")
        with wiring.session_factory() as s:
            assert s.get(Lead, lid).phone == normal


class TestScoring:
    def test_score_adds_source_and_fit_weights(self, wiring):  # type: ignore[no-untyped-def]
        # referral 40 + software 20 + east 5 + ENT 15 + email 10 + company 10 = 100
        lid, *_ = create(wiring, LeadInput(name="A", company="Foo", email="a@foo.com", source="referral",
                                           industry="software", region="east", product="ENT"), "li")
        lid2, *_ = create(wiring, LeadInput(name="B", source="chat"), "li")
        with wiring.session_factory() as s:
            assert s.get(Lead, lid).score == 100
            assert s.get(Lead, lid2).score == 10


class TestAssignment:
    def test_rep_created_lead_stays_with_the_rep(self, wiring):  # type: ignore[no-untyped-def]
        *_, owner, events = create(wiring, LeadInput(name="A", region="intl"), "li")
        assert owner == "li"
        assert not [e for e in events if isinstance(e, LeadAssigned)]

    def test_api_leads_round_robin_inside_the_region_pool(self, wiring):  # type: ignore[no-untyped-def]
        owners = [create(wiring, LeadInput(name=f"L{i}", region="east"))[3] for i in range(5)]
        # east pool: the reps tagged east (li, han; manager wang carries the tag but is not a rep)
        assert owners == ["li", "han", "li", "han", "li"]

    def test_away_reps_are_skipped(self, wiring):  # type: ignore[no-untyped-def]
        with wiring.session_factory.begin() as s:
            s.scalar(select(User).where(User.key == "li")).away = True
        owners = [create(wiring, LeadInput(name=f"L{i}", region="east"))[3] for i in range(4)]
        assert owners == ["han"] * 4

    def test_no_matching_rule_goes_round_robin_over_all_reps(self, wiring):  # type: ignore[no-untyped-def]
        owners = {create(wiring, LeadInput(name=f"L{i}", region="north"))[3] for i in range(30)}
        with wiring.session_factory() as s:
            reps = set(s.scalars(select(User.key).where(User.role == "rep")))
        assert owners == reps

    def test_assignee_of_an_api_lead_gets_a_new_lead_notification(self, wiring, outbox_rows):  # type: ignore[no-untyped-def]
        # No explicit flush: every unit of work of the transaction owner turns its events into outbox rows.
        with wiring.runner.uow() as uow:
            result = do_create_lead(uow, LeadInput(name="Zed", region="intl"), actor=None, now=wiring.clock.now())
            owner_id = result.lead.owner_id
        rows = outbox_rows("lead.assigned")
        assert len(rows) == 1 and rows[0].target_id == owner_id and rows[0].status == "pending"
        assert "Zed" in rows[0].payload["title"]


class TestFirstResponseClock:
    def test_clock_starts_at_assignment_and_stops_at_first_activity(self, wiring, clock):  # type: ignore[no-untyped-def]
        lid, *_ = create(wiring, LeadInput(name="A", region="east"))
        with wiring.session_factory() as s:
            lead = s.get(Lead, lid)
            assert lead.assigned_at == clock.now()
            assert lead.first_response_due_at == clock.now() + timedelta(minutes=15)
            owner_key = lead.owner.key
        clock.advance(minutes=7)
        with wiring.runner.uow() as uow:
            owner = uow.session.scalar(select(User).where(User.key == owner_key))
            do_log_activity(uow, owner, Ref("lead", lid), "call", "first call", now=clock.now())
        clock.advance(minutes=30)
        with wiring.runner.uow() as uow:
            owner = uow.session.scalar(select(User).where(User.key == owner_key))
            do_log_activity(uow, owner, Ref("lead", lid), "note", "later", now=clock.now())
        with wiring.session_factory() as s:
            assert s.get(Lead, lid).first_responded_at == clock.now() - timedelta(minutes=30)
