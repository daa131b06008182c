"""A Chinese reader's lists of field names are joined the Chinese way (、), an English reader's with commas."""
from __future__ import annotations


def test_the_fields_a_stage_still_needs_read_as_a_chinese_list(console_bot):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("线索 新建 张三 公司=深圳某某科技有限公司 地区=east")
    li.exec("线索 转化 L-1 金额=12万")
    out = li.exec("推进 D-1")
    assert "进入「方案报价」需要" in out and "预计成交日期、预算" in out and "预计成交日期, 预算" not in out
    emma = console_bot("emma")
    emma.exec('lead add "Ann Lee" company=Acme')
    emma.exec("lead convert L-2 amount=50000")
    assert "close_date, budget" in emma.exec("advance D-2")
