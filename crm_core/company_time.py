"""The one company-time helper: an aware UTC instant → the company's wall clock, its date, its text.

Every place that shows or reasons about "today" or "at 14:30" goes through here, so the time zone is
read in one way (config.company.timezone, an IANA name validated at start-up) and DST is handled by
zoneinfo. The text formats per locale live here too (cards/format.py re-exports them for builders);
crm_core needs them for the few messages it still writes itself.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from crm_core.config import Config

# One date/time format per locale. ISO order reads well in both languages and sorts as text.
DATETIME_FORMATS = {"en": "%Y-%m-%d %H:%M", "zh_CN": "%Y-%m-%d %H:%M"}
DATE_FORMATS = {"en": "%Y-%m-%d", "zh_CN": "%Y-%m-%d"}
CLOCK_FORMAT = "%H:%M"


def company_tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.company.timezone)  # zoneinfo caches one instance per key


def user_tz(config: Config, user_key: str | None, stored: str | None = None) -> ZoneInfo:
    """A person's zone: their `timezone` in [[users]], else the one stored for them (users.timezone, from
    Slack's users.info), else the company's."""
    declared = config.user(user_key) if user_key else None
    if declared is not None and declared.timezone:
        return ZoneInfo(declared.timezone)
    if stored:
        try:
            return ZoneInfo(stored)
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError, a malformed key a ValueError, a folder ("America") an OSError
            pass
    return company_tz(config)


def user_now(config: Config, user_key: str | None, at: datetime, stored: str | None = None) -> datetime:
    """`at` as the person's wall-clock time (what "today", "friday" and "10:00" mean when they type them)."""
    if at.tzinfo is None:
        raise ValueError("user time needs an aware datetime")
    return at.astimezone(user_tz(config, user_key, stored))


def in_zone(at: datetime, zone: str) -> datetime:
    """`at` as wall-clock time in the named IANA zone (a reminder shown in the zone it was typed in)."""
    return at.astimezone(ZoneInfo(zone))


def local_now(config: Config, at: datetime) -> datetime:
    """`at` (aware, any zone) as the company's wall-clock time."""
    if at.tzinfo is None:
        raise ValueError("company time needs an aware datetime")
    return at.astimezone(company_tz(config))


def local_date(config: Config, at: datetime) -> date:
    """The company's calendar date at instant `at` (what "today" means for due dates and digests)."""
    return local_now(config, at).date()


def local_time(config: Config, at: datetime | None, locale: str | None = None) -> str | None:
    """`2026-03-29 14:30` in company time; None stays None."""
    if at is None:
        return None
    return local_now(config, at).strftime(_datetime_format(config, locale))


def local_hhmm(config: Config, at: datetime) -> str:
    return local_now(config, at).strftime(CLOCK_FORMAT)


def reader_zone(config: Config, zone: str | None) -> ZoneInfo | None:
    """A reader's own time zone (users.timezone, by the one rule of `user_tz`) when it is not the company's;
    None means the reader lives in company time."""
    tz = user_tz(config, None, zone)
    return None if tz.key == config.company.timezone else tz


def reader_hhmm(config: Config, at: datetime, zone: str | None = None) -> str:
    """`14:30` in company time; `07:30 CET` for a reader in another zone (the zone said, so it cannot be
    mistaken for company time)."""
    tz = reader_zone(config, zone)
    return local_hhmm(config, at) if tz is None else _named(at, tz, CLOCK_FORMAT)


def reader_time(config: Config, at: datetime | None, locale: str | None = None, zone: str | None = None) -> str | None:
    """Like local_time, in the reader's own zone (and naming it) when that is not the company's."""
    tz = reader_zone(config, zone)
    if at is None or tz is None:
        return local_time(config, at, locale)
    return _named(at, tz, _datetime_format(config, locale))


def _named(at: datetime, tz: ZoneInfo, fmt: str) -> str:
    """`at` in `tz`, the zone's abbreviation after it (`07:30 CET`)."""
    mine = at.astimezone(tz)
    return f"{mine.strftime(fmt)} {mine.tzname()}"


def _datetime_format(config: Config, locale: str | None) -> str:
    return DATETIME_FORMATS.get(locale or config.company.locale, DATETIME_FORMATS["en"])
