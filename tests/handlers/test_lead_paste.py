"""`lead paste` / 线索 粘贴 (and a `lead add` followed by a signature) through the console: what was read is
shown before anything is stored; Create makes the lead (or updates the same person); what has no field is
kept in a note; Edit gives the command to change."""
from __future__ import annotations

import re

from sqlalchemy import select

from crm_core.models import Activity, Lead

SIG = "王五\n销售总监\n深圳华为技术有限公司\n手机：13800138000\n邮箱：wangwu@huawei.com\n地址：深圳市龙岗区坂田华为基地"


def flat(out: str) -> str:
    return re.sub(r"\s+:", ":", out)  # the console pads field labels into a column


def leads(wiring) -> list[tuple[str, str | None, str | None, str | None]]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return [(lead.name, lead.company, lead.phone, lead.email) for lead in s.scalars(select(Lead).order_by(Lead.id))]


def test_a_pasted_signature_is_shown_then_created_with_a_note(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    out = flat(li.exec("线索 粘贴 " + SIG))
    assert "识别结果" in out and "姓名: 王五" in out and "职位: 销售总监" in out and "公司: 深圳华为技术有限公司" in out
    assert "手机: 13800138000" in out and "邮箱: wangwu@huawei.com" in out and "地址: 深圳市龙岗区坂田华为基地" in out
    assert "[1] 创建" in out and "[2] 修改" in out
    assert leads(wiring) == []  # nothing stored before Create
    out = li.press(1)
    assert "王五" in out and "L-1" in out
    [(name, company, phone, email)] = leads(wiring)
    assert (name, company, email) == ("王五", "深圳华为技术有限公司", "wangwu@huawei.com") and "13800138000" in phone
    with wiring.session_factory() as s:
        lead = s.scalars(select(Lead)).one()
        assert lead.first_responded_at is None  # the note is the paste's, not a contact with the customer
        [note] = s.scalars(select(Activity).where(Activity.lead_id == lead.id))
        assert "职位: 销售总监" in note.text and "地址: 深圳市龙岗区坂田华为基地" in note.text


def test_the_one_line_signature_of_the_issue_is_no_longer_a_name(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    out = flat(emma.exec("lead add 王五 销售总监 深圳华为技术有限公司 13800138000 wangwu@huawei.com"))
    assert "From the paste" in out and "Name: 王五" in out and "Title: 销售总监" in out
    assert leads(wiring) == []
    emma.press(1)
    [(name, company, phone, email)] = leads(wiring)
    assert (name, company, email) == ("王五", "深圳华为技术有限公司", "wangwu@huawei.com") and "13800138000" in phone


def test_the_same_person_pasted_again_updates_the_lead(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("lead add Wang Wu company=Huawei email=wangwu@huawei.com")
    emma.exec("lead paste " + SIG)
    out = emma.press(1)
    assert "updated L-1" in out
    assert len(leads(wiring)) == 1


def test_edit_offers_the_command_to_change_and_a_plain_lead_add_is_untouched(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("lead paste John Smith\nSales Director\nAcme Inc.\nM: +1 415 555 0100\njohn.smith@acme.com")
    out = emma.press(2)
    assert 'lead add “John Smith” company=“Acme Inc.” phone=“+1 415 555 0100” email=john.smith@acme.com' in out
    assert leads(wiring) == []
    out = emma.exec("lead add Carl company=Initech")  # one name, no signature: created as before
    assert "Lead L-1 · Carl" in out


def test_a_paste_without_a_name_says_what_to_type(console_bot, wiring):  # type: ignore[no-untyped-def]
    out = console_bot("li").exec("线索 粘贴 13800138000\nwangwu@huawei.com")
    assert "没有在粘贴内容中找到姓名" in out and "线索 新建 <姓名>" in out
    assert leads(wiring) == []


def test_the_chinese_edit_command_typed_back_makes_the_lead_it_showed(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("线索 粘贴 " + SIG)
    command = li.press(2).splitlines()[1]
    assert command == "线索 新建 王五 公司=深圳华为技术有限公司 电话=13800138000 邮箱=wangwu@huawei.com"
    li.exec(command)
    assert leads(wiring) == [("王五", "深圳华为技术有限公司", "+8613800138000", "wangwu@huawei.com")]
