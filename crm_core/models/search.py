"""The search index: a few normalised keys per named record (crm_core.search_text), found by prefix."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base

# Byte order on PostgreSQL ("C"), as SQLite's BINARY: a prefix is one index range whatever the database collation.
KeyString = String(120).with_variant(String(120, collation="C"), "postgresql")


class SearchTerm(Base):
    """One key a record is found by. `owner_id` mirrors the record's owner so a rep's search filters the
    keys it ranges over without reading the records. It has no index of its own: the filter is an OR with
    the kinds every reader sees, which neither database answers from an (owner_id, …) index (migration
    0022). Kept by crm_core.search_index on every flush that creates, renames, re-owns or deletes a named
    record (and by the bulk paths: lead import, transfer)."""

    __tablename__ = "search_terms"
    __table_args__ = (
        Index("ix_search_terms_field_key", "field", "key"),
        Index("ix_search_terms_record", "kind", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # lead | deal | account | contact | ticket
    record_id: Mapped[int]
    field: Mapped[str] = mapped_column(String(8))  # name | word | pinyin | initials
    key: Mapped[str] = mapped_column(KeyString)
    owner_id: Mapped[Optional[int]]
