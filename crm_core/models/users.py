from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.config import ROLE_RANK
from crm_core.models.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="rep")
    manager_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(320))
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    timezone: Mapped[Optional[str]] = mapped_column(String(64))  # IANA name; None: the company's
    tags: Mapped[list[str]] = mapped_column(default=list)
    away: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    primary_platform: Mapped[Optional[str]] = mapped_column(String(16))
    created_at: Mapped[datetime]

    manager: Mapped[Optional["User"]] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    # Loaded when asked for (delivery, swarm invites), not with every user a card mentions: a read of `my`
    # loaded them four times. Code that walks many users' identities loads them with selectinload.
    identities: Mapped[list["ChatIdentity"]] = relationship(back_populates="user", lazy="select",
                                                            cascade="all, delete-orphan")

    @property
    def rank(self) -> int:
        return ROLE_RANK.get(self.role, 0)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def identity(self, platform: str) -> Optional[str]:
        for ident in self.identities:
            if ident.platform == platform:
                return ident.external_id
        return None


class ChatIdentity(Base):
    """A user's id on one chat platform (Slack user id, WeCom userid).

    Keyed by (platform, team, external_id) (migration 0013): the same Slack user id in two workspaces is two
    people. `team` NULL — a WeCom identity, or a configured Slack id not yet seen — is unique on
    (platform, external_id) among the NULL-team rows (a partial unique index; NULLs never collide in a
    plain unique constraint)."""

    __tablename__ = "chat_identities"
    __table_args__ = (
        UniqueConstraint("platform", "team", "external_id", name="uq_chat_identities_platform_team_external"),
        Index("uq_chat_identities_platform_external_unbound", "platform", "external_id", unique=True,
              sqlite_where=text("team IS NULL"), postgresql_where=text("team IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    # Added by 0009_identity_team: the Slack workspace (team id; the enterprise id of a Grid org-wide
    # install) the identity belongs to — part of its key since 0013, set once and never overwritten; the
    # deliverer sends with that workspace's bot token. None: WeCom, or a configured Slack id not yet seen.
    team: Mapped[Optional[str]] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="identities")


class ChatWorkspace(Base):
    """A chat workspace (a Slack team or Grid enterprise) that asked to use the CRM and is not invited by the
    process settings: `pending` until an admin decides, then `approved` (it may install and is served) or
    `refused`. Workspaces invited in the settings have no row. Added by migration 0013."""

    __tablename__ = "chat_workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_chat_workspaces_platform_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[Optional[str]] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | refused
    requested_at: Mapped[datetime]
    decided_at: Mapped[Optional[datetime]]
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
