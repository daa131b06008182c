"""Normalisation of contact data: e-mail addresses, phone numbers and company names.

Pure functions, standard library only. Each ``normalize_*`` function is idempotent: feeding
its output back in returns the same value.

* :func:`normalize_email` -> lower-cased ASCII address, or ``None`` when implausible.
* :func:`normalize_phone` -> E.164-style ``+<digits>`` string, or ``None``. Chinese mobiles
  and landlines are checked strictly; other countries only by length.
* :func:`normalize_company` -> a dedupe key (not a display name): legal forms and place
  names are stripped, so "深圳市某某科技有限公司" and "某某科技" share a key, as do
  "ACME Co., Ltd." and "acme". Industry words are kept ("某某网络" != "某某科技").
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "company_keys_equal",
    "company_places",
    "places_differ",
    "normalize_company",
    "normalize_email",
    "normalize_phone",
]

# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------

# RFC 5322 "atext" plus dots; quoted local parts are not accepted.
_LOCAL_RE = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_TLD_RE = re.compile(r"[a-z]{2,}")


def normalize_email(raw: str) -> str | None:
    """Return ``raw`` stripped and lower-cased, or ``None`` if it is not a plausible address.

    Plausible means: ASCII only, exactly one ``@``, a non-empty local part made of RFC 5322
    atext characters with no leading, trailing or doubled dot, and a domain of at least two
    dot-separated labels, each ``[a-z0-9-]`` not starting or ending with ``-``, whose last
    label (the TLD) is at least two letters. Length limits: local part 64, domain 253.
    """
    s = raw.strip()
    # Check ASCII before lower-casing: some non-ASCII letters (e.g. KELVIN SIGN) lower to ASCII.
    if not s or not s.isascii():
        return None
    s = s.lower()
    if s.count("@") != 1:
        return None
    local, domain = s.split("@")
    if not local or len(local) > 64 or not _LOCAL_RE.fullmatch(local):
        return None
    if len(domain) > 253:
        return None
    labels = domain.split(".")
    if len(labels) < 2:
        return None
    if not all(len(label) <= 63 and _LABEL_RE.fullmatch(label) for label in labels):
        return None
    if not _TLD_RE.fullmatch(labels[-1]):
        return None
    return s


# --------------------------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------------------------

_PHONE_MAX_LEN = 64
_PHONE_SEPARATORS_RE = re.compile(r"[\s\-.()]")
_PHONE_CHARS_RE = re.compile(r"\+?[0-9]+")
# An explicit extension marker at the end: "ext 12", "ext. 12", "x12", "转 12", "分机12".
_EXPLICIT_EXT_RE = re.compile(
    r"(?P<main>.*?)[\s,;]*(?:ext\.?|x|转|分机)[\s.:]*(?P<ext>[0-9]{1,6})", re.IGNORECASE | re.DOTALL
)
# A trailing "-1234" group that may be an extension (only tried if the whole string fails).
_DASH_EXT_RE = re.compile(r"(?P<main>.*\S)\s*-\s*(?P<ext>[0-9]{1,6})", re.DOTALL)
_CN_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
# National significant number of a landline: area code without its leading 0, then the local
# number. Two-digit area codes are 10 and 20-29; all others are three digits starting 3-9.
_CN_LANDLINE_RE = re.compile(r"(?:10|2[0-9])[0-9]{7,8}|[3-9][0-9]{2}[0-9]{7,8}")


def _classify_phone(compact: str, extension: bool) -> str | None:
    """Normalise ``compact`` (``+?digits``); ``extension`` says an extension was dropped."""
    if compact.startswith("+"):
        international: str | None = compact[1:]
    elif compact.startswith("00"):
        international = compact[2:]
    else:
        international = None

    if international is not None:
        if international.startswith("86"):
            nsn = international[2:]
            if _CN_MOBILE_RE.fullmatch(nsn):
                return None if extension else "+86" + nsn
            if _CN_LANDLINE_RE.fullmatch(nsn):
                return "+86" + nsn
            return None
        if international.startswith("0") or not 8 <= len(international) <= 15:
            return None
        return "+" + international

    # National forms.
    if _CN_MOBILE_RE.fullmatch(compact):
        return None if extension else "+86" + compact
    if compact.startswith("86") and _CN_MOBILE_RE.fullmatch(compact[2:]):
        return None if extension else "+" + compact
    if compact.startswith("0") and _CN_LANDLINE_RE.fullmatch(compact[1:]):
        return "+86" + compact[1:]
    return None


def _compact_phone(text: str) -> str | None:
    compact = _PHONE_SEPARATORS_RE.sub("", text)
    return compact if _PHONE_CHARS_RE.fullmatch(compact) else None


def normalize_phone(raw: str) -> str | None:
    """Return the number as ``+<country code><number>``, or ``None`` if it is not valid.

    Spaces (any whitespace), dashes, dots and parentheses are ignored; full-width characters
    are folded with NFKC first ("１３８…", "（０１０）" work). Accepted:

    * Chinese mobile ``1[3-9]`` + 9 digits, optionally prefixed ``+86``, ``86`` or ``0086``.
    * Chinese landline ``0`` + area code + 7-8 digit local number, or ``+86``/``0086`` + area
      code without its ``0``. Area codes: ``10``, ``20``-``29``, or three digits ``3xx``-``9xx``.
      An extension (``ext``, ``x``, ``转``, ``分机`` or a final ``-digits`` group) is dropped.
      A final ``-digits`` group is only read as an extension when the whole string is not
      already a valid number ("0755-8888-6666" is one number).
    * Other countries: ``+`` or ``00``, a country code not starting with ``0``, 8-15 digits in
      all. An explicit extension marker is dropped; a ``-digits`` group is not an extension.

    ``+86`` numbers that fail the Chinese rules, mobiles with an extension, bare ``86`` +
    landline, ``+86 0…`` (trunk zero kept after the country code) and input longer than 64
    characters are rejected.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    # Real numbers, even formatted with an extension, are far shorter; the cap also bounds
    # the regex work on hostile input.
    if not text or len(text) > _PHONE_MAX_LEN:
        return None

    match = _EXPLICIT_EXT_RE.fullmatch(text)
    if match is not None:
        compact = _compact_phone(match["main"])
        return _classify_phone(compact, extension=True) if compact else None

    compact = _compact_phone(text)
    if compact is not None:
        result = _classify_phone(compact, extension=False)
        if result is not None:
            return result

    match = _DASH_EXT_RE.fullmatch(text)
    if match is not None:
        compact = _compact_phone(match["main"])
        if compact is not None:
            result = _classify_phone(compact, extension=True)
            # Only a Chinese landline may carry a "-digits" extension (mobiles are refused
            # by _classify_phone when extension=True).
            if result is not None and result.startswith("+86"):
                return result
    return None


