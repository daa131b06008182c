"""lead add / lead merge / lead split / undo through the console (same runner as Slack and WeCom), in English and
Chinese: the same-company hint with its merge button, the merge notice to the other owner, split and undo."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from crm_core.models import Activity, Lead, LeadMerge, OutboxMessage, User


def open_leads(wiring) -> list[str]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return list(s.scalars(select(Lead.name).where(Lead.status == "open").order_by(Lead.id)))


def test_bob_gets_his_own_lead_and_the_merge_button_merges_it_in_english(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('lead add "Ann Lee" company="Acme Inc." email=ann@acme.com')
    out = emma.exec("lead add Bob company='ACME, Inc'")
    assert "Lead L-2 · Bob" in out and "New lead, assigned to Emma Jones." in out
    assert "Same company as L-1 (owner Emma Jones)" in out and "[3] Merge into L-1" in out
    emma.exec("log L-2 note met Bob at the expo")
    out = emma.exec("lead L-2")
    out = emma.exec("lead add Bob company='ACME, Inc'")  # Bob again: his lead, not Ann's
    assert "Already known (same name at the same company): updated L-2" in out
    out = console_bot("emma").exec("lead merge L-2 L-1")
    assert "Merged L-2 into L-1: moved 1 activities and 0 tasks" in out and "lead split L-2" in out
    assert open_leads(wiring) == ["Ann Lee"]
    assert "L-2 · Bob" not in emma.exec("lead list")
    out = emma.exec("lead L-2")
    assert re.search(r"Status +: Merged\n", out) and "Merged into L-1" in out
    out = emma.exec("undo")
    assert "Split: L-2 is a lead of its own again" in out
    assert open_leads(wiring) == ["Ann Lee", "Bob"]
    with wiring.session_factory() as s:
        assert s.scalar(select(Activity.lead_id).where(Activity.text == "met Bob at the expo")) == 2


def test_pressing_the_merge_button_merges_the_two_leads(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('lead add "Ann Lee" company="Acme Inc."')
    emma.exec("lead add Bob company='ACME, Inc'")
    out = emma.exec("3")  # [3] Merge into L-1
    assert "Merged L-2 into L-1" in out
    assert open_leads(wiring) == ["Ann Lee"]


def test_the_same_walk_in_chinese_with_the_other_owner_told(console_bot, wiring, outbox_rows):  # type: ignore[no-untyped-def]
    li, wang = console_bot("li"), console_bot("wang")
    li.exec("线索 新建 李雷的客户 公司=深圳某某科技有限公司 电话=13800138000")
    han = console_bot("han")
    out = han.exec("线索 新建 李四 公司=某某科技（深圳）有限公司")
    assert "线索 L-2 · 李四" in out and "与 L-1 同一公司（负责人 李雷）" in out and "合并到 L-1" in out
    assert "没有权限" in han.exec("线索 合并 L-2 L-1")  # han may not touch li's lead
    out = wang.exec("线索 合并 L-2 L-1")  # their manager may
    assert "已将 L-2 合并到 L-1" in out and "线索 拆分 L-2" in out
    with wiring.session_factory() as s:
        told = {s.get(User, r.target_id).key: r.payload for r in outbox_rows("lead.merged")}
    assert sorted(told) == ["han", "li"]
    assert "王" in str(told["li"]) and "合并到了 L-1" in str(told["li"])
    out = wang.exec("线索 拆分 L-2")
    assert "已拆分：L-2 重新成为独立线索" in out
    assert open_leads(wiring) == ["李雷的客户", "李四"]
    assert sorted(r.target_id for r in outbox_rows("lead.split")) == sorted(
        [r.target_id for r in outbox_rows("lead.merged")])
    assert "没有可拆分的合并记录" in wang.exec("线索 拆分 L-2")
    assert "没有可撤销" in li.exec("撤销")


def test_a_duplicate_with_differing_values_says_what_was_kept_and_can_be_split(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("lead add Ann email=ann@acme.com phone=13800138000")
    out = emma.exec("lead add Ann email=ANN@acme.com phone=13900139000")
    assert "Already known (same email): updated L-1" in out
    assert "phone=+8613900139000" in out and "merge record" in out
    out = emma.exec("lead split L-1")
    assert "Split: what was merged into L-1 is now a lead of its own, L-2" in out
    with wiring.session_factory() as s:
        assert s.get(Lead, 2).phone == "+8613900139000" and s.get(Lead, 1).phone == "+8613800138000"
        assert s.scalar(select(func.count(LeadMerge.id)).where(LeadMerge.split_at.is_not(None))) == 1


def test_bad_merge_commands_get_usage_and_change_nothing(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("lead add Ann email=ann@acme.com")
    assert "lead merge <L-id> <L-id>" in emma.exec("lead merge L-1")
    assert "L-9 was not found" in emma.exec("lead merge L-9 L-1")
    assert "two different leads" in emma.exec("lead merge L-1 L-1")
    assert "要保留的线索编号" in console_bot("li").exec("线索 合并 L-1")
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(LeadMerge.id))) == 0
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "lead.merged")) == 0


def test_the_grammar_reads_merge_split_and_undo_in_both_languages() -> None:
    from handlers.grammar import Parsed, parse
    for text in ("lead merge L-2 L-1", "线索 合并 l-2 L1"):
        parsed = parse(text)
        assert isinstance(parsed, Parsed) and parsed.name == "lead merge"
        assert (parsed.args["lead"].id, parsed.args["keep"].id) == (2, 1)
    assert parse("线索 拆分 L-2") == parse("lead split L-2")
    assert isinstance(parse("撤销"), Parsed) and parse("撤销").name == parse("undo").name == "undo"  # type: ignore[union-attr]


def test_what_was_kept_aside_is_said_in_the_readers_words(console_bot):  # type: ignore[no-untyped-def]
    """A Chinese reader saw 'email=…, region=south': field keys, a picklist key and an English comma."""
    li = console_bot("li")
    li.exec("线索 新建 张伟 邮箱=zw@acme.com 电话=13800138000 地区=华东")
    out = li.exec("线索 新建 张伟 邮箱=wei@acme.com 电话=13800138000 地区=华南")
    assert "合并记录中：地区=华南、邮箱=wei@acme.com" in out or "合并记录中：邮箱=wei@acme.com、地区=华南" in out, out


def test_a_lead_another_team_owns_is_named_not_shown_and_its_owner_is_told(console_bot, wiring, outbox_rows):  # type: ignore[no-untyped-def]
    """emma typed a phone li's lead already had: the answer was li's whole lead card (its e-mail, region, source)
    and li never heard that someone had added to it."""
    li, emma = console_bot("li"), console_bot("emma")
    li.exec("线索 新建 李四 公司=深圳华星科技有限公司 邮箱=li@hx.cn 电话=13900139000 地区=华南")
    out = emma.exec("lead add Ann L company=Initech Ltd phone=13900139000")
    assert "Already known: L-1 belongs to 李雷" in out and "lead split L-1" in out, out
    assert "li@hx.cn" not in out and "South" not in out and "深圳华星" not in out
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 1
        (told,) = [(s.get(User, r.target_id).key, r.payload) for r in outbox_rows("lead.duplicate")]
    assert told[0] == "li" and "Emma Jones 新建的线索就是你的 L-1（电话相同）" in str(told[1]), told
    # the owner's own duplicate shows the card as before and tells nobody; their manager sees the card, and the
    # owner is told (someone else added to their lead)
    assert "li@hx.cn" in li.exec("线索 新建 李四 电话=13900139000")
    assert len(outbox_rows("lead.duplicate")) == 1
    assert "li@hx.cn" in console_bot("wang").exec("线索 新建 李四 电话=13900139000")
    assert len(outbox_rows("lead.duplicate")) == 2


def test_a_colleague_typing_the_same_lead_again_is_one_notice_a_day(console_bot, wiring, outbox_rows, clock):  # type: ignore[no-untyped-def]
    li, emma = console_bot("li"), console_bot("emma")
    li.exec("线索 新建 李四 电话=13900139000")
    for _ in range(3):
        emma.exec("lead add Ann L phone=13900139000")
    assert len(outbox_rows("lead.duplicate")) == 1
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(LeadMerge.id))) == 3  # each is recorded, and can be split back
    clock.advance(days=1)
    emma.exec("lead add Ann L phone=13900139000")
    assert len(outbox_rows("lead.duplicate")) == 2


def test_a_new_lead_at_a_colleagues_customer_says_who_works_with_it(console_bot, wiring):  # type: ignore[no-untyped-def]
    """`lead add … company=深圳华星` beside 李雷's 深圳华星科技有限公司 said only "new lead": the rep called a
    colleague's customer without knowing. The answer now names who works with it (only who, as `check` does)."""
    li, emma = console_bot("li"), console_bot("emma")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    out = emma.exec("lead add Wang Wu company=深圳华星 phone=13600136000")
    assert "Lead L-1 · Wang Wu" in out and "is already worked by 李雷 (check 深圳华星 to see)" in out, out
    assert "worked by" not in emma.exec("lead add Bob company=Totally New Co")
    # li's own customer: not him to warn of; emma's lead at the same company is the merge hint, as before
    out = li.exec("线索 新建 赵六 公司=深圳华星 电话=13500135000")
    assert "与 L-1 同一公司（负责人 Emma Jones）" in out and "李雷 已在跟进" not in out, out
    emma.exec("deal new Cyberdyne GmbH amount=1")  # emma's customer, by the company key this time
    out = li.exec("线索 新建 孙八 公司=Cyberdyne 电话=13300133000")
    assert "Emma Jones 已在跟进「Cyberdyne」或名称相近的公司（可输入 查重 Cyberdyne 查看）" in out, out
