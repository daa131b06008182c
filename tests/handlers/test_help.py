"""`help <command>`: the usage lines of the commands a word starts, each command once."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("who, typed, first, once", [
    ("emma", "help deal", "deal new <account> amount=<n> [name= close=YYYY-MM-DD contact= new_account=yes]",
     ["deal new ", "deal list ", "deal set ", "deal <D-id>"]),
    ("li", "帮助 商机", "商机 新建 <客户> 金额=<金额> [名称= 成交日期=YYYY-MM-DD 联系人= 新客户=是]",
     ["商机 新建 ", "商机 列表 ", "商机 设置 ", "商机 <D-编号>"]),
    ("li", "帮助 线索", "线索 新建 <姓名> [公司= 邮箱= 电话= 来源= 地区= 行业= 产品=]",
     ["线索 新建 ", "线索 列表", "线索 转化 ", "线索 <L-编号>", "线索 分配 "]),
    ("li", "帮助 报价", "报价 <Q-编号>（查看某一版报价及报价单）", ["报价 <D-编号>", "报价 <Q-编号>"]),
])
def test_help_on_a_word_names_each_of_its_commands_once(console_bot, who: str, typed: str, first: str,
                                                       once: list[str]) -> None:
    """`help deal` used to name `deal new`, `deal list` and `deal set` twice: each command's own lines, then the
    brief lines of `deal`'s usage. The full line is the one kept."""
    out = console_bot(who).exec(typed)
    lines = [line.strip() for line in out.splitlines()]
    assert first in lines, out
    for command in once:
        assert sum(line.startswith(command) for line in lines) == 1, (command, out)


@pytest.mark.parametrize("who, typed, shown, not_shown", [
    ("emma", "help ticket list", "ticket list [mine|team|all] [@name] [overdue]", "ticket new "),
    ("emma", "help deal new", "deal new <account> amount=<n>", "deal list "),
    ("emma", "help  Ticket   List", "ticket list [mine|team|all]", "ticket close "),
    ("li", "帮助 工单 列表", "工单 列表 [我的|团队|全部] [@负责人] [逾期]", "工单 新建 "),
    ("li", "帮助 商机 新建", "商机 新建 <客户> 金额=<金额>", "商机 列表 "),
])
def test_help_on_a_whole_command_shows_that_command(console_bot, who: str, typed: str, shown: str,
                                                    not_shown: str) -> None:
    """`help ticket list` was refused ("Unexpected “list”"): help took one word. A whole command is a topic."""
    out = console_bot(who).exec(typed)
    assert shown in out and not_shown not in out, out
    assert "Unexpected" not in out and "多余" not in out, out


@pytest.mark.parametrize("who, typed, said, near", [
    ("emma", "help dael", "There is no help for “dael”.", "deal new <account>"),
    ("emma", "help ticket lsit", "There is no help for “ticket lsit”.", "ticket list [mine|team|all]"),
    ("li", "帮助 商鸡", "没有「商鸡」的帮助。", "商机 新建 <客户>"),
])
def test_help_on_a_misspelt_topic_says_so_and_offers_the_nearest(console_bot, who: str, typed: str, said: str,
                                                                 near: str) -> None:
    """`help dael` showed the whole help as if nothing was typed: the word was silently dropped."""
    out = console_bot(who).exec(typed)
    assert said in out and near in out, out
    assert "*Leads*" not in out and "*线索*" not in out, out  # not the overview
