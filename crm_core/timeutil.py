"""The company's calendar: which day it is in the company's time zone ([company] timezone).

Low-level and shared: services of every area use it, so it imports nothing from crm_core.services.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from crm_core.config import Config
    from crm_core.uow import UnitOfWork


def company_date(config: Config, at: datetime) -> date:
    """The calendar day `at` falls on in the company's time zone."""
    return at.astimezone(ZoneInfo(config.company.timezone)).date()


def local_today(uow: UnitOfWork, now: datetime) -> date:
    """Today in the company's time zone, for a use case running in `uow`."""
    return company_date(uow.config, now)
