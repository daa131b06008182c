"""Dates and times as people write them: one pure parser, `today` passed in.

`parse_date("下周五", today)` → the date, or None when the text is not a date. Understood forms:

- ISO and its loose variants: `2027-03-31`, `2027-3-31`, `2027/3/31`, `2027.3.31`, `20270331`;
- month and day without a year: `3/31`, `3-31`, `3月31日`, `3月31号` — this year, or next year when that
  day has already passed;
- `2027年3月31日`;
- words: `今天` `明天` `后天` `大后天` · `today` `tomorrow`; and the past `昨天` `前天` · `yesterday`;
- weekdays: `周五` / `星期五` / `礼拜五` / `friday` / `fri` (the next one, today included), `本周五` /
  `这周五` / `this friday` (this week's, weeks start on Monday), `下周五` / `next friday` (next week's);
- `月底` / `本月底` / `end of month` / `eom`, `下月底` / `end of next month`, `年底` / `end of year`;
- `下周` / `next week` (its Monday), `下个月` / `下月` / `next month` (the same day next month, or that
  month's last day);
- `3天后` / `in 3 days` / `+3d`, `2周后` / `in 2 weeks` / `+2w`.

Full-width digits and punctuation are folded first (NFKC). Times: `parse_time("下午3点")` → 15:00,
also `10:00`, `10点`, `10点半`, `上午10点`, `3pm`, `10am`. `split_when(words, today)` takes the date and
time words off the front of a sentence (`friday 10:00 call back`).

Chosen over dateparser (PyPI): it reads ISO and `明天` but answers None for `下周五`, `本周五`, `月底`,
`3月31日` and `end of month`, which are exactly how reps write due dates here, and it pulls in a large
locale database for forms we then had to special-case anyway.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta

ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9, "十": 10}
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
ZH_WEEKDAYS = {"一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3, "五": 4, "5": 4, "六": 5,
               "6": 5, "日": 6, "天": 6, "7": 6}
_ZH_WEEK = re.compile(r"^(本|这|下|下下|上)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])$")
_EN_WEEK = re.compile(r"^(this|next|coming)?\s*([a-z]+)$")
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MD = re.compile(r"^(\d{1,2})[-/.](\d{1,2})$")
_ZH_YMD = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?$")
_IN_N = re.compile(r"^(?:in\s*)?\+?(\d{1,3})\s*(d|day|days|w|wk|week|weeks|天|日|周|星期|个星期)(?:后|之后|later)?$")
# Past days too: a close date or a reminder refuses them with its own words ("has passed"), which says more
# than "not a date" would.
_WORDS = {"今天": 0, "今日": 0, "today": 0, "明天": 1, "明日": 1, "tomorrow": 1, "tmr": 1, "后天": 2,
          "大后天": 3, "day after tomorrow": 2, "昨天": -1, "昨日": -1, "yesterday": -1, "前天": -2}


def fold(text: str) -> str:
    """Full-width letters, digits and punctuation as ASCII; trimmed, lower-cased."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _add_months(day: date, n: int) -> date:
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _upcoming(y: int | None, m: int, d: int, today: date) -> date | None:
    if y is not None:
        return _valid(y, m, d)
    this_year = _valid(today.year, m, d)
    if this_year is not None and this_year >= today:
        return this_year
    return _valid(today.year + 1, m, d) or this_year


def _weekday(which: str | None, wd: int, today: date) -> date:
    monday = today - timedelta(days=today.weekday())
    if which in ("本", "这", "this"):
        return monday + timedelta(days=wd)
    if which in ("下", "next"):
        return monday + timedelta(days=7 + wd)
    if which == "下下":
        return monday + timedelta(days=14 + wd)
    if which == "上":
        return monday + timedelta(days=wd - 7)
    return today + timedelta(days=(wd - today.weekday()) % 7)  # the coming one, today included