# --------------------------------------------------------------------------------------------
# Company
# --------------------------------------------------------------------------------------------

# The 34 provincial-level divisions, short names (suffixes are added below).
_PROVINCES = (
    "北京", "天津", "上海", "重庆",
    "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东",
    "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "台灣", "臺灣",
    "内蒙古", "广西", "西藏", "宁夏", "新疆",
    "香港", "澳门", "澳門",
)  # fmt: skip
_PROVINCE_FULL_NAMES = (
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
_CITIES = (
    "深圳", "广州", "杭州", "成都", "苏州", "南京", "武汉", "西安", "青岛", "厦门", "宁波",
    "长沙", "郑州", "合肥", "东莞", "佛山", "无锡", "大连", "济南", "沈阳", "昆明", "福州",
    "哈尔滨", "石家庄", "长春", "南昌", "贵阳", "南宁", "太原", "珠海", "中山", "惠州",
    "温州", "绍兴", "嘉兴", "常州", "烟台", "泉州", "南通", "徐州", "潍坊", "台州", "金华",
    "扬州", "盐城", "镇江", "泰州", "湖州", "洛阳", "唐山", "保定", "兰州", "乌鲁木齐",
    "呼和浩特", "海口", "三亚", "银川", "西宁", "拉萨", "汕头", "江门", "湛江", "芜湖",
    "宜昌", "襄阳", "株洲", "赣州", "绵阳", "遵义", "柳州", "桂林", "包头", "临沂", "淄博",
    "威海", "漳州", "廊坊",
)  # fmt: skip
_COUNTRY = ("中国",)
# Only recognised inside parentheses, e.g. "Acme (China) Ltd".
_LATIN_PLACES = (
    "china", "prc", "hong kong", "hongkong", "hk", "macau", "macao", "taiwan", "beijing",
    "shanghai", "shenzhen", "guangzhou", "hangzhou", "chengdu", "tianjin", "chongqing",
    "suzhou", "nanjing", "wuhan", "xi'an", "xian",
)  # fmt: skip

_PLACE_NAMES: frozenset[str] = frozenset(
    [*_PROVINCE_FULL_NAMES]
    + [name + suffix for name in (*_PROVINCES, *_CITIES, *_COUNTRY) for suffix in ("", "省", "市")]
    + [name + "自治区" for name in ("内蒙古", "广西", "西藏", "宁夏", "新疆")]
    + [name + "特别行政区" for name in ("香港", "澳门")]
)
_PAREN_PLACE_NAMES: frozenset[str] = _PLACE_NAMES | frozenset(_LATIN_PLACES)


def _alternation(words: frozenset[str] | tuple[str, ...], *, reverse: bool = False) -> str:
    # Longest first, so "深圳市" wins over "深圳" and "有限责任公司" over "公司".
    ordered = sorted(words, key=lambda w: (-len(w), w))
    return "|".join(re.escape(w[::-1] if reverse else w) for w in ordered)


_PLACE_ALT = _alternation(_PLACE_NAMES)
_PAREN_RE = re.compile(r"\(([^()]*)\)")
_LEADING_PLACE_RE = re.compile(rf"^(?:{_PLACE_ALT})")
_LEADING_THE_RE = re.compile(r"^the\b")

_CN_LEGAL_FORMS = (
    "集团股份有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "股份公司",
    "有限合伙", "分公司", "工作室", "集团", "集團", "公司",
)  # fmt: skip
# Suffixes are matched on the reversed string with an anchored regex: an unanchored "…$"
# search would try the whole alternation at every position, quadratic on long input.
# "分公司" may be preceded by the branch's place: "某某科技有限公司深圳分公司".
_CN_SUFFIX_REV_RE = re.compile(
    rf"(?:司公分(?:{_alternation(_PLACE_NAMES, reverse=True)})|"
    rf"{_alternation(_CN_LEGAL_FORMS, reverse=True)})"
)
_EN_LEGAL_FORMS = (
    "incorporated", "inc", "limited", "ltd", "llc", "llp", "lp", "company", "co", "corporation",
    "corp", "gmbh", "plc", "sa", "ag", "bv", "nv", "pty", "pte", "pvt",
)  # fmt: skip
# Short forms may be written with dots: "l.l.c", "s.a", "b.v" (a final dot is trimmed earlier).
_EN_DOTTED = {"llc", "llp", "plc", "sa", "ag", "bv", "nv"}
_EN_SUFFIX_REV_RE = re.compile(
    "(?:"
    + "|".join(r"\.?".join(f[::-1]) if f in _EN_DOTTED else f[::-1] for f in _EN_LEGAL_FORMS)
    + r")\b"
)


@lru_cache(maxsize=8192)  # one category lookup per distinct character, not per occurrence
def _is_junk(ch: str) -> bool:
    """Whitespace, punctuation, symbols and control/format characters."""
    category = unicodedata.category(ch)
    return category[0] in "ZPS" or category in ("Cc", "Cf")


def _strip_junk(s: str) -> str:
    return "".join(ch for ch in s if not _is_junk(ch))


def _trim_junk(s: str) -> str:
    start, end = 0, len(s)
    while start < end and _is_junk(s[start]):
        start += 1
    while end > start and _is_junk(s[end - 1]):
        end -= 1
    return s[start:end]


def _canon(s: str) -> str:
    """NFKC + lower-case, repeated until stable (the two do not always commute)."""
    for _ in range(8):
        t = unicodedata.normalize("NFKC", s).lower()
        if t == s:
            break
        s = t
    return s


def _strip_suffix(s: str, reversed_re: re.Pattern[str]) -> str:
    match = reversed_re.match(s[::-1])
    return s[: len(s) - match.end()] if match else s


def _drop_place_parens(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return " " if m[1].strip() in _PAREN_PLACE_NAMES else m[0]

    return _PAREN_RE.sub(repl, s)


# A place name is part of the identity of banks, universities, hospitals …: 北京银行 and 上海银行 are two
# companies, as are 上海交通大学 and 北京交通大学. Keep the place when what follows names an institution or
# is too short to identify a company by itself.
_INSTITUTION_ENDINGS = ("银行", "大学", "学院", "医院", "中学", "小学", "证券", "保险", "电视台", "日报", "机场",
                        "地铁", "研究院", "研究所", "政府", "农商行", "信用社", "海关", "图书馆", "博物馆")


def _strip_leading_place(s: str) -> str:
    stripped = _trim_junk(_LEADING_PLACE_RE.sub("", s))
    if stripped == s:
        return s
    core = _trim_junk(_strip_suffix(stripped, _CN_SUFFIX_REV_RE))
    if len(core) <= 2 or core.endswith(_INSTITUTION_ENDINGS):
        return s
    return stripped


def _reduce(s: str) -> str:
    """Strip place names and legal forms from canonical text, then drop all junk."""
    while True:
        before = s
        s = _trim_junk(_drop_place_parens(s))
        s = _trim_junk(_LEADING_THE_RE.sub("", s))
        s = _strip_leading_place(s)
        s = _trim_junk(_strip_suffix(s, _CN_SUFFIX_REV_RE))
        s = _trim_junk(_strip_suffix(s, _EN_SUFFIX_REV_RE))
        if s == before:
            return _strip_junk(s)


def strip_legal_forms(text: str) -> str:
    """`text` (folded: NFKC, lower case) without its trailing legal forms, repeatedly: "深圳某某科技有限公司" →
    "深圳某某科技", "acme holdings co., ltd." → "acme holdings". Places and junk inside are kept."""
    while True:
        before = text
        text = _trim_junk(_strip_suffix(text, _CN_SUFFIX_REV_RE))
        text = _trim_junk(_strip_suffix(text, _EN_SUFFIX_REV_RE))
        if text == before:
            return text


def _company_step(s: str) -> str:
    return _canon(_reduce(s)) or _canon(_strip_junk(s)) or _canon("".join(s.split()))


_PLACE_SUFFIXES = ("特别行政区", "自治区", "省", "市")


def company_places(raw: str) -> tuple[tuple[str, ...], str]:
    """The Chinese places a company name starts with, without 省/市, and the rest of the name (lower case):
    "广东省深圳市某某科技" → (广东, 深圳), "某某科技". Its company key leaves those places out."""
    s, places = _trim_junk(_canon(raw)), []
    while (m := _LEADING_PLACE_RE.match(s)) is not None and m.end() < len(s):
        place = m[0]
        places.append(next((place[:-len(x)] for x in _PLACE_SUFFIXES if place.endswith(x) and place != x), place))
        s = _trim_junk(s[m.end():])
    return tuple(places), s


SAME_KEY_READ = 20  # records of one company key read to compare their places; more than one key ever has


def places_differ(a: str, b: str) -> bool:
    """Two names of one company key that say different places: 广州华星科技 and 深圳华星科技有限公司 are two
    companies (a company is registered in its city), while 华星科技 may be either."""
    (pa, _), (pb, _) = company_places(a), company_places(b)
    return bool(pa and pb) and pa[-1] != pb[-1]


@lru_cache(maxsize=1 << 16)  # an import normalises each distinct company once (pure function of its input)
def normalize_company(raw: str) -> str:
    """Return a dedupe key for a company name.

    NFKC-folded and lower-cased; parenthesised place names ("（深圳）", "(China)") removed;
    a leading "the", a leading Chinese place name (with optional 省/市/自治区), and trailing
    legal forms (有限公司, 股份有限公司, 集团, 分公司, …; Inc, Ltd, Co, Corp, GmbH, LLC, …)
    stripped repeatedly; then all whitespace, punctuation and symbols dropped.

    English legal forms are only stripped as separate words ("acmeinc" keeps its "inc").
    If stripping leaves nothing ("Company Ltd", "深圳"), the key is the input with whitespace
    and punctuation removed; if that is empty too, the input with only whitespace removed
    ("!!!" -> "!!!"). Blank input gives "". The steps are repeated until the key is stable,
    which makes the function idempotent.
    """
    key = _canon(raw)
    for _ in range(32):
        nxt = _company_step(key)
        if nxt == key:
            break
        key = nxt
    return key


def company_keys_equal(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` have the same company key. Blank names never match."""
    key_a = normalize_company(a)
    return bool(key_a) and key_a == normalize_company(b)
