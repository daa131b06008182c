"""Notification routes over WeCom: an app group chat cannot carry a template card, so a route's post goes as
markdown through appchat/send to the chat id — from the configuration, or from a manager's `通知` typed in the
app; a rep's `通知` is refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.config import Config, Route, RouteTemplate, load_config
from crm_core.models import NotificationRoute
from tests.bot.wecom.conftest import WeComHarness
from tests.bot.wecom.test_full_day import deliver, said  # noqa: F401  (the delivery fixture)


@pytest.fixture(autouse=True)
def _group_chats(wecom: WeComHarness) -> None:
    for chatid in ("wrWINS", "wrLEADS", "wrBIG"):
        wecom.fake.chats[chatid] = {"name": chatid, "owner": "wangfang", "userlist": ["wangfang", "lilei"]}


@pytest.fixture
def config() -> Config:
    base = load_config(None)
    return base.model_copy(update={"routes": [
        Route(event="deal.won", min_amount=1000000, wecom_chat="wrWINS"),
        Route(event="lead.new", region="east", wecom_chat="wrLEADS", locale="en",
              template=RouteTemplate(en="New lead {{ ref }} {{ name }} for {{ owner }} ({{ region }})")),
    ]})


def test_a_won_deal_reaches_the_group_chat_as_markdown(wecom: WeComHarness, deliver) -> None:  # type: ignore[no-untyped-def]
    said(wecom, "lilei", "商机 新建 杭州云图 金额=2000000")
    said(wecom, "lilei", "赢单 D-1")
    said(wecom, "lilei", "商机 新建 小单公司 金额=50000")
    said(wecom, "lilei", "赢单 D-2")
    deliver()
    [post] = wecom.fake.posted_to("wrWINS")
    assert "赢单喜报" in post and "李雷 赢单 D-1" in post and "¥2,000,000.00" in post  # company locale: zh_CN
    assert "D-2" not in post
    [call] = [c for c in wecom.fake.ok_calls("appchat/send") if c.body and c.body.get("chatid") == "wrWINS"]
    assert call.body["msgtype"] == "markdown"
    deliver()  # a second pass posts nothing more
    assert len(wecom.fake.posted_to("wrWINS")) == 1


def test_a_new_lead_in_the_region_is_posted_with_the_routes_own_template(wecom: WeComHarness, deliver) -> None:  # type: ignore[no-untyped-def]
    said(wecom, "lilei", "线索 新建 张伟 公司=杭州云图科技有限公司 地区=east")
    said(wecom, "lilei", "线索 新建 王五 公司=北京某某 地区=north")
    deliver()
    [post] = wecom.fake.posted_to("wrLEADS")
    assert "New lead L-1 张伟 for 李雷 (east)" in post and "L-2" not in post


def test_a_manager_routes_won_deals_to_a_group_chat_from_the_app(wecom: WeComHarness, wecom_wiring, deliver) -> None:  # type: ignore[no-untyped-def]
    said(wecom, "lilei", "通知 赢单>100万 #wrBIG")
    assert "仅限经理和管理员" in wecom.last_text("lilei")
    said(wecom, "wangfang", "通知 赢单>100万 #wrBIG")
    assert "路由 1 已保存" in wecom.last_text("wangfang")
    with wecom_wiring.session_factory() as s:
        [row] = s.scalars(select(NotificationRoute)).all()
    assert (row.platform, row.channel, row.min_amount) == ("wecom", "wrBIG", 1_000_000)
    said(wecom, "lilei", "商机 新建 杭州云图 金额=3000000")
    said(wecom, "lilei", "赢单 D-1")
    deliver()
    [post] = wecom.fake.posted_to("wrBIG")
    assert "李雷 赢单 D-1" in post
    said(wecom, "wangfang", "通知 关闭 1")
    assert "路由 1 已删除" in wecom.last_text("wangfang")
