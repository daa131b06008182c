"""The one company-time helper: instants shown and dated on the company's wall clock, across DST."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from crm_core.company_time import local_date, local_hhmm, local_time
from crm_core.config import Config, load_config

UTC = timezone.utc


def company_in(tz: str, locale: str = "en") -> Config:
    cfg = load_config(None)
    return cfg.model_copy(update={"company": cfg.company.model_copy(update={"timezone": tz, "locale": locale})})


class TestCompanyTime:
    def test_late_evening_utc_is_the_next_morning_in_shanghai(self) -> None:
        cfg = company_in("Asia/Shanghai")
        at = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
        assert local_time(cfg, at) == "2026-03-03 01:00"
        assert local_date(cfg, at) == date(2026, 3, 3)
        assert local_hhmm(cfg, at) == "01:00"

    def test_an_instant_in_another_offset_is_converted_not_relabelled(self) -> None:
        cfg = company_in("Asia/Shanghai")
        at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=-5)))  # 14:00 UTC
        assert local_time(cfg, at) == "2026-03-02 22:00"

    def test_both_locales_read_the_same_instant_the_same_way(self) -> None:
        at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        assert local_time(company_in("Asia/Shanghai", "zh_CN"), at) == "2026-03-02 09:00"
        assert local_time(company_in("Asia/Shanghai"), at, "zh_CN") == local_time(company_in("Asia/Shanghai"), at, "en")

    @pytest.mark.parametrize(("utc", "shown"), [
        # Berlin springs forward on 29 March 2026 at 01:00 UTC (02:00 CET → 03:00 CEST)
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2026-03-29 01:30"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03-29 03:30"),
        # ... and falls back on 25 October 2026 at 01:00 UTC: 02:30 happens twice
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25 02:30"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-25 02:30"),
        (datetime(2026, 10, 25, 2, 30, tzinfo=UTC), "2026-10-25 03:30"),
    ])
    def test_daylight_saving_time_moves_the_wall_clock(self, utc: datetime, shown: str) -> None:
        assert local_time(company_in("Europe/Berlin"), utc) == shown

    def test_the_company_date_changes_at_local_midnight_across_dst(self) -> None:
        cfg = company_in("America/New_York")  # EDT from 8 March 2026: UTC-4
        assert local_date(cfg, datetime(2026, 3, 9, 3, 59, tzinfo=UTC)) == date(2026, 3, 8)
        assert local_date(cfg, datetime(2026, 3, 9, 4, 0, tzinfo=UTC)) == date(2026, 3, 9)
        assert local_date(cfg, datetime(2026, 1, 9, 4, 59, tzinfo=UTC)) == date(2026, 1, 8)  # EST: UTC-5

    def test_nothing_to_show_stays_nothing_and_a_naive_time_is_refused(self) -> None:
        cfg = company_in("Asia/Shanghai")
        assert local_time(cfg, None) is None
        with pytest.raises(ValueError):
            local_time(cfg, datetime(2026, 3, 2, 9, 0))
