"""Words people type and words stored as data, in both languages: pure tables, no sentences.

crm_core reads Chinese *input* (12万, 电话, a CSV header 姓名) and stores a few names in the company's
language (a renewal deal is named "某某科技 续约 C-4"). Those tables live here, and only here, so that
every other crm_core module is free of human language (tests/test_architecture.py checks it). Sentences a
person reads are in the catalogs under cards/.
"""
from __future__ import annotations

from decimal import Decimal

# Suffixes of a typed amount: 12万, 1.2w, 3k, 2m, 1亿.
MONEY_MULTIPLIERS = {"万": Decimal(10000), "w": Decimal(10000), "k": Decimal(1000), "m": Decimal(1000000),
                     "亿": Decimal(100000000)}

# `log D-7 电话 …`: activity kinds typed in Chinese.
ACTIVITY_KIND_ALIASES = {"电话": "call", "会议": "meeting", "拜访": "meeting", "邮件": "email", "备注": "note",
                         "笔记": "note"}

# Column headers the lead importer recognises (lower-cased), per canonical field.
IMPORT_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "contact", "contact name", "姓名", "名字", "联系人", "客户姓名"),
    "company": ("company", "company name", "account", "organization", "organisation", "公司", "公司名称", "企业",
                "企业名称", "单位"),
    "email": ("email", "e-mail", "mail", "email address", "邮箱", "电子邮件", "电子邮箱"),
    "phone": ("phone", "mobile", "tel", "telephone", "phone number", "电话", "手机", "手机号", "联系电话", "电话号码"),
    "source": ("source", "lead source", "channel", "来源", "渠道", "线索来源"),
    "region": ("region", "area", "地区", "区域", "大区"),
    "industry": ("industry", "sector", "行业", "所属行业"),
    "product": ("product", "interest", "产品", "意向产品"),
    "tags": ("tags", "labels", "标签"),
}

# `lead set L-1 金额=…`: the amount belongs on the deal (the refusal suggests lead convert).
AMOUNT_KEYS = ("amount", "金额")

# `contract set C-1 使用率=80`.
CONTRACT_FIELD_ALIASES = {"usage_pct": "usage", "使用率": "usage"}

# The word in a renewal deal's stored name, in the company's language (config.company.locale).
RENEWAL_WORD = {"zh_CN": "续约", "en": "renewal"}
