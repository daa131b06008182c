"""A rep sees and changes their own records, a manager their team's, admin everything."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.errors import Forbidden
from crm_core.models import User
from crm_core.services.access import access_deal
from crm_core.services.deals import do_create_deal
from cards.errors import error_text


@pytest.fixture
def deals(wiring):  # type: ignore[no-untyped-def]
    ids = {}
    with wiring.runner.uow() as uow:
        for key in ("li", "han", "emma"):
            owner = uow.session.scalar(select(User).where(User.key == key))
            ids[key] = do_create_deal(uow, owner, account_name=f"{key} corp", amount=None, name=None,
                                      close_date=None, now=wiring.clock.now()).id
    return ids


@pytest.mark.parametrize("actor,allowed", [
    ("li", {"li"}), ("han", {"han"}), ("wang", {"li", "han"}), ("sam", {"emma"}),
    ("chen", {"li", "han", "emma"}), ("admin", {"li", "han", "emma"}),
])
def test_visibility_follows_the_manager_chain(wiring, deals, actor, allowed):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        me = uow.session.scalar(select(User).where(User.key == actor))
        for owner, deal_id in deals.items():
            if owner in allowed:
                assert access_deal(uow, me, deal_id).id == deal_id
            else:
                with pytest.raises(Forbidden) as info:
                    access_deal(uow, me, deal_id)
                assert "D-" in error_text(info.value, "en") and "没有权限" in error_text(info.value, "zh_CN")
