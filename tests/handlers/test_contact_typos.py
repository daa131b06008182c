"""`deal set D-7 contact=…` names one of the account's people. A typo (`Malory`), a first name alone or another
case (`mallory brown`) used to add a second contact beside Mallory Brown. The same name in another case is the
same person; a name like one of the account's contacts asks which one, or to add the new contact after all
(a button, or `new_contact=yes`)."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.models import Account, Contact, Deal


def _contacts(wiring) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return [tuple(row) for row in s.execute(select(Account.name, Contact.name)
                                                .join(Account, Account.id == Contact.account_id).order_by(Contact.id))]


def _deal_contact(wiring, deal_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        deal = s.get(Deal, deal_id)
        return deal.contact.name if deal.contact else None


def test_a_misspelt_contact_asks_and_the_button_uses_the_existing_one(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('deal new "Cyberdyne GmbH" amount=1000')
    emma.exec('deal new "Cyberdyne GmbH" amount=5 name="Phase 2"')
    emma.exec('deal set D-2 contact="Mallory Brown"')  # the account's contact; D-1 has none yet
    out = emma.exec("deal set D-1 contact=Malory amount=2000")
    assert "No contact at Cyberdyne GmbH is called “Malory”" in out and "1. Contact · Mallory Brown" in out, out
    assert "[2] New contact “Malory”" in out and "Nothing was changed" in out
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown")] and _deal_contact(wiring, 1) is None
    out = emma.exec("1")  # the same command, with the contact's name in place of the typo
    assert "Contact" in out and "Mallory Brown" in out, out
    with wiring.session_factory() as s:
        assert str(s.get(Deal, 1).amount) == "2000.00"
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown")] and _deal_contact(wiring, 1) == "Mallory Brown"


def test_the_same_name_in_another_case_is_the_same_contact(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('deal new "Cyberdyne GmbH" amount=1000')
    emma.exec('deal new "Cyberdyne GmbH" amount=5 name="Phase 2"')
    emma.exec('deal set D-1 contact="Mallory Brown"')
    assert "Mallory Brown" in emma.exec('deal set D-2 contact="mallory  brown"')
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown")] and _deal_contact(wiring, 2) == "Mallory Brown"


def test_a_new_contact_after_all_by_button_or_option_and_a_wrong_answer_changes_nothing(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('deal new "Cyberdyne GmbH" amount=1000')
    emma.exec('deal set D-1 contact="Mallory Brown"')
    out = emma.exec("deal set D-1 contact=Mallory new_contact=maybe")
    assert "type new_contact=yes" in out, out
    assert _deal_contact(wiring, 1) == "Mallory Brown"
    emma.exec("deal set D-1 contact=Mallory")
    assert "Mallory" in emma.exec("2")  # the last button: a new contact called Mallory
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown"), ("Cyberdyne GmbH", "Mallory")]
    emma.exec('deal set D-1 contact="Mallory Green" new_contact=yes')  # typed: no question
    assert _deal_contact(wiring, 1) == "Mallory Green"
    assert "Bob Smith" in emma.exec('deal set D-1 contact="Bob Smith"')  # like nobody: added without asking
    assert [n for _, n in _contacts(wiring)] == ["Mallory Brown", "Mallory", "Mallory Green", "Bob Smith"]


def test_a_chinese_reader_is_asked_in_chinese_and_pinyin_finds_the_contact(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    li.exec("商机 设置 D-1 联系人=张伟")
    out = li.exec("商机 设置 D-1 联系人=zhangwei")
    assert "深圳华星科技有限公司没有叫「zhangwei」的联系人" in out and "张伟" in out, out
    assert "新建联系人「zhangwei」" in out and "新联系人=是" in out
    li.exec("1")
    assert _contacts(wiring) == [("深圳华星科技有限公司", "张伟")] and _deal_contact(wiring, 1) == "张伟"
    li.exec("商机 设置 D-1 联系人=zhangwei 新联系人=是")
    assert [n for _, n in _contacts(wiring)] == ["张伟", "zhangwei"]


def test_a_contact_named_with_a_new_account_is_not_asked_about_the_old_accounts_people(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('deal new "Cyberdyne GmbH" amount=1000')
    emma.exec('deal set D-1 contact="Mallory Brown"')
    out = emma.exec('deal set D-1 account="Initech" contact=Mallory')
    assert "Initech" in out and "No contact" not in out, out
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown"), ("Initech", "Mallory")]


def test_a_wrong_contact_or_close_date_can_be_taken_off(console_bot, wiring):  # type: ignore[no-untyped-def]
    """`contact=` and `close=` with nothing after them used to answer "must not be empty", so a contact set by
    mistake stayed on the deal for good. The contact stays one of the account's people; the deal no longer
    names it."""
    emma, li = console_bot("emma"), console_bot("li")
    emma.exec('deal new "Cyberdyne GmbH" amount=1000 close=2027-03-31')
    emma.exec('deal set D-1 contact="Bob Smith"')
    out = emma.exec("deal set D-1 contact= close=")
    assert "Updated: contact, close_date" in out and "Bob Smith" not in out and "Close date           : —" in out, out
    with wiring.session_factory() as s:
        deal = s.get(Deal, 1)
        assert (deal.contact_id, deal.close_date) == (None, None)
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Bob Smith")]
    assert "D-2" in li.exec("商机 新建 深圳华星 金额=1 成交日期=2027-03-31")
    assert "张伟" in li.exec("商机 设置 D-2 联系人=张伟")
    assert "已更新" in li.exec("商机 设置 D-2 联系人= 成交日期=")
    with wiring.session_factory() as s:
        deal = s.get(Deal, 2)
        assert (deal.contact_id, deal.close_date) == (None, None)
    assert "must not be empty" in emma.exec("deal set D-1 amount=")  # a deal's amount and name stay required
    assert "must not be empty" in emma.exec("deal set D-1 name=")


def test_a_new_deal_names_its_contact_and_a_typo_in_it_asks_first(console_bot, wiring):  # type: ignore[no-untyped-def]
    """`deal new … contact=` was refused ("not an option"); now it names the contact the same way `deal set` does."""
    emma = console_bot("emma")
    out = emma.exec('deal new "Cyberdyne GmbH" amount=1000 contact="Mallory Brown"')
    assert "Deal D-1" in out and "Mallory Brown" in out, out
    out = emma.exec('deal new "Cyberdyne GmbH" amount=5 contact=Malory name="Phase 2"')
    assert "No contact at Cyberdyne GmbH is called “Malory”" in out, out
    with wiring.session_factory() as s:
        assert s.get(Deal, 2) is None
    out = emma.exec("1")
    assert "Deal D-2 · Phase 2" in out and "Mallory Brown" in out, out
    assert _deal_contact(wiring, 2) == "Mallory Brown" and len(_contacts(wiring)) == 1
    # a new customer's contact is added with it, without a question
    assert "Ann Lee" in emma.exec('deal new Initech amount=5 contact="Ann Lee"')
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown"), ("Initech", "Ann Lee")]
    li = console_bot("li")
    out = li.exec("商机 新建 深圳华星科技有限公司 金额=100 联系人=张伟")
    assert "张伟" in out and "D-4" in out, out
    assert "没有叫" in li.exec("商机 新建 深圳华星科技有限公司 金额=100 联系人=zhangw")


def test_a_name_of_several_words_needs_no_quotes(console_bot, wiring):  # type: ignore[no-untyped-def]
    """`contact=Mallory Brown` without quotes answered "Unexpected “Brown”"; `company=Acme Corp` on a new lead
    made its name "Zhang San Corp". The words after an option are its value."""
    emma = console_bot("emma")
    emma.exec("deal new Cyberdyne GmbH amount=1000")
    assert "Mallory Brown" in emma.exec("deal set D-1 contact=Mallory Brown")
    out = emma.exec("deal set D-1 contact=Malory Brwn")
    assert "No contact at Cyberdyne GmbH is called “Malory Brwn”" in out, out
    emma.exec("1")  # re-run with the contact's name in place of both words
    assert _contacts(wiring) == [("Cyberdyne GmbH", "Mallory Brown")] and _deal_contact(wiring, 1) == "Mallory Brown"
    out = emma.exec("lead add Zhang San company=Acme Corp phone=13800138000")
    assert "Lead L-1 · Zhang San" in out and "Acme Corp" in out, out
