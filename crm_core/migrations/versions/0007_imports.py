"""bulk import: rows already imported (resumable imports)

Revision ID: 0007
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_rows",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_imported_rows")),
    )


def downgrade() -> None:
    op.drop_table("imported_rows")
