"""quotes, quote lines, discount approvals and their steps, orders, payments

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import crm_core.models.base


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('discount_pct', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('discount_amount', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('superseded_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_quotes_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_quotes_deal_id_deals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('deal_id', 'version', name='uq_quotes_deal_version')
    )
    op.create_index(op.f('ix_quotes_deal_id'), 'quotes', ['deal_id'], unique=False)
    op.create_index(op.f('ix_quotes_status'), 'quotes', ['status'], unique=False)
    op.create_table('approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('discount_pct', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_level', sa.Integer(), nullable=False),
    sa.Column('levels_needed', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_approvals_deal_id_deals')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_approvals_quote_id_quotes')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_approvals_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals')),
    sa.UniqueConstraint('quote_id', name=op.f('uq_approvals_quote_id'))
    )
    op.create_index(op.f('ix_approvals_deal_id'), 'approvals', ['deal_id'], unique=False)
    op.create_index(op.f('ix_approvals_requester_id'), 'approvals', ['requester_id'], unique=False)
    op.create_index(op.f('ix_approvals_status'), 'approvals', ['status'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('invoice_no', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_orders_account_id_accounts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_orders_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_orders_deal_id_deals')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_orders_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('invoice_no', name=op.f('uq_orders_invoice_no')),
    sa.UniqueConstraint('quote_id', name=op.f('uq_orders_quote_id'))
    )
    op.create_index(op.f('ix_orders_account_id'), 'orders', ['account_id'], unique=False)
    op.create_index(op.f('ix_orders_deal_id'), 'orders', ['deal_id'], unique=False)
    op.create_index('ix_orders_status_due', 'orders', ['status', 'due_date'], unique=False)
    op.create_table('quote_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('line_total', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines'))
    )
    op.create_index(op.f('ix_quote_lines_quote_id'), 'quote_lines', ['quote_id'], unique=False)
    op.create_table('approval_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('above_discount', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['approval_id'], ['approvals.id'], name=op.f('fk_approval_steps_approval_id_approvals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_approval_steps_approver_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_approval_steps_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_steps')),
    sa.UniqueConstraint('approval_id', 'level', name='uq_approval_steps_approval_level')
    )
    op.create_index('ix_approval_steps_approver_status', 'approval_steps', ['approver_id', 'status'], unique=False)
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('external_id', name=op.f('uq_payments_external_id'))
    )
    op.create_index(op.f('ix_payments_order_id'), 'payments', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_payments_order_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_index('ix_approval_steps_approver_status', table_name='approval_steps')
    op.drop_table('approval_steps')
    op.drop_index(op.f('ix_quote_lines_quote_id'), table_name='quote_lines')
    op.drop_table('quote_lines')
    op.drop_index('ix_orders_status_due', table_name='orders')
    op.drop_index(op.f('ix_orders_deal_id'), table_name='orders')
    op.drop_index(op.f('ix_orders_account_id'), table_name='orders')
    op.drop_table('orders')
    op.drop_index(op.f('ix_approvals_status'), table_name='approvals')
    op.drop_index(op.f('ix_approvals_requester_id'), table_name='approvals')
    op.drop_index(op.f('ix_approvals_deal_id'), table_name='approvals')
    op.drop_table('approvals')
    op.drop_index(op.f('ix_quotes_status'), table_name='quotes')
    op.drop_index(op.f('ix_quotes_deal_id'), table_name='quotes')
    op.drop_table('quotes')
