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


def test_a_bulk_of_keys_is_stored_exactly_and_only_with_its_transaction(wiring, as_user) -> None:  # type: ignore[no-untyped-def]
    """A bulk of keys (an import's batch: COPY on PostgreSQL) stores the same rows a small one does, and goes
    with a rollback."""
    from crm_core.search_index import COPY_FROM, index_rows
    from crm_core.search_text import record_keys
    li = as_user("li")
    records = [(10_000 + i, li.id, (f"客户{i}", f"深圳华星{i}科技有限公司")) for i in range(120)]
    expected = {("lead", rid, field, key, li.id) for rid, _, texts in records for field, key in record_keys(*texts)}
    assert len(expected) >= COPY_FROM  # the bulk path, where the database has one
    with wiring.session_factory() as s:
        assert index_rows(s, "lead", records) == len(expected)
        s.rollback()
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SearchTerm)) == 0
    with wiring.session_factory.begin() as s:
        index_rows(s, "lead", records)
    with wiring.session_factory() as s:
        stored = set(s.execute(select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.field, SearchTerm.key,
                                      SearchTerm.owner_id)).all())
        assert stored == expected
