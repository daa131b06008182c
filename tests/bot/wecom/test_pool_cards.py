"""Pool members' own WeCom cards: app group chats cannot carry buttons, so besides the group post with the
command to type (`领取 L-1`), each pool member on WeCom ([pool] wecom_cards, members_tag) gets the lead as a
template card of their own with a Claim button. Clicks arrive as signed, encrypted template_card_event
callbacks; two members clicking at once: one gets the lead, the other is told who has it, in their language;
a member over the open-lead limit is told so; every card is updated once ("已被 韩梅梅 领取"), none twice."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from crm_core.clock import FrozenClock
from crm_core.config import Config, load_config
from crm_core.events import LeadPooled
from crm_core.models import OutboxMessage, User
from handlers.notify import unit_of_work_factory
from handlers.pool import send_member_cards
from tests.bot.wecom.conftest import WeComHarness, key_of
from tests.bot.wecom.test_full_day import deliver, said  # noqa: F401  (the delivery fixture)
from tests.scheduler.helpers import lead_state, run_ladder

MEMBERS = ("wangfang", "hanmeimei", "liulegal")  # tag "east", with a WeCom id; lilei released the lead


@pytest.fixture
def config() -> Config:
    base = load_config(None)
    users = [u.model_copy(update={"tags": [*u.tags, "east"], "locale": "en"}) if u.key == "lawyer" else u
             for u in base.users]  # Liu Legal reads English
    pool = base.pool.model_copy(update={"wecom_chat": "wrPOOL", "wecom_cards": True, "members_tag": "east",
                                        "max_open_leads": 1})
    return base.model_copy(update={"pool": pool, "users": users})


def _group(wecom: WeComHarness) -> None:
    wecom.fake.chats["wrPOOL"] = {"name": "公海", "owner": "wangfang",
                                  "userlist": ["wangfang", "lilei", "hanmeimei", "liulegal"]}


def _pool_cards(wecom: WeComHarness, userid: str, ref: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in wecom.fake.cards_to(userid)
            if c["main_title"]["title"].startswith((f"公海线索 {ref} ", f"Pool lead {ref} "))]


def _race(wecom: WeComHarness, clicks: list[tuple[str, dict]]) -> list[int]:  # type: ignore[type-arg]
    """Each member's click from their own thread, released together (two phones at the same moment)."""
    barrier, codes = threading.Barrier(len(clicks)), {}

    def click(userid: str, card: dict) -> None:  # type: ignore[type-arg]
        code = wecom.fake.click(card["task_id"])
        barrier.wait()
        codes[userid] = wecom.click(userid, card["task_id"], key_of(card, "pool.claim"), code).status_code

    threads = [threading.Thread(target=click, args=c) for c in clicks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return [codes[u] for u, _ in clicks]


def test_members_get_claim_cards_two_race_one_wins_and_every_card_changes_once(  # type: ignore[no-untyped-def]
        wecom: WeComHarness, wecom_wiring, deliver) -> None:
    _group(wecom)
    fake = wecom.fake
    said(wecom, "liulegal", "lead add Bob company=Foo Ltd")  # Liu Legal: 1 open lead, the limit is 1
    said(wecom, "lilei", "线索 新建 张伟 公司=杭州云图科技有限公司 电话=13912345678 地区=east")
    said(wecom, "lilei", "退回 L-2 客户在北京，不归我")
    deliver()
    # The group: the command to type, no button (a group chat cannot carry one).
    [post] = fake.posted_to("wrPOOL")
    assert "公海线索 L-2 · 张伟" in post and "领取 L-2" in post
    # Each member: a card of their own, in their language, with a Claim button; not lilei, who let it go.
    cards = {u: _pool_cards(wecom, u, "L-2") for u in (*MEMBERS, "lilei")}
    assert {u: len(c) for u, c in cards.items()} == {"wangfang": 1, "hanmeimei": 1, "liulegal": 1, "lilei": 0}
    mine = {u: c[0] for u, c in cards.items() if c}
    assert [b["text"] for b in mine["hanmeimei"]["button_list"]] == ["领取"]
    assert [b["text"] for b in mine["liulegal"]["button_list"]] == ["Claim"]
    assert mine["liulegal"]["main_title"]["title"].startswith("Pool lead L-2")
    assert "13912345678" not in str(mine)  # no contact details before it is yours
    assert key_of(mine["wangfang"], "pool.claim") == "pool.claim|L-2"

    # Over the limit: told so in English, nothing changes, the card keeps its button.
    r = wecom.click("liulegal", mine["liulegal"]["task_id"], key_of(mine["liulegal"], "pool.claim"))
    assert r.status_code == 200
    assert "the limit is 1" in fake.texts_to("liulegal")[-1] and lead_state(wecom_wiring, 2) == ("pool", "li")

    # 王芳 and 韩梅梅 click at the same moment: one gets the lead, the other is told who has it.
    updates_before = len(fake.updates())
    assert _race(wecom, [("wangfang", mine["wangfang"]), ("hanmeimei", mine["hanmeimei"])]) == [200, 200]
    status, winner = lead_state(wecom_wiring, 2)
    assert status == "open" and winner in ("wang", "han")
    won, lost = ("wangfang", "hanmeimei") if winner == "wang" else ("hanmeimei", "wangfang")
    name = {"wangfang": "王芳", "hanmeimei": "韩梅梅"}[won]
    assert "L-2 已归你跟进" in str(fake.cards_to(won)[-1])  # the lead card, with its buttons
    assert f"L-2 已被 {name} 领取" in fake.texts_to(lost)[-1]
    assert len(fake.updates()) == updates_before  # the click's own reply replaces nothing: the outbox does

    deliver()
    updates = fake.updates()[updates_before:]
    assert sorted(u["userids"][0] for u in updates) == sorted(MEMBERS)  # every card, once
    by_user = {u["userids"][0]: u["template_card"] for u in updates}
    assert by_user["liulegal"]["replace_text"] == f"Claimed by {name}."
    assert by_user[lost]["replace_text"] == f"已被 {name} 领取。"
    assert by_user[won]["replace_text"] == f"已被 {name} 领取。"
    for member, card in by_user.items():
        assert card["task_id"] == mine[member]["task_id"] and all(
            not b["key"].startswith("pool.claim") for b in card["button_list"])
    assert any(f"已被 {name} 领取" in p for p in fake.posted_to("wrPOOL")[1:])  # the group hears it too

    # Nothing more: delivering again sends and updates nothing; one send and one update row per member.
    sends = len(fake.ok_calls("message/send"))
    deliver()
    assert len(fake.updates()) == updates_before + 3 and len(fake.ok_calls("message/send")) == sends
    with wecom_wiring.session_factory() as s:
        rows = [(r.op, r.target_id) for r in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pool.card"))]
    members = sorted(t for op, t in rows if op == "send")
    assert len(members) == 3 and sorted(t for op, t in rows if op == "update") == members


def test_a_retried_pool_event_sends_no_second_card(wecom: WeComHarness, wecom_wiring, deliver, clock) -> None:  # type: ignore[no-untyped-def]
    _group(wecom)
    said(wecom, "lilei", "线索 新建 张伟 公司=杭州云图科技有限公司 地区=east")
    said(wecom, "lilei", "退回 L-1 不归我")
    deliver()
    with wecom_wiring.session_factory() as s:
        lilei = s.scalar(select(User.id).where(User.key == "li"))
    uow = unit_of_work_factory(wecom_wiring.session_factory, wecom_wiring.config, clock)()
    with uow:  # the same stay in the pool, handled a second time (a job or a handler that ran twice)
        send_member_cards(uow, LeadPooled(lead_id=1, previous_owner_id=lilei, reason="不归我", how="released"),
                          clock.now())
    deliver()
    assert [len(_pool_cards(wecom, u, "L-1")) for u in MEMBERS] == [1, 1, 1]
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "pool.card")) == 3