def parse_date(raw: str, today: date) -> date | None:
    """The date `raw` means on `today` (the reader's calendar day), or None when it is not a date."""
    text = re.sub(r"\s+", " ", fold(raw)).rstrip(",.;!。，；！")
    if not text or len(text) > 40:
        return None
    if text in _WORDS:
        return today + timedelta(days=_WORDS[text])
    for pattern in (_YMD, _COMPACT):
        if m := pattern.match(text):
            return _valid(int(m[1]), int(m[2]), int(m[3]))
    if m := _ZH_YMD.match(text):
        return _upcoming(int(m[1]) if m[1] else None, int(m[2]), int(m[3]), today)
    if m := _MD.match(text):
        return _upcoming(None, int(m[1]), int(m[2]), today)
    if m := _ZH_WEEK.match(text):
        return _weekday(m[1], ZH_WEEKDAYS[m[2]], today)
    if m := _EN_WEEK.match(text):
        if m[2] in WEEKDAYS:
            which = {"coming": None}.get(m[1] or "", m[1])
            return _weekday(which, WEEKDAYS[m[2]], today)
    if m := _IN_N.match(text):
        n = int(m[1]) * (7 if m[2][0] in "w周星个" else 1)
        return today + timedelta(days=n)
    return _relative(text, today)


def _relative(text: str, today: date) -> date | None:
    compact = text.replace(" ", "").replace("the", "").replace("of", "")
    if compact in ("月底", "本月底", "这个月底", "月末", "本月末", "endmonth", "eom", "endthismonth"):
        return _month_end(today.year, today.month)
    if compact in ("下月底", "下个月底", "下月末", "endnextmonth"):
        nxt = _add_months(today.replace(day=1), 1)
        return _month_end(nxt.year, nxt.month)
    if compact in ("年底", "年末", "今年底", "endyear", "endthisyear"):
        return date(today.year, 12, 31)
    if compact in ("下周", "下星期", "下个星期", "下礼拜", "nextweek"):
        return today - timedelta(days=today.weekday()) + timedelta(days=7)
    if compact in ("下个月", "下月", "nextmonth"):
        return _add_months(today, 1)
    return None


# --- times of day ---------------------------------------------------------------------------------

_HHMM = re.compile(r"^(上午|早上|中午|下午|晚上|傍晚)?(\d{1,2})(?::(\d{2})|[点时](?:(\d{1,2})分?|(半))?)(am|pm)?$")
_AMPM = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)$")


def parse_time(raw: str) -> time | None:
    """`10:00`, `15:30`, `10点`, `10点半`, `下午3点`, `3pm`, `10:30am` → a wall-clock time; else None."""
    text = fold(raw).replace(" ", "").rstrip(",.;。，；")
    if m := _AMPM.match(text):
        hour, minute, half = int(m[1]), int(m[2] or 0), m[3]
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
        return _time(hour, minute)
    if m := _HHMM.match(text):
        part, hour = m[1], int(m[2])
        minute = int(m[3] or m[4] or 0) + (30 if m[5] else 0)
        if (part in ("下午", "晚上", "傍晚") or m[6] == "pm") and hour < 12:
            hour += 12
        if m[6] == "am" and hour == 12:
            hour = 0
        return _time(hour, minute)
    return None


def _time(hour: int, minute: int) -> time | None:
    if 0 <= hour <= 23 and 0 <= minute <= 59:
        return time(hour, minute)
    return None


@dataclass(frozen=True)
class When:
    day: date | None
    at: time | None
    rest: str  # the words after the date and time


def split_when(text: str, today: date) -> When:
    """Take a date and/or a time off the front of `text`: `friday 10:00 call back`, `明天 下午3点 回电`,
    `下周五10点 回电`, `end of month send contract`. Whatever follows is `rest`, as typed."""
    day: date | None = None
    at: time | None = None
    rest = text.strip()
    for _ in range(2):
        words = rest.split(maxsplit=3)
        taken = False
        for n in (3, 2, 1):  # the longest date first: "end of month", "next friday"
            if len(words) < n:
                continue
            head = " ".join(words[:n])
            if day is None and (d := parse_date(head, today)) is not None:
                day, taken = d, True
            elif at is None and n == 1 and (t := parse_time(head)) is not None:
                at, taken = t, True
            elif day is None and at is None and n == 1 and (both := _glued(head, today)) is not None:
                day, at, taken = both[0], both[1], True
            if taken:
                rest = rest[len(rest) - len(rest.lstrip()):].lstrip()
                rest = rest.split(maxsplit=n)[n] if len(rest.split(maxsplit=n)) > n else ""
                break
        if not taken:
            break
    return When(day, at, rest.strip())


def _glued(word: str, today: date) -> tuple[date, time] | None:
    """`明天10点`, `下周五下午3点`: a Chinese date and time written without a space."""
    text = fold(word)
    for i in range(1, len(text)):
        d = parse_date(text[:i], today)
        if d is not None:
            t = parse_time(text[i:])
            if t is not None:
                return d, t
    return None
