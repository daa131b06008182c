"""group chats linked to a deal by hand (`link D-12` to the WeCom AI bot), for chats that are no deal's swarm

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_group_links_deal_id_deals")),
        sa.ForeignKeyConstraint(["linked_by_id"], ["users.id"], name=op.f("fk_group_links_linked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_links")),
        sa.UniqueConstraint("platform", "channel", name="uq_group_links_platform_channel"),
    )


def downgrade() -> None:
    op.drop_table("group_links")
