"""index tickets by who opened them: search admits the tickets a person opened (crm_core/queries/lookup.py)
with a subquery on created_by_id, which scanned every ticket without it

Revision ID: 0021
Revises: 0020
"""
from alembic import op


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_created_by_id"), ["created_by_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_created_by_id"))