def test_a_day_of_the_pool_on_wecom(wecom: WeComHarness, wecom_wiring, deliver, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    """Leads arrive, a ladder sends one nobody works back to the pool with the clock moved, two members race
    for its card, the one who lost it cannot take it straight back, and the next stay brings new cards —
    to him too, now that he is not the one who just lost it. Every delivery goes out; nothing bounces."""
    _group(wecom)
    fake = wecom.fake
    assert datetime(2026, 3, 2).weekday() == 0
    said(wecom, "lilei", "线索 新建 张伟 公司=杭州云图科技有限公司 地区=east")  # L-1, his own
    said(wecom, "lilei", "记录 L-1 电话 已联系")
    deliver()
    for days in (3, 2, 2, 2):  # working days pass; the third step of the ladder sends it back to the pool
        clock.advance(days=days)
        run_ladder(wecom_wiring, clock)
        deliver()
    assert lead_state(wecom_wiring) == ("pool", "li")
    assert any("L-1" in p and "领取 L-1" in p for p in fake.posted_to("wrPOOL"))
    cards = {u: _pool_cards(wecom, u, "L-1") for u in (*MEMBERS, "lilei")}
    assert {u: len(c) for u, c in cards.items()} == {"wangfang": 1, "hanmeimei": 1, "liulegal": 1, "lilei": 0}
    said(wecom, "lilei", "领取 L-1")  # who lost it waits before taking it back
    assert "请让其他同事先领取" in fake.texts_to("lilei")[-1] and lead_state(wecom_wiring) == ("pool", "li")
    assert _race(wecom, [("hanmeimei", cards["hanmeimei"][0]), ("wangfang", cards["wangfang"][0])]) == [200, 200]
    status, winner = lead_state(wecom_wiring)
    assert status == "open" and winner in ("wang", "han")
    lost = "wangfang" if winner == "han" else "hanmeimei"
    deliver()
    assert sorted(u["userids"][0] for u in fake.updates()) == sorted(MEMBERS)
    clock.advance(days=1)
    assert run_ladder(wecom_wiring, clock) == 0  # the ladder starts again for the new owner: nothing bounces

    # Nobody works it again: back to the pool a second time — a new stay, new cards; lilei gets one now.
    for days in (3, 2, 2, 2, 2):
        clock.advance(days=days)
        run_ladder(wecom_wiring, clock)
        deliver()
    assert lead_state(wecom_wiring)[0] == "pool"
    second = _pool_cards(wecom, "lilei", "L-1")
    assert len(second) == 1
    r = wecom.click("lilei", second[0]["task_id"], key_of(second[0], "pool.claim"))
    assert r.status_code == 200 and lead_state(wecom_wiring) == ("open", "li")
    deliver()
    # the second stay's cards — all but the owner's, who just lost it — once each
    assert sorted(u["userids"][0] for u in fake.updates()[3:]) == sorted(["lilei", "liulegal", lost])
