"""Reading a pasted e-mail signature or business-card text into a lead's parts.

Pure: text in, `Signature` out. Chinese and English signatures, one line or many, full-width punctuation,
labels (`Tel:`, `手机：`, `E-mail`, `地址`) or none. Whatever is not understood is kept in `rest`, so the
caller can keep it with the record: nothing a person pasted is dropped.

Phone numbers are validated by crm_core.normalize.normalize_phone, the same rules the lead dedupe keys
use (a number this module calls a mobile is the number dedupe will match on).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from crm_core.normalize import normalize_phone

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
URL_RE = re.compile(r"(?:https?://|www\.)[^\s,;，；|]+|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|cn|net|org|io|co|"
                    r"com\.cn|ai|dev|biz|info|hk|tw|jp|de|uk)(?:/[^\s,;，；|]*)?\b", re.IGNORECASE)
# a run of digits with the separators people write numbers with, optionally after + or (
PHONE_RE = re.compile(r"(?<![\w@.])(?:\+|\(\+?)?\d[\d\s\-().]{5,22}\d(?:\s*(?:ext\.?|x|转|分机)\s*\d{1,6})?(?![\w@])")
LABEL_RE = re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z .\-/]{0,14}?|[\u4e00-\u9fff]{1,5})\s*[:：]\s*(?P<value>.*)$")

LABELS = {
    "name": ("姓名", "name", "联系人", "contact"),
    "title": ("职位", "职务", "title", "position", "job title", "头衔"),
    "company": ("公司", "单位", "company", "organization", "organisation", "org", "公司名称", "企业"),
    "mobile": ("手机", "移动电话", "手机号", "mobile", "mob", "m", "cell", "cellphone", "mobile phone", "handy"),
    "landline": ("电话", "座机", "办公电话", "tel", "t", "phone", "office", "direct", "telephone", "固话", "总机",
                 "直线", "p", "ph"),
    "fax": ("传真", "fax", "f"),
    "email": ("邮箱", "邮件", "电子邮件", "电邮", "email", "e-mail", "mail", "e"),
    "address": ("地址", "公司地址", "办公地址", "address", "addr", "add", "a", "地點", "地址 add"),
    "website": ("网址", "网站", "主页", "官网", "web", "website", "url", "w", "www", "site", "homepage"),
    "wechat": ("微信", "wechat", "weixin", "wx", "qq"),
}
LABEL_OF = {label: kind for kind, labels in LABELS.items() for label in labels}

CLOSINGS = re.compile(r"^(best( regards)?|kind regards|regards|thanks|thank you|many thanks|cheers|sincerely|"
                      r"yours|br|thx|此致|敬礼|祝好|顺祝商祺|谢谢|致礼|祝商祺|best wishes|--+|—+|__+)[,，.!。!]*$",
                      re.IGNORECASE)
# words that make a company wherever they stand, then words that do only at the end
COMPANY_WORDS = ("有限公司", "有限责任公司", "股份", "集团", "公司", "研究院", "研究所", "事务所", "银行", "分行", "支行",
                 "基金", "资本", "大学", "医院")
COMPANY_ENDINGS = ("工作室", "学院", "中心", "厂", "协会", "科技", "技术", "控股", "商行", "门市部")
COMPANY_RE = re.compile(r"\b(inc|ltd|llc|llp|corp|corporation|co|company|gmbh|ag|sa|s\.a|plc|limited|group|"
                        r"holdings|technologies|technology|labs|university|bank|partners|pte|bv|kk|k\.k)\b\.?",
                        re.IGNORECASE)
TITLE_WORDS = ("总监", "经理", "总裁", "总经理", "主管", "工程师", "主任", "董事", "董事长", "创始人", "合伙人", "顾问",
               "专员", "助理", "代表", "负责人", "架构师", "设计师", "秘书", "会计", "律师", "教授", "院长", "部长",
               "科长", "处长", "组长", "店长", "首席", "副总", "总工", "专家", "销售", "采购", "客服", "实习生")
TITLE_RE = re.compile(r"\b(ceo|cto|cfo|coo|cmo|cio|vp|svp|evp|avp|director|manager|engineer|head|president|founder|"
                      r"co-founder|cofounder|partner|consultant|specialist|representative|rep|officer|lead|analyst|"
                      r"architect|designer|assistant|executive|associate|sales|marketing|account|procurement|buyer|"
                      r"owner|chairman|principal|counsel|attorney|professor|developer|administrator|coordinator|"
                      r"supervisor|agent|advisor|adviser|secretary|intern|chief|gm)\b", re.IGNORECASE)
ADDRESS_WORDS = ("省", "市", "区", "县", "路", "街", "道", "号", "大厦", "大楼", "广场", "中心", "园区", "室", "层",
                 "楼", "弄", "巷", "村", "镇")
ADDRESS_RE = re.compile(r"\b(rua|calle|via|rue|strasse|straße|str\.|street|st\.|road|rd\.?|avenue|ave\.?|boulevard|blvd|suite|ste\.?|floor|fl\.?|room|rm\.?|"
                        r"building|bldg|tower|plaza|lane|drive|dr\.|way|district|park|unit|no\.|po box|p\.o\.)\b"
                        r"|\b\d{5}(-\d{4})?\b", re.IGNORECASE)
HAN = r"\u4e00-\u9fff"
HAN_NAME_RE = re.compile(rf"^[{HAN}]{{2,4}}$")
LATIN_NAME_RE = re.compile(r"^[A-ZÀ-Þ][^\W\d_]+(?:['’\-][^\W\d_]+)?(?:\s+[A-ZÀ-Þ][^\W\d_'’\-.]*\.?){0,3}$")
# a separator between parts written on one line
SPLIT_RE = re.compile(r"\s*(?:[|｜丨•·]|\s/\s|;|；|，|,(?!\s*(?:inc|ltd|llc|co|corp|gmbh|limited)\b))\s*", re.IGNORECASE)


@dataclass
class Signature:
    name: str | None = None
    title: str | None = None
    company: str | None = None
    mobile: str | None = None
    landline: str | None = None
    email: str | None = None
    address: str | None = None
    website: str | None = None
    other_phones: list[str] = field(default_factory=list)  # fax, a second number: kept, not lost
    rest: list[str] = field(default_factory=list)  # parts not understood, as typed

    @property
    def phone(self) -> str | None:
        """The number to reach the person on (and to dedupe by): the mobile, else the landline."""
        return self.mobile or self.landline

    def found(self) -> dict[str, str]:
        keys = ("name", "title", "company", "mobile", "landline", "email", "address", "website")
        return {k: getattr(self, k) for k in keys if getattr(self, k)}


def looks_like_signature(text: str) -> bool:
    """Several lines, or one line that carries an e-mail address or a phone number beside other words."""
    text = unicodedata.normalize("NFKC", text).strip()
    if "\n" in text:
        return True
    words = text.split()
    return len(words) > 1 and bool(EMAIL_RE.search(text) or _phones_in(text))


def parse_signature(text: str) -> Signature:
    sig = Signature()
    for line in _lines(text):
        _read_line(sig, line)
    if sig.name is None:  # e.g. "王五销售总监": a name glued to a title
        for i, part in enumerate(sig.rest):
            name, title = _split_name_title(part)
            if name:
                sig.name, sig.rest[i] = name, ""
                sig.title = sig.title or title
                break
    sig.rest = [r for r in sig.rest if r]
    return sig


# a link as chat platforms send it: Slack's <mailto:a@b.com|a@b.com>, <http://x.com|x.com>, <http://x.com>
CHAT_LINK_RE = re.compile(r"<(?:mailto:|https?://)([^<>|]*)(?:\|([^<>]*))?>")


def _lines(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).replace("\r", "\n")
    text = CHAT_LINK_RE.sub(lambda m: m.group(2) or m.group(1), text)
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip().strip("-–—*>").strip()
        if not line or CLOSINGS.match(line):
            continue
        out.append(line)
    return out


def _read_line(sig: Signature, line: str) -> None:
    for piece in SPLIT_RE.split(line):
        for segment in _label_segments(piece.strip()):
            kind, value = _label_of(segment)
            if kind is not None:
                if value:
                    _labelled(sig, kind, value)
            else:
                for part in _split_spaces(segment):
                    _unlabelled(sig, part)


_LABEL_ALT = "|".join(sorted((re.escape(label) for label in LABEL_OF), key=len, reverse=True))
# a label written before its value, inside a line: "Tel: 010-1234  Mobile: 139…", "手机 137…", "T +49 30…"
LABEL_AT = re.compile(rf"(?:(?<=\s)|^)(?:{_LABEL_ALT})(?:\s*[:：]|\s+(?=[+(\d]))", re.IGNORECASE)


def _label_segments(piece: str) -> list[str]:
    starts = [m.start() for m in LABEL_AT.finditer(piece)]
    if not starts:
        return [piece] if piece else []
    bounds = ([0] if starts[0] > 0 else []) + starts + [len(piece)]
    return [piece[a:b].strip() for a, b in zip(bounds, bounds[1:]) if piece[a:b].strip()]


def _label_of(segment: str) -> tuple[str | None, str]:
    m = LABEL_AT.match(segment)
    if m is None:
        return None, segment
    label = segment[:m.end()].rstrip(":： ").strip().lower()
    kind = LABEL_OF.get(label)
    value = segment[m.end():].strip()
    if kind in ("mobile", "landline", "fax") and sum(c.isdigit() for c in value) < 7:
        return None, segment  # "M" or "T" that is not a label: "T Smith"
    if kind is not None and len(label) <= 2 and not segment[:m.end()].rstrip().endswith((":", "：")) \
            and kind not in ("mobile", "landline", "fax"):
        return None, segment
    return kind, value


def _split_spaces(piece: str) -> list[str]:
    """'王五 销售总监 深圳华为技术有限公司 13800138000 wangwu@huawei.com' → its five parts. Latin words stay together
    ('John Smith', 'Sales Director') unless an e-mail, a URL, a phone number or a labelled part stands among them."""
    pieces: list[str] = []
    rest = piece
    for pattern in (EMAIL_RE, URL_RE):
        for m in pattern.finditer(rest):
            pieces.append(m.group(0))
        rest = pattern.sub(" ", rest)
    for number in _phones_in(rest):
        pieces.append(number)
        rest = rest.replace(number, " ", 1)
    words = rest.split()
    if not words:
        return pieces
    groups: list[str] = []
    for word in words:
        has_han = bool(re.search(f"[{HAN}]", word))
        if groups and not has_han and not re.search(f"[{HAN}]", groups[-1]):
            groups[-1] += " " + word  # Latin words run together
        elif groups and LABEL_RE.match(groups[-1] + word) is None and groups[-1].endswith(("(", "（")):
            groups[-1] += word
        else:
            groups.append(word)
    # a Chinese address is written with spaces too ("深圳市 南山区 科技园"), a title or a name in two languages
    # ("商务总监 Business Director", "林峰 Lin Feng"): join such runs
    joined: list[str] = []
    for g in groups:
        if joined and (_is_address(joined[-1]) and _is_address(g) and not _is_company(g)
                       or _bilingual(joined[-1], g, _is_title) or _bilingual(joined[-1], g, _is_name)):
            joined[-1] += " " + g
        else:
            joined.append(g)
    return [*joined, *pieces]


def _bilingual(han: str, latin: str, same: Callable[[str], bool]) -> bool:
    return (bool(re.fullmatch(f"[{HAN}]+", han)) and not re.search(f"[{HAN}]", latin)
            and same(han) and same(latin))


def _phones_in(text: str) -> list[str]:
    found = []
    for m in PHONE_RE.finditer(text):
        candidate = m.group(0).strip()
        if sum(c.isdigit() for c in candidate) >= 7 and normalize_phone(candidate):
            found.append(candidate)
    return found


def _labelled(sig: Signature, kind: str, value: str) -> None:
    if kind in ("mobile", "landline", "fax"):
        numbers = _phones_in(value) or [value]
        for number in numbers:
            _phone(sig, number, kind)
        return
    if kind == "email":
        m = EMAIL_RE.search(value)
        _set(sig, "email", m.group(0) if m else value)
        return
    if kind == "wechat":
        sig.rest.append(f"WeChat: {value}" if not re.search(f"[{HAN}]", value) else f"微信: {value}")
        return
    if kind == "name":
        name, title = _split_name_title(value)
        _set(sig, "name", name or value)
        if title:
            _set(sig, "title", title)
        return
    _set(sig, kind, value)


def _unlabelled(sig: Signature, part: str) -> None:
    if EMAIL_RE.fullmatch(part):
        _set(sig, "email", part)
    elif _phones_in(part) and _phones_in(part)[0] == part:
        _phone(sig, part, None)
    elif URL_RE.fullmatch(part):
        _set(sig, "website", part)
    elif _is_street_address(part) and sig.address is None:
        sig.address = part
    elif _is_company(part) and sig.company is None:
        sig.company = part
    elif _is_address(part) and sig.address is None:
        sig.address = part
    elif _is_title(part) and sig.title is None and not (sig.name is None and _is_name(part) and not _title_only(part)):
        sig.title = part
    elif sig.name is None and _is_name(part):
        sig.name = part
    elif sig.name is None and (nt := _split_name_title(part))[0]:
        sig.name, title = nt
        if title and sig.title is None:
            sig.title = title
    else:
        sig.rest.append(part)


def _phone(sig: Signature, number: str, label: str | None) -> None:
    normal = normalize_phone(number)
    if normal is None:  # "(212) 555-0147": a national number of another country; labelled, keep it where it says
        if label in ("mobile", "landline") and getattr(sig, label) is None and sum(c.isdigit() for c in number) >= 7:
            setattr(sig, label, number)
        else:
            sig.rest.append(number)
        return
    cn_mobile = re.fullmatch(r"\+861[3-9]\d{9}", normal) is not None
    mobile = cn_mobile or label == "mobile"
    if label == "fax":
        sig.other_phones.append(f"fax {number}")
    elif mobile and label != "landline" or (label == "landline" and cn_mobile and sig.mobile is None):
        if sig.mobile is None:
            sig.mobile = number
        else:
            sig.other_phones.append(number)
    elif sig.landline is None:
        sig.landline = number
    else:
        sig.other_phones.append(number)


def _set(sig: Signature, attr: str, value: str) -> None:
    if getattr(sig, attr) is None:
        setattr(sig, attr, value)
    else:
        sig.rest.append(value)


def _is_company(part: str) -> bool:
    if re.search(f"[{HAN}]", part):
        return len(part) >= 4 and (any(w in part for w in COMPANY_WORDS) or part.endswith(COMPANY_ENDINGS))
    return bool(COMPANY_RE.search(part)) and not _is_title(part)


def _is_address(part: str) -> bool:
    if re.search(f"[{HAN}]", part):
        hits = sum(1 for w in ADDRESS_WORDS if w in part)
        return hits >= 2 or (hits >= 1 and bool(re.search(r"\d", part)))
    return bool(ADDRESS_RE.search(part)) and bool(re.search(r"\d", part))


def _is_street_address(part: str) -> bool:
    """A Chinese address that also names a building ("…世纪大道100号环球金融中心") reads as an address, not a company."""
    return bool(re.search(f"[{HAN}]", part)) and bool(re.search(r"\d+\s*号", part)) and "公司" not in part \
        and _is_address(part)


def _is_title(part: str) -> bool:
    if re.search(f"[{HAN}]", part):
        return any(w in part for w in TITLE_WORDS) and len(re.findall(f"[{HAN}]", part)) <= 16
    return bool(TITLE_RE.search(part)) and len(part.split()) <= 6


def _title_only(part: str) -> bool:
    return not re.search(f"[{HAN}]", part) or not HAN_NAME_RE.match(part)


def _is_name(part: str) -> bool:
    if HAN_NAME_RE.match(part):
        return not any(w in part for w in TITLE_WORDS + COMPANY_WORDS) or len(part) <= 3 and not any(
            part.endswith(w) for w in ("经理", "总监", "主管", "顾问", "公司"))
    han_latin = re.fullmatch(rf"([{HAN}]{{2,4}})\s*[(（]?\s*([A-Z][a-zA-Z .'\-]+?)\s*[)）]?", part)
    if han_latin:
        return True
    return bool(LATIN_NAME_RE.match(part)) and not _is_title(part) and not _is_company(part) and len(part) <= 40


def _split_name_title(part: str) -> tuple[str | None, str | None]:
    """'王五销售总监' → ('王五', '销售总监'); 'John Smith Sales Director' → ('John Smith', 'Sales Director')."""
    m = re.fullmatch(rf"([{HAN}]{{2,3}})\s*([{HAN}A-Za-z ]*(?:{'|'.join(TITLE_WORDS)})[{HAN}A-Za-z ]*)", part)
    if m and not any(w in m.group(1) for w in TITLE_WORDS):
        return m.group(1), m.group(2).strip()
    words = part.split()
    for k in (2, 3):
        if len(words) > k and LATIN_NAME_RE.match(" ".join(words[:k])) and _is_title(" ".join(words[k:])) \
                and not _is_title(" ".join(words[:k])):
            return " ".join(words[:k]), " ".join(words[k:])
    return None, None
