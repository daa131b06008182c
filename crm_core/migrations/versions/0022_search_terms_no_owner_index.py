"""drop the search index's (owner_id, field, key) index: no search reads it (a rep's filter is an OR with the
kinds every reader sees, so SQLite and PostgreSQL both range over (field, key) and filter the rows), and it was
about two fifths of what writing the keys costs (an import of 20 000 leads writes ~400 000)

Revision ID: 0022
Revises: 0021
"""
from alembic import op


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("search_terms") as batch_op:
        batch_op.drop_index("ix_search_terms_owner_field_key")


def downgrade() -> None:
    with op.batch_alter_table("search_terms") as batch_op:
        batch_op.create_index("ix_search_terms_owner_field_key", ["owner_id", "field", "key"], unique=False)
