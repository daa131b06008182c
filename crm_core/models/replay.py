"""Signed inbound requests seen recently, for platforms whose signature alone does not stop a replay.

A Slack request is signed over its timestamp and body and accepted for 5 minutes either side of that
timestamp, so a captured request can be sent again, verbatim, inside that window. The first delivery of a
signature claims its row (the primary key decides, also between processes); a second one is refused. Rows
are forgotten once no request carrying that signature could pass verification any more.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class SeenSignature(Base):
    __tablename__ = "seen_signatures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "slack:v0=<hex>" (+ ":retry<n>")
    at: Mapped[datetime] = mapped_column(index=True)
