"""orders.overpaid and payments.excess: money received beyond the invoice (or for a cancelled order) is
kept and flagged, never refused

Revision ID: 0012
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overpaid", sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default="0"))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excess", sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("excess")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("overpaid")
