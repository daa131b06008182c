"""leads.fields: declared custom fields of leads ([[fields.lead]] in the configuration)

Revision ID: 0011
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("fields")
