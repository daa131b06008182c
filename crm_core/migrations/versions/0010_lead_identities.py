"""leads are people: identity keys (unique) and merge records; backfill keys of existing leads

Revision ID: 0010
Revises: 0001

Existing databases may hold duplicates (the old rule only read before inserting). The backfill gives
each key to the oldest lead that has it and skips the others, so the migration never fails on them;
`lead merge` can join the leftovers by hand.
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_lead_identities_lead_id_leads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_identities")),
        sa.UniqueConstraint("kind", "value", name="uq_lead_identities_kind_value"),
    )
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_identities_lead_id"), ["lead_id"], unique=False)
    op.create_table(
        "lead_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("kept_lead_id", sa.Integer(), nullable=False),
        sa.Column("merged_lead_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("matched_on", sa.String(length=8), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("split_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("split_by_id", sa.Integer(), nullable=True),
        sa.Column("split_lead_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_lead_merges_actor_id_users")),
        sa.ForeignKeyConstraint(["kept_lead_id"], ["leads.id"], name=op.f("fk_lead_merges_kept_lead_id_leads")),
        sa.ForeignKeyConstraint(["merged_lead_id"], ["leads.id"], name=op.f("fk_lead_merges_merged_lead_id_leads")),
        sa.ForeignKeyConstraint(["split_by_id"], ["users.id"], name=op.f("fk_lead_merges_split_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_merges")),
    )
    with op.batch_alter_table("lead_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_merges_kept_lead_id"), ["kept_lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_merges_merged_lead_id"), ["merged_lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_merges_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_merges_at"), ["at"], unique=False)
    _backfill()


def _backfill() -> None:
    from crm_core.services.lead_identity import identity_keys

    conn = op.get_bind()
    leads = sa.table("leads", sa.column("id"), sa.column("name"), sa.column("company_key"), sa.column("email"),
                     sa.column("phone"))
    identities = sa.table("lead_identities", sa.column("kind"), sa.column("value"), sa.column("lead_id"))
    seen: set[tuple[str, str]] = set()
    batch: list[dict[str, object]] = []
    rows = conn.execute(sa.select(leads.c.id, leads.c.name, leads.c.company_key, leads.c.email, leads.c.phone)
                        .order_by(leads.c.id))
    for lead_id, name, company_key, email, phone in rows:
        for kind, value in identity_keys(name=name, company_key=company_key, email=email, phone=phone):
            if (kind, value) in seen:
                continue  # an old duplicate: the oldest lead keeps the key
            seen.add((kind, value))
            batch.append({"kind": kind, "value": value, "lead_id": lead_id})
    for start in range(0, len(batch), 1000):
        conn.execute(sa.insert(identities), batch[start:start + 1000])


def downgrade() -> None:
    op.drop_table("lead_merges")
    op.drop_table("lead_identities")
