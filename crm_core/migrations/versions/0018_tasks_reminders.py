"""tasks people give each other (tasks.created_by_id) and reminders delivered at a time in the person's zone

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_tasks_created_by_id_users"), "users", ["created_by_id"], ["id"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=16), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("sent_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_reminders_created_by_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reminders_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_reminders_pending_due", ["due_at"], unique=False,
                              sqlite_where=sa.text("sent_at IS NULL"), postgresql_where=sa.text("sent_at IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending_due", sqlite_where=sa.text("sent_at IS NULL"),
                            postgresql_where=sa.text("sent_at IS NULL"))
        batch_op.drop_index(batch_op.f("ix_reminders_user_id"))
    op.drop_table("reminders")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tasks_created_by_id_users"), type_="foreignkey")
        batch_op.drop_column("created_by_id")
