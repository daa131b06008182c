"""Scheduled jobs: thin module-level functions `run_*(*, uow, clock) -> int` (how many messages or
actions they produced), one module per area: leads.run_lead_sla, tickets.run_ticket_sla,
renewals.run_renewals, deals.run_stale_deals, tasks.run_tasks_due, digests.run_digests.

Each computes what is due at `clock.now()` with an indexed range query and writes outbox rows with
idempotency keys, so running a job twice (or on two schedulers) changes nothing the second time.
Tests call them directly with a FrozenClock. `uow` is an unopened UnitOfWork: a job opens it once per
record it acts on. The job table (ids, triggers, options) is in scheduler/service.py.
"""
