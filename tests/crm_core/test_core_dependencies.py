"""Behaviour that used to depend on import order, now explicit (docs/core-dependencies.md)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from crm_core.models import Activity, Contract, Deal
from crm_core.services.closing import do_close
from crm_core.services.deals import do_create_deal, do_set_fields, record_close
from crm_core.services.tickets import do_open_ticket
from crm_core.services.users import user_by_key
from tests.conftest import T0

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter that loads the activities area and nothing of tickets, then logs a call on a ticket.
LOG_ON_A_TICKET = """
import sys
from datetime import datetime, timezone
from crm_core.config import load_config
from crm_core.db import make_engine, make_session_factory
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.users import user_by_key
from crm_core.uow import UnitOfWork
assert "crm_core.services.tickets" not in sys.modules, "the test needs tickets.py not imported"
engine = make_engine(sys.argv[1])
with UnitOfWork(make_session_factory(engine), load_config(None)) as uow:
    do_log_activity(uow, user_by_key(uow.session, "sup"), Ref("ticket", int(sys.argv[2])), "call", "rang them",
                    now=datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    uow.events.clear()  # about access only: its notification would need handlers (and so tickets) imported
engine.dispose()
"""


def test_a_call_is_logged_on_a_ticket_even_when_the_tickets_area_was_never_imported(wiring,  # type: ignore[no-untyped-def]
                                                                                     database_url):
    """It used to work only once tickets.py had been imported (it patched activities.ticket_access);
    a process that imported activities first refused with "log on a deal, lead or ticket"."""
    with wiring.runner.uow() as uow:
        ticket_id = do_open_ticket(uow, user_by_key(uow.session, "sup"), account_name="Acme", priority="high",
                                   subject="VPN is down", now=T0).id
    done = subprocess.run([sys.executable, "-c", LOG_ON_A_TICKET, database_url, str(ticket_id)], cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with wiring.session_factory() as s:
        assert [(a.ticket_id, a.kind, a.text) for a in s.scalars(select(Activity))] == [(ticket_id, "call", "rang them")]


def test_a_won_deal_becomes_one_contract_through_the_closing_use_case(wiring):  # type: ignore[no-untyped-def]
    """deals.record_close is the deal's own part only; closing.do_close adds the contract, once."""
    with wiring.runner.uow() as uow:
        li = user_by_key(uow.session, "li")
        first = do_create_deal(uow, li, account_name="Acme", amount=None, name=None, close_date=None, now=T0)
        second = do_create_deal(uow, li, account_name="Globex", amount=None, name=None, close_date=None, now=T0)
        for deal in (first, second):
            do_set_fields(uow, li, deal, {"amount": "50000"}, now=T0)
        ids = first.id, second.id
    with wiring.runner.uow() as uow:
        li = user_by_key(uow.session, "li")
        record_close(uow, li, uow.session.get(Deal, ids[0]), won=True, reason=None, now=T0)
        do_close(uow, li, uow.session.get(Deal, ids[1]), won=True, reason=None, now=T0)
    with wiring.session_factory() as s:
        assert [(c.deal_id, str(c.value)) for c in s.scalars(select(Contract))] == [(ids[1], "50000.00")]
        assert [d.status for d in s.scalars(select(Deal).order_by(Deal.id))] == ["won", "won"]
