"""delivery: outbox claims and dead-letter reports, pacing, console inbox, SLA breaches, digest snapshots

Revision ID: 0004
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("dead_reported_at", crm_core.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_user_id", sa.Integer(), nullable=True))

    op.create_table(
        "delivery_pacing",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("blocked_until", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_delivery_pacing")),
    )
    op.create_table(
        "delivery_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_log")),
    )
    with op.batch_alter_table("delivery_log", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_log_key_at", ["key", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_log_at"), ["at"], unique=False)

    op.create_table(
        "console_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=True),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_console_inbox_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_inbox")),
    )
    with op.batch_alter_table("console_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_console_inbox_user_seen", ["user_id", "seen_at"], unique=False)

    op.create_table(
        "console_channels",
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_console_channels")),
    )

    op.create_table(
        "sla_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_type", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_sla_breaches_owner_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_breaches")),
        sa.UniqueConstraint("kind", "record_type", "record_id", "due_at", name="uq_sla_breaches_once"),
    )
    with op.batch_alter_table("sla_breaches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_breaches_at"), ["at"], unique=False)

    op.create_table(
        "digest_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_snapshots")),
        sa.UniqueConstraint("scope", "period", "period_key", name="uq_digest_snapshots_scope_period"),
    )

    op.create_table(
        "scheduler_marks",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_scheduler_marks")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_marks")
    op.drop_table("digest_snapshots")
    with op.batch_alter_table("sla_breaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_breaches_at"))
    op.drop_table("sla_breaches")
    op.drop_table("console_channels")
    with op.batch_alter_table("console_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_console_inbox_user_seen")
    op.drop_table("console_inbox")
    with op.batch_alter_table("delivery_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_log_at"))
        batch_op.drop_index("ix_delivery_log_key_at")
    op.drop_table("delivery_log")
    op.drop_table("delivery_pacing")
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_column("recipient_user_id")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("dead_reported_at")
        batch_op.drop_column("claimed_by")
