from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class Swarm(Base):
    """A record's swarm channel on one platform (Slack channel, WeCom group chat)."""

    __tablename__ = "swarms"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "platform", name="uq_swarms_record_platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))  # deal | ticket
    record_id: Mapped[int]
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    archived_at: Mapped[Optional[datetime]]


class GroupLink(Base):
    """A group chat that is not a deal's swarm, linked to a deal by someone in it (`link D-12` to the WeCom AI
    bot): `log <text>` there logs to that deal. One deal per chat; linking again moves it."""

    __tablename__ = "group_links"
    __table_args__ = (UniqueConstraint("platform", "channel", name="uq_group_links_platform_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(128))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"))
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime]
