"""The pool in a WeCom group chat: app group chats cannot carry buttons, so a new pool lead arrives as markdown
with the command to type (`领取 L-1`); typing it in the app claims the lead, and a second rep is told who has it."""
from __future__ import annotations

import pytest

from crm_core.config import Config, load_config
from tests.bot.wecom.conftest import WeComHarness
from tests.bot.wecom.test_full_day import deliver, said  # noqa: F401  (the delivery fixture)


@pytest.fixture
def config() -> Config:
    base = load_config(None)
    return base.model_copy(update={"pool": base.pool.model_copy(update={"wecom_chat": "wrPOOL"})})


def test_a_pool_lead_reaches_the_group_with_the_command_to_type(wecom: WeComHarness, deliver) -> None:  # type: ignore[no-untyped-def]
    wecom.fake.chats["wrPOOL"] = {"name": "公海", "owner": "wangfang", "userlist": ["wangfang", "lilei", "hanmeimei"]}
    said(wecom, "lilei", "线索 新建 张伟 公司=杭州云图科技有限公司 电话=13912345678 地区=east")
    said(wecom, "lilei", "退回 L-1 客户在北京，不归我")
    deliver()
    [post] = wecom.fake.posted_to("wrPOOL")
    assert "公海线索 L-1 · 张伟" in post and "客户在北京，不归我" in post and "领取 L-1" in post
    assert "13912345678" not in post  # the pool shows no contact details
    said(wecom, "hanmeimei", "领取 L-1")
    assert "L-1 已归你跟进" in str(wecom.last_card("hanmeimei"))  # the lead card, with its buttons
    said(wecom, "wangfang", "领取 L-1")
    assert "L-1 已被 韩梅梅 领取" in wecom.last_text("wangfang")
