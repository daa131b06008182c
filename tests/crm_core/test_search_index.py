"""The search index is kept by every session factory, whatever became of the factories before it."""
from __future__ import annotations

import gc

from sqlalchemy import func, select

from crm_core.db import make_session_factory
from crm_core.models import Account, SearchTerm
from tests.conftest import T0


def test_a_factory_made_where_a_freed_one_stood_still_indexes_what_it_writes(wiring, user_id) -> None:  # type: ignore[no-untyped-def]
    """SQLAlchemy's event registry keys a listener by id(target) and forgets it when the garbage collector frees
    the old factory's Session class. A new factory at the same address looked registered to `event.contains`,
    so its sessions wrote no search keys, and a record just created was not found by name (a rare failure of
    the pick-list and account tests, depending on when the collector had last run)."""
    owner = user_id("emma")
    addresses: set[int] = set()
    reused, unindexed = 0, []
    gc.disable()  # the collector not run between two factories: the case that failed
    try:
        for i in range(200):
            factory = make_session_factory(wiring.engine)
            reused += id(factory) in addresses
            addresses.add(id(factory))
            with factory() as s:
                account = Account(name=f"Zeta {i}", name_key=f"zeta {i}", owner_id=owner, created_at=T0)
                s.add(account)
                s.flush()
                if not s.scalar(select(func.count()).select_from(SearchTerm).where(
                        SearchTerm.kind == "account", SearchTerm.record_id == account.id)):
                    unindexed.append(account.name)
                s.rollback()
            del factory
            if reused >= 5:
                break
    finally:
        gc.enable()
    assert reused >= 5  # factories stood where freed ones had: what this test is about
    assert unindexed == []
