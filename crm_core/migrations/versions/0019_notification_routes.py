"""notification routes made in chat (`notify won>1000000 #wins`): event, conditions, channel, workspace

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("min_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_notification_routes_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_routes")),
    )
    with op.batch_alter_table("notification_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_routes_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_routes_event"), ["event"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_routes_event"))
        batch_op.drop_index(batch_op.f("ix_notification_routes_owner_id"))
    op.drop_table("notification_routes")
