"""chat_identities keyed by (platform, team, external_id): the same Slack user id in two workspaces is two people

The old unique (platform, external_id) becomes unique (platform, team, external_id), plus a partial unique
index on (platform, external_id) WHERE team IS NULL so identities without a team (WeCom, configured Slack
ids not yet seen) stay unique as before. Existing rows keep their team (NULL or the one recorded by 0009).
New table chat_workspaces: workspaces that asked to install and wait for (or got) an admin's decision.

Revision ID: 0013
Revises: 0009 (added the team column to chat_identities, created by 0001)
"""
from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.drop_constraint("uq_chat_identities_platform_external", type_="unique")
        batch_op.create_unique_constraint("uq_chat_identities_platform_team_external",
                                          ["platform", "team", "external_id"])
    op.create_index("uq_chat_identities_platform_external_unbound", "chat_identities", ["platform", "external_id"],
                    unique=True, sqlite_where=sa.text("team IS NULL"), postgresql_where=sa.text("team IS NULL"))
    op.create_table(
        "chat_workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name="fk_chat_workspaces_decided_by_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_chat_workspaces"),
        sa.UniqueConstraint("platform", "external_id", name="uq_chat_workspaces_platform_external"),
    )


def downgrade() -> None:
    op.drop_table("chat_workspaces")
    op.drop_index("uq_chat_identities_platform_external_unbound", table_name="chat_identities")
    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.drop_constraint("uq_chat_identities_platform_team_external", type_="unique")
        batch_op.create_unique_constraint("uq_chat_identities_platform_external", ["platform", "external_id"])
