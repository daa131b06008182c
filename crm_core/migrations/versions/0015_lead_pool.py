"""The lead pool (公海): leads.pooled_at / pool_reason, and lead_holders (who held a lead, so nothing bounces)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

import crm_core.models.base


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pooled_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pool_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "lead_holders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("since", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("how", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_holders_lead_id", "lead_holders", ["lead_id"])
    op.create_index("ix_lead_holders_lead_user", "lead_holders", ["lead_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_holders_lead_user", table_name="lead_holders")
    op.drop_index("ix_lead_holders_lead_id", table_name="lead_holders")
    op.drop_table("lead_holders")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("pool_reason")
        batch_op.drop_column("pooled_at")
