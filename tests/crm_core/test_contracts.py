"""Contracts: won deal → contract, health score arithmetic, renewal deals, the renewals window."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm_core.config import Health
from crm_core.errors import InvalidValue
from crm_core.models import Contract, Deal
from crm_core.services.contracts import (access_contract, create_renewal_deal, do_create_contract, do_set_contract,
                                         health_of, health_score, renewals_due)
from crm_core.services.closing import do_close
from crm_core.services.deals import do_create_deal
from crm_core.services.orders import do_create_order
from crm_core.services.permissions import visible_owner_ids
from crm_core.services.quotes import do_create_quote
from crm_core.services.tickets import do_open_ticket
from crm_core.services.users import user_by_key
from tests.conftest import T0
from cards.errors import error_text

TODAY = date(2026, 3, 2)  # T0 in Asia/Shanghai


def won_deal(wiring, key: str = "li", account: str = "Acme", amount: int = 120000,  # type: ignore[no-untyped-def]
             at: datetime = T0) -> int:
    with wiring.runner.uow() as uow:
        actor = user_by_key(uow.session, key)
        deal = do_create_deal(uow, actor, account_name=account, amount=Decimal(amount), name=None, close_date=None,
                              now=at)
        do_close(uow, actor, deal, won=True, reason=None, now=at)
        return deal.id


def contract_of(wiring, deal_id: int) -> Contract:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        contract = s.scalar(select(Contract).where(Contract.deal_id == deal_id))
        assert contract is not None
        return contract


class TestHealthScore:
    @pytest.mark.parametrize("usage,nps,tickets,overdue,points,score", [
        (80, 30, 1, 0, (32, 13, 15, 20), 80),  # the card's example: usage 80% → 32/40
        (100, None, 0, 0, (40, 10, 20, 20), 90),  # a new contract: NPS unknown counts as neutral
        (0, -100, 4, 2, (0, 0, 0, 0), 0),
        (0, -100, 9, 5, (0, 0, 0, 0), 0),  # never below zero
        (55, 0, 2, 1, (22, 10, 10, 10), 52),
        (33, 15, 3, 0, (13, 12, 5, 20), 50),  # 13.2 → 13, 11.5 → 12 (half up)
        (100, 100, 0, 0, (40, 20, 20, 20), 100),
    ])
    def test_each_part_is_its_share_of_the_weight(self, usage, nps, tickets, overdue, points, score):  # type: ignore[no-untyped-def]
        h = health_score(Health(), usage_pct=usage, nps=nps, open_tickets=tickets, overdue_payments=overdue)
        assert tuple(p.points for p in h.parts) == points
        assert tuple(p.weight for p in h.parts) == (40, 20, 20, 20)
        assert h.score == score == sum(points)

    def test_weights_come_from_the_config_and_are_scaled_to_100(self):  # type: ignore[no-untyped-def]
        h = health_score(Health(usage=50, nps=0, tickets=25, payments=25), usage_pct=50, nps=-100, open_tickets=0,
                         overdue_payments=0)
        assert [p.points for p in h.parts] == [25, 0, 25, 25] and h.score == 75
        h = health_score(Health(usage=10, nps=10, tickets=10, payments=10), usage_pct=50, nps=None, open_tickets=0,
                         overdue_payments=0)
        assert h.score == 75  # 30 of 40 points

    @pytest.mark.parametrize("score,band", [(100, "good"), (70, "good"), (69, "watch"), (40, "watch"), (39, "risk")])
    def test_bands(self, score, band):  # type: ignore[no-untyped-def]
        usage = score  # usage alone, with weights 100/0/0/0
        h = health_score(Health(usage=100, nps=0, tickets=0, payments=0), usage_pct=usage, nps=None, open_tickets=0,
                         overdue_payments=0)
        assert (h.score, h.band) == (score, band)


class TestWonDealBecomesAContract:
    def test_the_contract_starts_on_the_close_day_and_runs_the_default_term(self, wiring):  # type: ignore[no-untyped-def]
        deal_id = won_deal(wiring)
        c = contract_of(wiring, deal_id)
        with wiring.session_factory() as s:
            deal = s.get(Deal, deal_id)
            assert (c.account_id, c.owner_id, c.value, c.currency) == (deal.account_id, deal.owner_id,
                                                                       Decimal("120000.00"), "CNY")
        assert (c.start_date, c.end_date) == (TODAY, TODAY + timedelta(days=365))
        assert (c.usage_pct, c.nps, c.renewal_deal_id) == (100, None, None)

    def test_the_close_day_is_the_company_day(self, wiring):  # type: ignore[no-untyped-def]
        late_evening_utc = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)  # 01:00 on 3 March in Shanghai
        assert contract_of(wiring, won_deal(wiring, at=late_evening_utc)).start_date == date(2026, 3, 3)

    def test_a_lost_deal_makes_no_contract(self, wiring):  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            li = user_by_key(uow.session, "li")
            deal = do_create_deal(uow, li, account_name="Acme", amount=Decimal(5), name=None, close_date=None, now=T0)
            do_close(uow, li, deal, won=False, reason="budget", now=T0)
        with wiring.session_factory() as s:
            assert s.scalar(select(func.count(Contract.id))) == 0


class TestHealthOfAContract:
    def test_open_tickets_and_overdue_orders_of_the_account_lower_the_score(self, wiring):  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            li = user_by_key(uow.session, "li")
            deal = do_create_deal(uow, li, account_name="Acme", amount=Decimal(1200), name=None, close_date=None,
                                  now=T0)
            quote = do_create_quote(uow, li, deal.id, [("PRO", 1)], Decimal(0), now=T0)
            do_create_order(uow, li, quote.id, now=T0)  # due in 30 days
            do_close(uow, li, deal, won=True, reason=None, now=T0)
            sup = user_by_key(uow.session, "sup")
            for subject in ("Login fails", "Slow export"):
                do_open_ticket(uow, sup, account_name="ACME Inc", priority="high", subject=subject, now=T0)
            do_open_ticket(uow, sup, account_name="Globex", priority="high", subject="other account", now=T0)
        c = contract_of(wiring, deal.id)
        with wiring.session_factory() as s:
            now_health = health_of(s, wiring.config, [c], T0)[c.id]
            later_health = health_of(s, wiring.config, [c], T0 + timedelta(days=31))[c.id]
        assert [(p.name, p.value, p.points) for p in now_health.parts] == [
            ("usage", 100, 40), ("nps", None, 10), ("tickets", 2, 10), ("payments", 0, 20)]
        assert now_health.score == 80
        assert [(p.name, p.value, p.points) for p in later_health.parts][3] == ("payments", 1, 10)
        assert later_health.score == 70

    def test_usage_and_nps_are_set_with_validation(self, wiring):  # type: ignore[no-untyped-def]
        c = contract_of(wiring, won_deal(wiring))
        with wiring.runner.uow() as uow:
            li = user_by_key(uow.session, "li")
            contract = access_contract(uow, li, c.id)
            assert do_set_contract(uow, li, contract, {"usage": "80%", "nps": "30"}, now=T0) == ["usage", "nps"]
        for bad in ({"usage": "101"}, {"usage": "lots"}, {"nps": "-101"}, {"usage": "50", "colour": "red"}):
            with pytest.raises(InvalidValue) as err, wiring.runner.uow() as uow:
                li = user_by_key(uow.session, "li")
                do_set_contract(uow, li, access_contract(uow, li, c.id), bad, now=T0)
            assert f"contract set {c.ref} usage=80 nps=30" in error_text(err.value, "en")
        c = contract_of(wiring, c.deal_id)  # type: ignore[arg-type]
        assert (c.usage_pct, c.nps) == (80, 30)  # the refused changes left nothing behind
        with wiring.runner.uow() as uow:
            li = user_by_key(uow.session, "li")
            do_set_contract(uow, li, access_contract(uow, li, c.id), {"nps": "none"}, now=T0)
        assert contract_of(wiring, c.deal_id).nps is None  # type: ignore[arg-type]


class TestRenewalDeal:
    def test_it_is_created_once_and_links_back(self, wiring):  # type: ignore[no-untyped-def]
        c = contract_of(wiring, won_deal(wiring, amount=90000))
        with wiring.runner.uow() as uow:
            contract = uow.session.get(Contract, c.id)
            first = create_renewal_deal(uow, contract, None, T0)  # the scheduler: no actor
            again = create_renewal_deal(uow, contract, user_by_key(uow.session, "wang"), T0)
            assert first.id == again.id
            first_id = first.id
        with wiring.session_factory() as s:
            deal = s.get(Deal, first_id)
            contract = s.get(Contract, c.id)
            assert contract.renewal_deal_id == deal.id
            assert deal.fields == {"renewal_of": c.ref}
            assert (deal.account_id, deal.owner_id, deal.amount, deal.close_date, deal.status) == (
                c.account_id, c.owner_id, Decimal("90000.00"), c.end_date, "open")
            assert deal.name == f"Acme 续约 {c.ref}"
            assert s.scalar(select(func.count(Deal.id))) == 2

    def test_winning_the_renewal_continues_the_contract_where_the_old_one_ends(self, wiring):  # type: ignore[no-untyped-def]
        old = contract_of(wiring, won_deal(wiring))
        with wiring.runner.uow() as uow:
            li = user_by_key(uow.session, "li")
            renewal = create_renewal_deal(uow, uow.session.get(Contract, old.id), li, T0 + timedelta(days=300))
            do_close(uow, li, renewal, won=True, reason=None, now=T0 + timedelta(days=320))
        new = contract_of(wiring, renewal.id)
        assert (new.start_date, new.end_date) == (old.end_date, old.end_date + timedelta(days=365))


class TestRenewalsWindow:
    def make(self, wiring, key: str, ends_in: int, account: str) -> int:  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            owner = user_by_key(uow.session, key)
            account_id = do_create_deal(uow, owner, account_name=account, amount=None, name=None, close_date=None,
                                        now=T0).account_id
            return do_create_contract(uow, account_id=account_id, owner_id=owner.id,
                                      start=TODAY + timedelta(days=ends_in - 365), value=Decimal(1000), now=T0).id

    def test_contracts_ending_within_the_window_soonest_first_for_the_people_in_scope(self, wiring):  # type: ignore[no-untyped-def]
        li_30 = self.make(wiring, "li", 30, "A")
        li_10 = self.make(wiring, "li", 10, "B")
        han_0 = self.make(wiring, "han", 0, "C")
        self.make(wiring, "li", -1, "D")  # ended yesterday
        li_95 = self.make(wiring, "li", 95, "E")
        emma_5 = self.make(wiring, "emma", 5, "F")
        with wiring.session_factory() as s:
            def ids(key: str, days: int = 90) -> list[int]:
                scope = visible_owner_ids(s, user_by_key(s, key))
                return [c.id for c in renewals_due(s, wiring.config, scope, T0, days=days)]
            assert ids("li") == [li_10, li_30]
            assert ids("li", 95) == [li_10, li_30, li_95]
            assert ids("wang") == [han_0, li_10, li_30]
            assert ids("admin") == [han_0, emma_5, li_10, li_30]
            assert ids("tom") == []
