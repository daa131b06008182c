"""Notification routes made in chat (`notify won>1000000 #wins`): an event, its conditions and the channel or
group chat it is posted to. Routes from the configuration file (`[[routes]]`) are not stored: they are read
from the file, read-only. A route belongs to the person who made it and to the workspace (Slack team) or corp
it was made in: it is posted there, with that workspace's token."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class NotificationRoute(Base):
    __tablename__ = "notification_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    event: Mapped[str] = mapped_column(String(32), index=True)  # deal.won | lead.new | lead.pooled | ticket.sla_breach
    min_amount: Mapped[Optional[Decimal]]
    region: Mapped[Optional[str]] = mapped_column(String(100))
    priority: Mapped[Optional[str]] = mapped_column(String(8))
    platform: Mapped[str] = mapped_column(String(16))  # slack | wecom | console
    team: Mapped[Optional[str]] = mapped_column(String(32))  # Slack team id (None: WeCom, console, one workspace)
    channel: Mapped[str] = mapped_column(String(128))  # Slack channel id, WeCom app group chat id, console channel
    locale: Mapped[Optional[str]] = mapped_column(String(8))  # None: the company's
    created_at: Mapped[datetime]
