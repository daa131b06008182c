"""search_terms: the index behind names-for-references and `search` (name, contains, pinyin, initials keys),
backfilled from every existing lead, deal, account, contact and ticket; deals indexed by contact

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

from crm_core.search_index import backfill

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    key_type = sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")
    op.create_table(
        "search_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=8), nullable=False),
        sa.Column("key", key_type, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_terms")),
    )
    op.create_index("ix_search_terms_field_key", "search_terms", ["field", "key"])
    op.create_index("ix_search_terms_owner_field_key", "search_terms", ["owner_id", "field", "key"])
    op.create_index("ix_search_terms_record", "search_terms", ["kind", "record_id"])
    op.create_index("ix_deals_contact_id", "deals", ["contact_id"])  # a deal found by its contact's name
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_deals_contact_id", table_name="deals")
    op.drop_table("search_terms")

