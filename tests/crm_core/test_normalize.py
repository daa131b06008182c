"""Tests for crm_core.normalize: example tables plus hypothesis properties."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.normalize import (
    company_keys_equal,
    normalize_company,
    normalize_email,
    normalize_phone,
)

# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice.Smith@Example.COM \n", "alice.smith@example.com"),
        ("bob+crm@mail.example.co.uk", "bob+crm@mail.example.co.uk"),
        ("x@a-b.io", "x@a-b.io"),
        ("o'neil@example.org", "o'neil@example.org"),
        ("user@123.example.cn", "user@123.example.cn"),
    ],
)
def test_normalize_email_accepts(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.com",  # empty local part
        "a@@example.com",
        "a@b@example.com",  # two @
        "alice@localhost",  # no dot in domain
        "alice@example.c",  # TLD too short
        "alice@example.c0m",  # TLD not letters
        "alice@example.123",
        "alice @example.com",  # inner space
        "alice@exa mple.com",
        "alice@-example.com",  # label starts with '-'
        "alice@example-.com",  # label ends with '-'
        "alice@exam_ple.com",  # '_' not allowed in domain
        "alice@.example.com",  # empty label
        "alice@example..com",
        "alice@example.com.",  # trailing dot: empty label
        ".alice@example.com",  # dot rules in local part
        "alice.@example.com",
        "al..ice@example.com",
        "用户@example.com",  # ASCII only
        "alice@例子.中国",
        "alice@bücher.de",
        "\u212a@example.com",  # KELVIN SIGN lower-cases to ASCII 'k': still rejected
        "a" * 65 + "@example.com",
    ],
)
def test_normalize_email_rejects(raw: str) -> None:
    assert normalize_email(raw) is None


# --------------------------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Chinese mobiles
        ("138 0013 8000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("138.0013.8000", "+8613800138000"),
        ("(138) 0013 8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-13800138000", "+8613800138000"),
        ("(+86) 13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("19912345678", "+8619912345678"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits
        # Chinese landlines
        ("010-12345678", "+861012345678"),
        ("(010) 12345678", "+861012345678"),
        ("（010）12345678", "+861012345678"),  # full-width parentheses
        ("021 6123 4567", "+862161234567"),
        ("020-1234567", "+86201234567"),  # 7-digit local number
        ("0755-8888 6666", "+8675588886666"),
        ("0755-8888-6666", "+8675588886666"),  # dashes group digits, not an extension
        ("0571 8765 4321", "+8657187654321"),
        ("0991-1234567", "+869911234567"),
        ("+86 755 88886666", "+8675588886666"),
        ("+86 10 12345678", "+861012345678"),
        ("0086 21 61234567", "+862161234567"),
        # extensions are dropped
        ("010-12345678-123", "+861012345678"),
        ("010-12345678 ext 123", "+861012345678"),
        ("010-12345678 ext. 123", "+861012345678"),
        ("010-12345678EXT123", "+861012345678"),
        ("0755-88886666转801", "+8675588886666"),
        ("0755 8888 6666 转 801", "+8675588886666"),
        ("+86 755 88886666-801", "+8675588886666"),
        # international
        ("+1 415 555 2671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("001 415 555 2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 1234567", "+49301234567"),
        ("+12345678", "+12345678"),  # 8 digits: minimum
        ("+123456789012345", "+123456789012345"),  # 15 digits: maximum
        ("+1 415 555 2671 ext 9", "+14155552671"),  # explicit marker: dropped
    ],
)
def test_normalize_phone_accepts(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "138 0013 800O",  # letter O
        "tel: 13800138000",
        "12345",  # too short
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "12800138000",  # 1[3-9] required
        "23800138000",
        "+86 138 0013 800",  # +86 must follow Chinese rules
        "+86 12345678",
        "+86 010 12345678",  # trunk 0 kept after +86
        "+86 1234567890123",
        "86 10 12345678",  # bare 86 only for mobiles
        "010-123456",  # local number too short
        "010-123456789",  # local number too long
        "0755-123456",
        "011-12345678",  # 01x other than 010 is not an area code
        "01012345678901234",
        "12345678",  # local number without area code
        "+1234567",  # international: too short
        "+1234567890123456",  # too long
        "+0 123 456 789",  # country code starting with 0
        "000 123 456 789",
        "+",
        "++8613800138000",
        "138+00138000",
        "13800138000 ext 12",  # mobiles have no extension
        "138-0013-8000-12",
        "+1 415 555 2671-12345",  # "-digits" is never an extension abroad
        "138/0013/8000",
    ],
)
def test_normalize_phone_rejects(raw: str) -> None:
    assert normalize_phone(raw) is None


# --------------------------------------------------------------------------------------------
# Company
# --------------------------------------------------------------------------------------------

MOUMOU_VARIANTS = [
    "某某科技",
    "深圳某某科技有限公司",
    "某某科技（深圳）有限公司",
    "某某科技(深圳)有限公司",
    "深圳市某某科技有限公司",
    "某某科技股份有限公司",
    "北京某某科技有限责任公司",
    "某某科技（深圳市）有限公司",
    "广东省某某科技有限公司",
    "中国某某科技集团有限公司",
    "某某科技集团",
    "某某科技有限公司深圳分公司",
    "某某科技(集团)有限公司",
    "  某某科技 有限公司 ",
    "新疆维吾尔自治区某某科技有限公司",
    "某某科技(香港)有限公司",
]

ACME_VARIANTS = [
    "acme",
    "Acme Inc.",
    "ACME, Inc",
    "Acme Incorporated",
    "The Acme Company Ltd",
    "ACME Co., Ltd.",
    "Acme GmbH",
    "Acme LLC",
    "Acme Corp.",
    "Acme Corporation",
    "Acme Limited",
    "Acme PLC",
    "Acme S.A.",
    "Acme AG",
    "Acme B.V.",
    "Acme Pty Ltd",
    "Acme Pte. Ltd.",
    "ACME (China) Co., Ltd.",
    "ＡＣＭＥ　Ｉｎｃ．",  # full-width letters and ideographic space
    "Acme®",
]


@pytest.mark.parametrize("raw", MOUMOU_VARIANTS)
def test_normalize_company_chinese_variants(raw: str) -> None:
    assert normalize_company(raw) == normalize_company("某某科技") == "某某科技"
    assert company_keys_equal(raw, "某某科技")


@pytest.mark.parametrize("raw", ACME_VARIANTS)
def test_normalize_company_english_variants(raw: str) -> None:
    assert normalize_company(raw) == normalize_company("acme") == "acme"
    assert company_keys_equal(raw, "Acme")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Robotics", "acme"),
        ("Acme Robotics Inc.", "Acme Inc."),
        ("某某网络", "某某科技"),
        ("某某网络有限公司", "深圳某某科技有限公司"),
        ("某某科技(研发中心)", "某某科技"),  # only place names are removed from parentheses
        ("acmeinc", "acme"),  # a legal form must be its own word
        ("Theater Co", "ater"),  # "the" only as a word
        ("深圳", "北京"),
        ("Company Ltd", "Limited"),
    ],
)
def test_normalize_company_distinct(a: str, b: str) -> None:
    assert normalize_company(a) != normalize_company(b)
    assert not company_keys_equal(a, b)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Robotics", "acmerobotics"),
        ("某某网络", "某某网络"),
        ("某某科技(研发中心)有限公司", "某某科技研发中心"),
        # nothing left after stripping: fall back to the input without punctuation
        ("深圳", "深圳"),
        ("深圳市有限公司", "深圳市"),
        ("Company Ltd.", "companyltd"),
        ("The Co.", "theco"),
        ("Inc.", "inc"),
        # no letters at all
        ("!!!", "!!!"),
        ("! ! !", "!!!"),
        ("12 34", "1234"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_company_examples(raw: str, expected: str) -> None:
    assert normalize_company(raw) == expected


def test_company_keys_equal_blank_never_matches() -> None:
    assert not company_keys_equal("", "")
    assert not company_keys_equal("  ", "")


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

# Text biased toward the interesting parts of each grammar, mixed with arbitrary text.
phone_like = st.one_of(
    st.text(),
    st.from_regex(
        r"(\+|00|\+86|0086|86)?[ 0-9\-.()]{6,22}((ext|x|转|-) ?[0-9]{1,4})?", fullmatch=True
    ),
    st.from_regex(r"1[3-9][0-9]{9}|0(10|2[0-9]|[3-9][0-9]{2})-?[0-9]{7,8}", fullmatch=True),
)
email_like = st.one_of(st.text(), st.emails().map(lambda e: f" {e.upper()} "))
company_tokens = st.sampled_from(
    [
        "深圳", "深圳市", "北京", "中国", "广东省", "内蒙古自治区", "(", ")", "（", "）", "·",
        "某某", "科技", "网络", "有限公司", "股份", "有限责任公司", "集团", "分公司", "公司",
        "工作室", " ", ",", ".", "-", "the", "The ", "acme", "Acme", "inc", "Inc.", "co",
        "Co.,", "ltd", "s.a", "llc", "gmbh", "company", "Robotics", "ＡＣＭＥ", "ſ", "İ",
        "\u0301", "\u200b", "ǅ", "ß", "ﬁ", "㍿",
    ]
)  # fmt: skip
company_like = st.one_of(
    st.text(),
    st.lists(company_tokens, max_size=8).map("".join),
    st.lists(st.one_of(company_tokens, st.text(max_size=3)), max_size=6).map("".join),
)


@given(st.text())
def test_functions_never_raise(raw: str) -> None:
    normalize_email(raw)
    normalize_phone(raw)
    normalize_company(raw)
    company_keys_equal(raw, raw)


@given(email_like)
def test_normalize_email_idempotent(raw: str) -> None:
    once = normalize_email(raw)
    if once is not None:
        assert normalize_email(once) == once
        assert once == once.strip().lower() and once.isascii()


@given(phone_like)
def test_normalize_phone_idempotent(raw: str) -> None:
    once = normalize_phone(raw)
    if once is not None:
        assert normalize_phone(once) == once
        assert once.startswith("+") and once[1:].isdigit() and 8 <= len(once) - 1 <= 15


@given(company_like)
def test_normalize_company_idempotent(raw: str) -> None:
    once = normalize_company(raw)
    assert normalize_company(once) == once


def _has_letter_or_cjk(text: str) -> bool:
    # str.isalpha covers CJK ideographs (category Lo) as well as Latin and other letters.
    return any(ch.isalpha() or unicodedata.category(ch) == "Lo" for ch in text)


@given(company_like)
def test_normalize_company_not_empty_when_text_has_letters(raw: str) -> None:
    if _has_letter_or_cjk(raw):
        assert normalize_company(raw) != ""


@given(company_like)
def test_company_keys_equal_is_reflexive_for_nonblank(raw: str) -> None:
    if normalize_company(raw):
        assert company_keys_equal(raw, raw)


@pytest.mark.parametrize("a,b", [("北京银行", "上海银行"), ("上海交通大学", "北京交通大学"), ("中国银行", "建设银行"),
                                 ("中山大学", "中南大学"), ("深圳市人民医院", "广州市人民医院")])
def test_a_place_name_that_identifies_an_institution_is_kept(a: str, b: str) -> None:
    assert not company_keys_equal(a, b)
    assert normalize_company("上海银行股份有限公司") == normalize_company("上海银行")
