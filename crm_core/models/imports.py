from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class ImportedRow(Base):
    """One CSV row already imported, keyed by a digest of its content: re-running a file skips it."""

    __tablename__ = "imported_rows"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[Optional[int]]
    outcome: Mapped[str] = mapped_column(String(16))  # created | merged
    at: Mapped[datetime]
