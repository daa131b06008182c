"""A business card's text sent to the WeCom app (encrypted, as WeCom sends it; full-width colons and digits
as a Chinese phone keyboard types them): the template card shows what was read, its 创建 button makes the
lead, and the parts with no field are kept in a note."""
from __future__ import annotations

from sqlalchemy import select

from bot.wiring import Wiring
from crm_core.models import Activity, Lead
from tests.bot.wecom.conftest import WeComHarness, key_of

CARD = "赵六　技术总监\n杭州阿里云计算有限公司\n手机：１３９００００１２３４\n邮箱：zhao6@aliyun.com\n地址：杭州市西湖区文一西路969号"


def test_a_business_card_becomes_a_lead_through_wecom(wecom: WeComHarness, wecom_wiring: Wiring) -> None:
    r = wecom.say("lilei", "线索 粘贴 " + CARD)
    assert r.status_code == 200
    card = wecom.last_card("lilei")
    assert card["main_title"]["title"] == "识别结果"
    shown = {item["keyname"]: item.get("value") for item in card["horizontal_content_list"]}
    assert shown["姓名"] == "赵六" and shown["职位"] == "技术总监" and shown["公司"] == "杭州阿里云计算有限公司"
    assert shown["手机"] == "13900001234"
    with wecom_wiring.session_factory() as s:
        assert s.scalars(select(Lead)).all() == []
    wecom.click("lilei", card["task_id"], key_of(card, "lead.paste_create"))
    assert wecom.last_card("lilei")["main_title"]["title"] == "线索 L-1 · 赵六"
    with wecom_wiring.session_factory() as s:
        lead = s.scalars(select(Lead)).one()
        assert (lead.company, lead.email) == ("杭州阿里云计算有限公司", "zhao6@aliyun.com")
        note = s.scalars(select(Activity).where(Activity.lead_id == lead.id)).one()
        assert "地址: 杭州市西湖区文一西路969号" in note.text
