"""The outbox deliverer: takes due outbox rows and carries them out through the platform `Messenger`s.

One pass (`deliver_due`, `Deliverer.run_once` in deliverer.py):
1. Claim up to `limit` due rows in one short transaction (queue.py: `FOR UPDATE SKIP LOCKED` on
   PostgreSQL, a lease on each claimed row).
2. Nudges, digests and task reminders to one person claimed together become one message (merging.py).
3. Messages to people (batch.py), in the claim's transaction: the recipients, a pacing slot each and
   Slack's "unsure" records, committed before any post; then the posts, outside any transaction. Other
   rows (operations.py: a swarm channel, a card update, create / archive a swarm channel) row by row:
   resolve where it goes, take a pacing slot (crm_core.pacing), call the messenger (calls.py), and record
   each delivery (`SentMessage`, records.py) right away. A retry never reaches the same recipient twice;
   Slack posts at most once (calls.py).
4. Mark every row in one transaction (queue.py, with the batch's delivery records): sent, skipped, failed (attempts, last_error,
   next_attempt_at with exponential backoff and jitter), waiting (paced, 429 Retry-After, or its swarm
   channel is still being created — not counted as an attempt) or dead (after `max_attempts`, or a
   permanent error). Dead rows are reported to the admins in one message per batch.

It never raises out of the loop: every failure is logged and recorded on its row.
"""
from __future__ import annotations

from scheduler.delivery.deliverer import Deliverer, DeliveryStats, deliver_due
from scheduler.delivery.operations import choose_recipient
from scheduler.delivery.queue import DeliveryPolicy

__all__ = ["DeliveryPolicy", "DeliveryStats", "Deliverer", "choose_recipient", "deliver_due"]
