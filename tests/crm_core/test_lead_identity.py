"""Leads are people: dedupe by e-mail, phone or name at a company, enforced by a unique key in the database;
the same company with another person is a new lead; merges are recorded and can be split back within 30 days."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from crm_core.db import make_engine
from crm_core.errors import Conflict, Forbidden
from crm_core.migrate import alembic_config, upgrade
from crm_core.models import Activity, Lead, LeadIdentity, LeadMerge, Task, User
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.lead_identity import identity_keys, normalize_person_name
from crm_core.services.lead_merge import UNDO_DAYS, do_merge_leads, do_split, last_merge_of, merge_to_split
from crm_core.services.leads import LeadInput, LeadResult, do_create_lead
from crm_core.services.permissions import can_access
from cards.errors import error_text


def user(uow, key: str) -> User:  # type: ignore[no-untyped-def]
    return uow.session.scalar(select(User).where(User.key == key))


def add(wiring, actor_key: str | None = None, **fields) -> LeadResult:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        actor = user(uow, actor_key) if actor_key else None
        result = do_create_lead(uow, LeadInput(**fields), actor=actor, now=wiring.clock.now())
        result.lead.owner  # load before the session closes
        if result.same_company is not None:
            result.same_company.owner
        return result


def open_leads(wiring) -> list[Lead]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return list(s.scalars(select(Lead).where(Lead.status == "open").order_by(Lead.id)))


def count(wiring, model) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


class TestOnePersonOneLead:
    def test_bob_at_anns_company_is_a_new_lead_linked_by_the_company(self, wiring):  # type: ignore[no-untyped-def]
        ann = add(wiring, "emma", name="Ann Lee", company="Acme Inc.", email="ann@acme.com")
        bob = add(wiring, "emma", name="Bob", company="ACME, Inc")
        assert ann.created and bob.created and bob.lead.id != ann.lead.id
        assert bob.same_company is not None and bob.same_company.id == ann.lead.id
        assert bob.lead.company_key == ann.lead.company_key  # the link to the same company
        assert [lead.name for lead in open_leads(wiring)] == ["Ann Lee", "Bob"]

    def test_ann_again_with_another_case_and_spacing_of_her_email_updates_her_lead(self, wiring):  # type: ignore[no-untyped-def]
        ann = add(wiring, "emma", name="Ann Lee", company="Acme Inc.", email="ann@acme.com")
        again = add(wiring, "emma", name="ann  LEE", email="  ANN@Acme.COM ", phone="+86 138-0013-8000",
                    source="event")
        assert not again.created and again.lead.id == ann.lead.id and again.matched_on == "email"
        assert again.lead.phone == "+8613800138000"  # a value the newcomer brought is kept
        assert again.merge is not None and again.merge.kind == "auto"
        assert again.merge.snapshot["phone"] == "+8613800138000" and again.merge.moved["filled"] == {
            "phone": "+8613800138000"}
        assert len(open_leads(wiring)) == 1

    def test_phone_in_two_formats_is_one_person(self, wiring):  # type: ignore[no-untyped-def]
        first = add(wiring, "li", name="王五", phone="+86 138-0013-8000")
        again = add(wiring, "li", name="王五", phone="13800138000")
        assert (again.created, again.lead.id, again.matched_on) == (False, first.lead.id, "phone")

    def test_li_si_at_the_same_shenzhen_company_is_his_own_lead_zhang_san_again_is_not(self, wiring):  # type: ignore[no-untyped-def]
        zs = add(wiring, "li", name="张三", company="深圳某某科技有限公司")
        ls = add(wiring, "li", name="李四", company="某某科技（深圳）有限公司")
        assert ls.created and ls.same_company is not None and ls.same_company.id == zs.lead.id
        again = add(wiring, "li", name="张三", company="深圳市某某科技有限公司", email="zs@mm.cn")
        assert not again.created and again.lead.id == zs.lead.id and again.matched_on == "name"
        assert again.lead.email == "zs@mm.cn"

    def test_a_differing_value_is_not_thrown_away(self, wiring):  # type: ignore[no-untyped-def]
        ann = add(wiring, "emma", name="Ann Lee", email="ann@acme.com", phone="13800138000", industry="software")
        again = add(wiring, "emma", name="Ann Lee", email="ann@acme.com", phone="13900139000", industry="retail")
        assert again.lead.phone == "+8613800138000"  # not overwritten ...
        assert again.differences == {"phone": "+8613900139000", "industry": "retail"}  # ... and not lost
        with wiring.session_factory() as s:
            merge = s.scalar(select(LeadMerge).where(LeadMerge.kept_lead_id == ann.lead.id))
            assert merge.differences == again.differences and merge.snapshot["phone"] == "+8613900139000"

    def test_keys_are_unique_in_the_database_not_only_checked_before(self, wiring):  # type: ignore[no-untyped-def]
        ann = add(wiring, "emma", name="Ann", email="ann@acme.com")
        with pytest.raises(IntegrityError):
            with wiring.session_factory.begin() as s:
                other = Lead(name="Ann 2", source="chat", tags=[], status="open", owner_id=ann.lead.owner_id,
                             assigned_at=wiring.clock.now(), created_at=wiring.clock.now(),
                             updated_at=wiring.clock.now())
                s.add(other)
                s.flush()
                s.add(LeadIdentity(kind="email", value="ann@acme.com", lead_id=other.id))
        assert count(wiring, Lead) == 1

    def test_names_normalise_case_spacing_and_width(self) -> None:
        assert normalize_person_name("  Ann   LEE ") == normalize_person_name("ann lee") == "ann lee"
        assert normalize_person_name("ＡＮＮ Lee") == "ann lee"
        assert identity_keys(name="Bob", company_key=None, email=None, phone=None) == []


def _log(wiring, actor_key: str, lead_id: int, words: str) -> None:  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        do_log_activity(uow, user(uow, actor_key), Ref("lead", lead_id), "note", words, now=wiring.clock.now())


class TestMergeAndSplit:
    def _two_leads(self, wiring):  # type: ignore[no-untyped-def]
        ann = add(wiring, "emma", name="Ann Lee", company="Acme Inc.", email="ann@acme.com")
        bob = add(wiring, "emma", name="Bob", company="ACME, Inc", phone="13800138000", industry="retail")
        _log(wiring, "emma", ann.lead.id, "called Ann")
        _log(wiring, "emma", bob.lead.id, "called Bob")
        with wiring.session_factory.begin() as s:
            s.add(Task(title="send Bob the deck", owner_id=bob.lead.owner_id, lead_id=bob.lead.id,
                       due_date=date(2026, 3, 5), created_at=wiring.clock.now()))
        return ann.lead.id, bob.lead.id

    def test_merge_moves_everything_and_split_restores_both(self, wiring):  # type: ignore[no-untyped-def]
        ann_id, bob_id = self._two_leads(wiring)
        with wiring.runner.uow() as uow:
            merge = do_merge_leads(uow, user(uow, "emma"), bob_id, ann_id, now=wiring.clock.now())
            merge_id = merge.id
        with wiring.session_factory() as s:
            ann, bob = s.get(Lead, ann_id), s.get(Lead, bob_id)
            assert bob.status == "merged" and [lead.id for lead in open_leads(wiring)] == [ann_id]
            assert (ann.phone, ann.industry) == ("+8613800138000", "retail")  # empty fields filled
            assert sorted(s.scalars(select(Activity.text).where(Activity.lead_id == ann_id))) == ["called Ann",
                                                                                                 "called Bob"]
            assert s.scalar(select(Task.lead_id)) == ann_id
            record = s.get(LeadMerge, merge_id)
            assert record.snapshot["name"] == "Bob" and record.snapshot["status"] == "open"
            assert len(record.moved["activities"]) == 1 and len(record.moved["tasks"]) == 1
            assert ["phone", "+8613800138000"] in record.moved["identities"]
        # Bob's phone now finds Ann's lead
        assert add(wiring, "emma", name="Robert", phone="138 0013 8000").lead.id == ann_id
        with wiring.runner.uow() as uow:  # split the most recent merge into Ann first (Robert), then Bob
            do_split(uow, user(uow, "emma"), merge_to_split(uow, user(uow, "emma"), ann_id).id,
                     now=wiring.clock.now())
        with wiring.runner.uow() as uow:
            result = do_split(uow, user(uow, "emma"), merge_to_split(uow, user(uow, "emma"), bob_id).id,
                              now=wiring.clock.now())
            assert result.restored.id == bob_id
        with wiring.session_factory() as s:
            ann, bob = s.get(Lead, ann_id), s.get(Lead, bob_id)
            assert bob.status == "open" and (ann.phone, ann.industry) == (None, None)
            assert (bob.phone, bob.industry) == ("+8613800138000", "retail")
            assert list(s.scalars(select(Activity.text).where(Activity.lead_id == bob_id))) == ["called Bob"]
            assert list(s.scalars(select(Activity.text).where(Activity.lead_id == ann_id))) == ["called Ann"]
            assert s.scalar(select(Task.lead_id)) == bob_id
            assert s.scalar(select(LeadIdentity.lead_id).where(LeadIdentity.kind == "phone")) == bob_id
        assert add(wiring, "emma", name="Bob", phone="13800138000").lead.id == bob_id

    def test_an_automatic_merge_splits_back_into_its_own_lead(self, wiring):  # type: ignore[no-untyped-def]
        ann = add(wiring, "emma", name="Ann Lee", email="ann@acme.com")
        add(wiring, None, name="Anne Leigh", email="ANN@acme.com", phone="13900139000", source="web")
        with wiring.runner.uow() as uow:
            emma = user(uow, "emma")
            result = do_split(uow, emma, merge_to_split(uow, emma, ann.lead.id).id, now=wiring.clock.now())
            new_id = result.restored.id
        with wiring.session_factory() as s:
            kept, new = s.get(Lead, ann.lead.id), s.get(Lead, new_id)
            assert kept.phone is None and kept.duplicate_hits == 0 and kept.last_source == "chat"
            assert (new.name, new.email, new.phone, new.source) == ("Anne Leigh", "ann@acme.com", "+8613900139000",
                                                                    "web")
            assert s.scalar(select(LeadIdentity.lead_id).where(LeadIdentity.kind == "phone")) == new_id
            assert s.scalar(select(LeadMerge.split_lead_id)) == new_id

    def test_undo_takes_back_the_actors_own_latest_merge_only(self, wiring):  # type: ignore[no-untyped-def]
        ann_id, bob_id = self._two_leads(wiring)
        with wiring.runner.uow() as uow:
            do_merge_leads(uow, user(uow, "emma"), bob_id, ann_id, now=wiring.clock.now())
        with wiring.runner.uow() as uow, pytest.raises(Conflict):
            last_merge_of(uow, user(uow, "sam"))
        with wiring.runner.uow() as uow:
            emma = user(uow, "emma")
            do_split(uow, emma, last_merge_of(uow, emma).id, now=wiring.clock.now())
        assert len(open_leads(wiring)) == 2

    def test_after_thirty_days_a_split_is_refused_clearly(self, wiring):  # type: ignore[no-untyped-def]
        ann_id, bob_id = self._two_leads(wiring)
        with wiring.runner.uow() as uow:
            do_merge_leads(uow, user(uow, "emma"), bob_id, ann_id, now=wiring.clock.now())
        wiring.clock.advance(days=UNDO_DAYS + 1)
        with wiring.runner.uow() as uow, pytest.raises(Conflict) as info:
            emma = user(uow, "emma")
            do_split(uow, emma, merge_to_split(uow, emma, bob_id).id, now=wiring.clock.now())
        assert "older than 30 days" in error_text(info.value, "en") and "超过 30 天" in error_text(info.value, "zh_CN")
        assert len(open_leads(wiring)) == 1

    def test_a_rep_cannot_merge_a_lead_they_cannot_see(self, wiring):  # type: ignore[no-untyped-def]
        emma_lead = add(wiring, "emma", name="Ann", email="ann@acme.com").lead.id
        tom_lead = add(wiring, "tom", name="Ann L", email="ann.l@acme.com").lead.id
        with wiring.runner.uow() as uow, pytest.raises(Forbidden):
            do_merge_leads(uow, user(uow, "emma"), tom_lead, emma_lead, now=wiring.clock.now())
        assert len(open_leads(wiring)) == 2

    def test_merging_a_lead_twice_or_into_itself_is_refused(self, wiring):  # type: ignore[no-untyped-def]
        ann_id, bob_id = self._two_leads(wiring)
        with wiring.runner.uow() as uow:
            do_merge_leads(uow, user(uow, "emma"), bob_id, ann_id, now=wiring.clock.now())
        with wiring.runner.uow() as uow, pytest.raises(Conflict):
            do_merge_leads(uow, user(uow, "emma"), bob_id, ann_id, now=wiring.clock.now())
        from crm_core.errors import InvalidValue
        with wiring.runner.uow() as uow, pytest.raises(InvalidValue):
            do_merge_leads(uow, user(uow, "emma"), ann_id, ann_id, now=wiring.clock.now())
        assert count(wiring, LeadMerge) == 1


class TestConcurrency:
    """20 submissions of one person at once leave one lead and no error, on SQLite and PostgreSQL alike."""

    N = 20

    def _chat_in_threads(self, wiring, user_id) -> list[str]:  # type: ignore[no-untyped-def]
        barrier = threading.Barrier(self.N)
        actors = [user_id("emma"), user_id("sam")]  # a rep (keeps the lead) and a manager (round-robin)

        def submit(n: int) -> str:
            barrier.wait()
            reply = wiring.runner.run_text(actors[n % 2], f'lead add "Ann Lee" company="Acme Inc." '
                                                          f'email=Ann@Acme.com phone=1380013800{n % 10}')
            return reply.cards[0].kind

        with ThreadPoolExecutor(max_workers=self.N) as pool:
            return list(pool.map(submit, range(self.N)))

    def _check_one_lead(self, wiring) -> None:  # type: ignore[no-untyped-def]
        leads = open_leads(wiring)
        assert len(leads) == 1 and count(wiring, Lead) == 1
        assert count(wiring, LeadMerge) == self.N - 1  # every duplicate is recorded and can be split back
        with wiring.session_factory() as s:
            assert s.scalar(select(Lead.duplicate_hits)) == self.N - 1

    def test_twenty_chat_submissions_of_one_person_at_once(self, wiring, user_id):  # type: ignore[no-untyped-def]
        kinds = self._chat_in_threads(wiring, user_id)
        # no error card, no internal error: the lead's card to whoever may see its owner's records, else (emma,
        # when sam's submission won and the round-robin gave the lead to a rep of another team) "already known:
        # L-1 belongs to …"; the submission that created it shows its card whoever owns it
        actors = [user_id("emma"), user_id("sam")]
        with wiring.session_factory() as s:
            owner = s.scalar(select(Lead.owner_id))
            sees = {a: can_access(s, s.get(User, a), owner) for a in actors}
        expected = ["lead" if sees[actors[n % 2]] else "info" for n in range(self.N)]
        assert sum(k != e for k, e in zip(kinds, expected)) <= 1 and set(kinds) <= {"lead", "info"}, (kinds, sees)
        self._check_one_lead(wiring)

    @pytest.mark.postgres
    def test_twenty_chat_submissions_of_one_person_at_once_on_postgres(self, wiring, user_id, engine):  # type: ignore[no-untyped-def]
        assert engine.dialect.name == "postgresql"
        self.test_twenty_chat_submissions_of_one_person_at_once(wiring, user_id)

    def test_concurrent_first_leads_of_a_fresh_database_share_one_cursor(self, wiring):  # type: ignore[no-untyped-def]
        with wiring.session_factory() as s:
            assert s.execute(text("SELECT count(*) FROM assignment_cursors")).scalar() == 0
        barrier = threading.Barrier(self.N)

        def submit(n: int) -> int:
            barrier.wait()
            return add(wiring, None, name=f"Person {n}", email=f"p{n}@x.com", region="east").lead.owner_id

        with ThreadPoolExecutor(max_workers=self.N) as pool:
            owners = list(pool.map(submit, range(self.N)))
        assert count(wiring, Lead) == self.N
        with wiring.session_factory() as s:
            keys = {uid: s.get(User, uid).key for uid in set(owners)}
            assert s.execute(text("SELECT count(*) FROM assignment_cursors")).scalar() == 1
        # the east pool (li, han) round-robins: ten each
        assert sorted(keys[o] for o in owners) == ["han"] * 10 + ["li"] * 10


def test_the_migration_keeps_old_duplicates_and_gives_each_key_to_the_oldest_lead(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO users (id, key, name, role, tags, away, active, created_at) "
                          "VALUES (1, 'li', '李雷', 'rep', '[]', 0, 1, '2026-01-01 00:00:00')"))
        common = {"source": "chat", "tags": "[]", "score": 0, "status": "open", "owner_id": 1,
                  "assigned_at": "2026-01-01 00:00:00", "reassign_count": 0, "duplicate_hits": 0,
                  "created_at": "2026-01-01 00:00:00", "updated_at": "2026-01-01 00:00:00"}
        leads = text("INSERT INTO leads (name, company, company_key, email, phone, source, tags, score, status, "
                     "owner_id, assigned_at, reassign_count, duplicate_hits, created_at, updated_at) VALUES "
                     "(:name, :company, :company_key, :email, :phone, :source, :tags, :score, :status, :owner_id, "
                     ":assigned_at, :reassign_count, :duplicate_hits, :created_at, :updated_at)")
        conn.execute(leads, [
            {**common, "name": "Ann", "company": "Acme", "company_key": "acme", "email": "ann@acme.com", "phone": None},
            {**common, "name": "Ann", "company": "Acme Inc", "company_key": "acme", "email": "ann@acme.com",
             "phone": "+8613800138000"},
            {**common, "name": "Bob", "company": "Acme", "company_key": "acme", "email": None, "phone": None},
        ])
    upgrade(engine)  # as `chatcrm db upgrade` does it (on SQLite: no cascades from table rebuilds)
    with engine.connect() as conn:
        rows = sorted(conn.execute(text("SELECT kind, value, lead_id FROM lead_identities")).all())
    engine.dispose()
    assert rows == [("email", "ann@acme.com", 1), ("name", "ann|acme", 1), ("name", "bob|acme", 3),
                    ("phone", "+8613800138000", 2)]
