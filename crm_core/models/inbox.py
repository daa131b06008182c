"""The transactional inbox: every inbound chat request, written before it is acknowledged.

One row per platform request (its retry identity is `key`, the same string the runner uses as the
idempotency key). The row is committed in the transaction that marks the request as seen, and only then
is the platform acknowledged. The work then records its outcome on the row in the runner's own
transaction (status "done", the reply, `saved` = the change was committed), and delivering the reply is
one more step (`reply_sent_at`, status "replied"). A process that dies leaves the row "pending" (nothing
done) or "done" (reply stored, not sent); `lease_until` tells when another process may take it over.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class InboxItem(Base):
    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_open", "status", "lease_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "slack:cmd:T1:<trigger_id>", "wecom:msg:<MsgId>"
    platform: Mapped[str] = mapped_column(String(16))  # slack | wecom
    kind: Mapped[str] = mapped_column(String(32))  # slack.command | slack.action | wecom.callback
    external_user: Mapped[str] = mapped_column(String(64))  # Slack user id / WeCom userid
    team: Mapped[Optional[str]] = mapped_column(String(64))  # Slack team id / WeCom corp id
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what is needed to redo the work
    reply_to: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"response_url": …} / {"wecom_user": …}
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | replied
    saved: Mapped[Optional[bool]]  # the work's change was committed (None: not known yet)
    error_ref: Mapped[Optional[str]] = mapped_column(String(16))  # reference id of an internal error
    actor_id: Mapped[Optional[int]]
    reply: Mapped[Optional[dict[str, Any]]]  # cards.model.Reply.to_dict() of the outcome
    attempts: Mapped[int] = mapped_column(default=0)  # times the work or the delivery was (re)tried
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)
    lease_until: Mapped[datetime]
    done_at: Mapped[Optional[datetime]]
    reply_sent_at: Mapped[Optional[datetime]]
