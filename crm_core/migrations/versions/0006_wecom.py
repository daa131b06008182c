"""wecom: shared access token, inbound dedupe, template-card tasks and response codes

Revision ID: 0006
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wecom_access_tokens",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_wecom_access_tokens")),
    )
    op.create_table(
        "wecom_inbound",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_user", sa.String(length=64), nullable=False),
        sa.Column("received_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_wecom_inbound")),
    )
    with op.batch_alter_table("wecom_inbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wecom_inbound_received_at"), ["received_at"], unique=False)
    op.create_table(
        "wecom_card_tasks",
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("card_ref", sa.String(length=64), nullable=True),
        sa.Column("card_kind", sa.String(length=32), nullable=True),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_wecom_card_tasks")),
    )
    op.create_table(
        "wecom_response_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=512), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("issued_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["wecom_card_tasks.task_id"],
                                name=op.f("fk_wecom_response_codes_task_id_wecom_card_tasks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_response_codes")),
    )
    with op.batch_alter_table("wecom_response_codes", schema=None) as batch_op:
        batch_op.create_index("ix_wecom_response_codes_task", ["task_id", "used_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wecom_response_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_wecom_response_codes_task")
    op.drop_table("wecom_response_codes")
    op.drop_table("wecom_card_tasks")
    with op.batch_alter_table("wecom_inbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wecom_inbound_received_at"))
    op.drop_table("wecom_inbound")
    op.drop_table("wecom_access_tokens")
