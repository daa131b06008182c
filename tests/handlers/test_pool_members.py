"""Who the pool members are for their own WeCom cards ([pool] wecom_cards): every rep with a WeCom id, or the
users carrying members_tag; never someone away or who just lost the lead; with a Slack pool channel too, not
someone reached on Slack (they have the channel). One card row per member and stay; one update each when taken."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from crm_core.config import Config, load_config
from crm_core.models import OutboxMessage, User


def _config(**pool: object) -> Config:
    base = load_config(None)
    return base.model_copy(update={"pool": base.pool.model_copy(update={"wecom_cards": True, **pool})})


def _cards(wiring, op: str = "send") -> list[str]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        keys = dict(s.execute(select(User.id, User.key)).all())
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pool.card", OutboxMessage.op == op)
                         .order_by(OutboxMessage.id))
        return [keys[r.target_id] for r in rows]


class TestEveryRep:
    @pytest.fixture
    def config(self) -> Config:
        return _config()

    def test_every_rep_with_a_wecom_id_but_not_who_let_it_go_nor_who_is_away(self, wiring, console_bot) -> None:  # type: ignore[no-untyped-def]
        with wiring.session_factory.begin() as s:
            s.execute(update(User).where(User.key == "sup").values(away=True))
        console_bot("li").exec("lead add Ann company=Acme")
        console_bot("li").exec("release L-1 not my region")
        # reps with a WeCom id: li (released it), han, zhou, lawyer, sup (away); emma and tom have none
        assert _cards(wiring) == ["han", "zhou", "lawyer"]
        assert "L-1 is yours now" in console_bot("emma").exec("claim L-1")
        assert _cards(wiring, "update") == ["han", "zhou", "lawyer"]  # every card, once, whoever claimed

    def test_a_card_that_never_arrived_gets_no_update(self, wiring, console_bot) -> None:  # type: ignore[no-untyped-def]
        console_bot("li").exec("lead add Ann company=Acme")
        console_bot("li").exec("release L-1 not my region")
        with wiring.session_factory.begin() as s:  # zhou's card was refused for good (left the company)
            zhou = s.scalar(select(User.id).where(User.key == "zhou"))
            s.execute(update(OutboxMessage).where(OutboxMessage.kind == "pool.card", OutboxMessage.target_id == zhou)
                      .values(status="dead"))
        console_bot("emma").exec("claim L-1")
        assert _cards(wiring, "update") == ["han", "lawyer", "sup"]


class TestTaggedWithASlackChannel:
    @pytest.fixture
    def config(self) -> Config:
        base = _config(members_tag="east", slack_channel="C0POOL")
        users = [u.model_copy(update={"primary": "wecom"}) if u.key == "wang" else u for u in base.users]
        return base.model_copy(update={"users": users})

    def test_the_tagged_who_are_reached_on_wecom(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        console_bot("han").exec("lead add Ann company=Acme")
        console_bot("han").exec("release L-1 not my region")
        # tagged east: wang (manager, primary wecom), li and han (Slack first: they have the Slack channel)
        assert _cards(wiring) == ["wang"]
        console_bot("li").exec("claim L-1")
        assert _cards(wiring, "update") == ["wang"]
        clock.advance(minutes=5)  # (a stay is keyed by the second it began)
        console_bot("li").exec("release L-1 wrong person")  # a new stay: new cards, not for li
        assert _cards(wiring) == ["wang", "wang"]
