"""State the WeCom adapter keeps in the database so several processes share it.

- `WeComAccessToken`: the app's access token (gettoken, valid 7200 s), one row per corp+secret, so
  web, worker and scheduler processes do not each fetch their own (WeCom rate-limits gettoken).
- `WeComInbound`: callbacks already accepted, keyed by MsgId (messages), TaskId+ResponseCode (card
  clicks) or FromUserName+CreateTime (other events). WeCom retries a callback up to 3 times; the
  first insert wins, a retry finds the key and changes nothing.
- `WeComCardTask`: every interactive template card sent (task_id is unique per app), who got it.
- `WeComResponseCode`: the single-use codes that allow one `update_template_card` each — one comes
  back from message/send, one with every click. Valid 72 h.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class WeComAccessToken(Base):
    __tablename__ = "wecom_access_tokens"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # "<corp_id>:<sha256(secret)[:16]>"
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    fetched_at: Mapped[datetime]


class WeComInbound(Base):
    __tablename__ = "wecom_inbound"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # text | card | event
    from_user: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)


class WeComCardTask(Base):
    __tablename__ = "wecom_card_tasks"

    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    card_ref: Mapped[Optional[str]] = mapped_column(String(64))
    card_kind: Mapped[Optional[str]] = mapped_column(String(32))
    created_at: Mapped[datetime]


class WeComResponseCode(Base):
    __tablename__ = "wecom_response_codes"
    __table_args__ = (Index("ix_wecom_response_codes_task", "task_id", "used_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("wecom_card_tasks.task_id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(8))  # send | click
    issued_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
