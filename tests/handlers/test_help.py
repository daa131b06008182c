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
