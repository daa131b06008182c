"""service: tickets with SLA clocks, contracts

Revision ID: 0003
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("respond_due_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("responded_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("resolve_due_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_tickets_account_id_accounts")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_tickets_owner_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_tickets_created_by_id_users")),
        sa.ForeignKeyConstraint(["responded_by_id"], ["users.id"], name=op.f("fk_tickets_responded_by_id_users")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_tickets_closed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_tickets_respond_due_open", ["respond_due_at"], unique=False,
                              postgresql_where=sa.text("responded_at IS NULL"),
                              sqlite_where=sa.text("responded_at IS NULL"))
        batch_op.create_index("ix_tickets_resolve_due_open", ["resolve_due_at"], unique=False,
                              postgresql_where=sa.text("closed_at IS NULL"),
                              sqlite_where=sa.text("closed_at IS NULL"))

    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("usage_pct", sa.Integer(), nullable=False),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("renewal_deal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_contracts_account_id_accounts")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_contracts_owner_id_users")),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_contracts_deal_id_deals")),
        sa.ForeignKeyConstraint(["renewal_deal_id"], ["deals.id"], name=op.f("fk_contracts_renewal_deal_id_deals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("deal_id", name=op.f("uq_contracts_deal_id")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contracts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contracts_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_contracts_end_date", ["end_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_end_date")
        batch_op.drop_index(batch_op.f("ix_contracts_owner_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_account_id"))
    op.drop_table("contracts")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_resolve_due_open")
        batch_op.drop_index("ix_tickets_respond_due_open")
        batch_op.drop_index(batch_op.f("ix_tickets_owner_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_account_id"))
    op.drop_table("tickets")
