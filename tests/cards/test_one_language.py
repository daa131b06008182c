"""One language per reader: what a Chinese user reads has no untranslated English in it.

Every usage text and every Chinese catalog message is checked, and a Chinese rep's and manager's whole
working day through the console (every card the commands and buttons answer with, and every card the outbox
holds for a Chinese reader) is rendered and read. Allowed ASCII words: record references (D-7), numbers,
currency, dates, brand and product names, and the people's and products' names from the configuration."""
from __future__ import annotations

import re

from sqlalchemy import select

from cards.i18n import messages
from cards.model import Card
from cards.render.console import render_card
from crm_core.config import load_config
from crm_core.models import OutboxMessage, User
from crm_core.services.users import locale_of
from handlers.grammar import SPECS

# and names typed as they are: a free-text field key of the example configuration (budget=yes), the column and
# REST field names of imports and payments, a product word
TYPED = {"budget", "yes", "name", "external_id", "order_id", "invoice_no", "VPN", "shenzhen", "szmm"}  # + pinyin examples
BRANDS = TYPED | {"chatcrm", "crm", "Slack", "WeCom", "CRM", "PDF", "HTML", "CSV", "PNG", "SKU", "SLA", "NPS", "nps", "CSAT",
          "ID", "UTF", "YYYY", "MM", "DD", "VP", "ERP", "SLACK_ALLOWED_TEAMS", "font", "color", "comment", "console",
          "as", "pending",  # `chatcrm console --as li`, WeCom's <font color="comment"> markup, a status in the database
          "SQLite", "PostgreSQL", "Excel", "REST", "Web"}  # what an operator runs: cards/operator.py
WORD = re.compile(r"(?<![\w@./:#-])[A-Za-z][A-Za-z_]+(?![\w@-])")


def _allowed() -> set[str]:
    config = load_config(None)
    names = {w for u in config.users for w in re.findall(r"[A-Za-z]+", f"{u.name} {u.key}")}
    products = {w for p in config.products for w in re.findall(r"[A-Za-z]+", f"{p.name} {p.sku}")}
    commands = {s.words[0] for s in SPECS}  # "英文命令同样可用（lead、deal …）"; never a second word (商机 set)
    return BRANDS | names | products | commands | {"CNY", "USD", "EUR", "GBP", "JPY", "HKD"}


def english_words(text: str) -> list[str]:
    text = re.sub(r"\{[^}]*\}", "", text)  # placeholders
    text = re.sub(r"\b[A-Z]+-\d+\b|\S+@\S+|https?://\S+", "", text)  # refs, e-mails, links
    text = re.sub(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", "", text)  # environment variables (DATABASE_URL)
    allowed = _allowed()
    return [w for w in WORD.findall(text) if w not in allowed]


def test_the_detector_finds_english_and_lets_references_and_names_pass() -> None:
    assert english_words("请先填写：close_date, budget, amount") == ["close_date", "amount"]  # budget: typed as is
    assert english_words("「deal set」的用法：商机 set D-1") == ["set", "set"]
    assert english_words("商机 D-7 · 专业版 Professional · ¥1,200.00 · 负责人 Emma Jones · SLA 超时") == []


def test_every_usage_text_reads_chinese_for_a_chinese_reader() -> None:
    wrong = {s.name: english_words(" ".join([s.title("zh_CN"), *s.usage("zh_CN")])) for s in SPECS}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_every_chinese_message_in_the_catalogs_is_chinese() -> None:
    wrong = {f"{area}:{key}": english_words(text) for (area, key), text in messages("zh_CN").items()}
    assert {k: v for k, v in wrong.items() if v} == {}


CHINESE_DAY = {
    "li": ["帮助", "帮助 商机", "我的", "线索 新建 张三 公司=深圳某某科技 电话=13800138000", "线索 列表", "线索 L-1",
           "线索 转化 L-1 金额=12万", "商机 D-1", "商机 列表", "推进 D-1", "商机 设置 D-1 成交日期=2027-03-31 budget=有",
           "推进 D-1 方案报价", "记录 D-1 电话 客户说下周签", "记录 D-1", "报价 D-1", "报价 D-1 PRO x10 折扣=15", "协作群 D-1",
           "漏斗", "续费", "推近 D-1", "商机 新建 深圳某某科技", "报价 D-1 PRO x0", "商机 列表 大家", "商机 D-99",
           "工单 新建 深圳某某科技 紧急 系统无法登录", "工单 T-1", "工单 响应 T-1", "工单 关闭 T-1", "撤销", "任务 完成 #99"],
    "wang": ["我的", "商机 列表 团队", "批准 A-1 同意", "漏斗图", "1"],
    "li ": ["赢单 D-1", "合同 C-1", "合同 设置 C-1 使用率=80 nps=30", "订单 Q-1", "我的"],
}


def test_a_chinese_day_through_the_console_has_no_english(console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
    wrong: dict[str, list[str]] = {}
    for who, lines in CHINESE_DAY.items():
        session = console_bot(who.strip())
        for line in lines:
            out = session.exec(line)
            words = english_words(out)
            if words:
                wrong[f"{who.strip()}: {line}"] = words
    with wiring.session_factory() as s:
        for row in s.scalars(select(OutboxMessage).where(OutboxMessage.target_type == "user")):
            user = s.get(User, row.target_id)
            if user is None or not locale_of(user, wiring.config).startswith("zh") or "title" not in row.payload:
                continue
            text, _ = render_card(Card.from_dict(row.payload))
            words = english_words(text)
            if words:
                wrong[f"outbox {row.kind} → {user.key}"] = words
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
