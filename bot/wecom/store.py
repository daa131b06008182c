"""Database-backed bookkeeping of the WeCom adapter: inbound dedupe, card tasks, response codes."""
from __future__ import annotations

import logging
import re
import secrets
import zlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.wecom.crypto import WeComCallback
from cards.model import Card
from cards.render.wecom import MAX_TASK_ID_BYTES, check_task_id
from crm_core.clock import Clock
from crm_core.db import read_only
from crm_core.models import WeComCardTask, WeComInbound, WeComResponseCode

log = logging.getLogger("chatcrm.wecom.store")

CODE_LIFETIME = timedelta(hours=72)  # a response_code allows one update_template_card within 72 h
INBOUND_KEEP = timedelta(days=7)  # WeCom retries within seconds
TASK_KEEP = timedelta(days=30)  # a click on an older card still works; it just cannot be updated
PRUNE_ONE_IN = 200  # claims that also prune (housekeeping rides along, no job needed)
_NOT_TASK_CHARS = re.compile(r"[^0-9A-Za-z_\-@]")


class InboundLog:
    """Callbacks accepted so far. `claim` is true exactly once per WeCom retry identity."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self._factory = session_factory
        self._clock = clock

    def claim(self, cb: WeComCallback, *, also: object | None = None) -> bool:
        """`also`: a row committed in the same transaction (the request's inbox row, crm_core.inbox)."""
        try:  # insert first (no read): the primary key decides, also between racing processes
            with self._factory.begin() as session:
                session.add(WeComInbound(key=cb.dedupe_key, kind=cb.kind[:16], from_user=cb.from_user[:64],
                                         received_at=self._clock.now()))
                if also is not None:
                    session.add(also)
        except IntegrityError:  # seen before: a retry
            return False
        if zlib.crc32(cb.dedupe_key.encode()) % PRUNE_ONE_IN == 0:
            self.housekeeping()
        return True

    def housekeeping(self) -> None:
        """Forget old callbacks, card tasks and their codes. Failures are logged, never raised."""
        now = self._clock.now()
        try:
            gone = self.prune(now - INBOUND_KEEP)
            with self._factory.begin() as session:
                tasks = session.execute(delete(WeComCardTask).where(WeComCardTask.created_at < now - TASK_KEEP))
                codes = session.execute(delete(WeComResponseCode).where(
                    WeComResponseCode.issued_at < now - TASK_KEEP))
            log.info("WeCom housekeeping: %s callbacks, %s card tasks, %s codes forgotten", gone,
                     tasks.rowcount, codes.rowcount)
        except Exception:  # noqa: BLE001 - housekeeping must never cost a message
            log.exception("WeCom housekeeping failed")

    def prune(self, before: datetime) -> int:
        """Forget callbacks received before `before` (WeCom retries within seconds; a week is plenty)."""
        with self._factory.begin() as session:
            rows = session.execute(delete(WeComInbound).where(WeComInbound.received_at < before))
            return int(rows.rowcount or 0)


class CardStore:
    """Interactive cards sent (task ids) and the single-use response codes that allow updating them."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self._factory = session_factory
        self._clock = clock

    @staticmethod
    def new_task_id(card: Card) -> str:
        """Unique per app, [0-9A-Za-z_-@], ≤128 bytes: "crm-approval-A-5-3f9c0a1b2c4d5e6f"."""
        stem = _NOT_TASK_CHARS.sub("_", f"crm-{card.kind}-{card.ref or 'card'}")[: MAX_TASK_ID_BYTES - 17]
        return check_task_id(f"{stem}-{secrets.token_hex(8)}")

    def record_task(self, task_id: str, userid: str, card: Card) -> None:
        with self._factory.begin() as session:
            session.add(WeComCardTask(task_id=task_id, userid=userid[:64], card_ref=(card.ref or None),
                                      card_kind=card.kind[:32], created_at=self._clock.now()))

    def task(self, task_id: str) -> WeComCardTask | None:
        with read_only(self._factory)() as session:
            return session.get(WeComCardTask, task_id)

    def add_code(self, task_id: str, code: str, source: str, *, userid: str | None = None) -> int | None:
        """Remember a response code; a click on a card we have no record of creates the task row."""
        if not code:
            return None
        with self._factory.begin() as session:
            if session.get(WeComCardTask, task_id) is None:
                if userid is None:
                    return None
                log.warning("click on unknown WeCom card task %s; recording it", task_id)
                session.add(WeComCardTask(task_id=task_id, userid=userid[:64], created_at=self._clock.now()))
                session.flush()
            existing = session.scalar(select(WeComResponseCode.id).where(
                WeComResponseCode.task_id == task_id, WeComResponseCode.code == code))
            if existing is not None:
                return int(existing)
            row = WeComResponseCode(task_id=task_id, code=code, source=source, issued_at=self._clock.now())
            session.add(row)
            session.flush()
            return int(row.id)

    def take_code(self, task_id: str, *, code: str | None = None) -> tuple[int, str] | None:
        """Claim the newest unused, unexpired code of the task (or exactly `code`); None when there is none.

        One UPDATE … RETURNING claims it, so two workers never spend the same code (a racing loser re-reads)."""
        now = self._clock.now()
        for _ in range(3):
            newest = select(WeComResponseCode.id).where(
                WeComResponseCode.task_id == task_id, WeComResponseCode.used_at.is_(None),
                WeComResponseCode.issued_at > now - CODE_LIFETIME)
            if code is not None:
                newest = newest.where(WeComResponseCode.code == code)
            newest = newest.order_by(WeComResponseCode.issued_at.desc(), WeComResponseCode.id.desc()).limit(1)
            with read_only(self._factory)() as session:
                candidate = session.scalar(newest)
                if candidate is None:
                    return None
            with self._factory.begin() as session:
                claimed = session.execute(
                    update(WeComResponseCode)
                    .where(WeComResponseCode.id == candidate, WeComResponseCode.used_at.is_(None))
                    .values(used_at=now).returning(WeComResponseCode.id, WeComResponseCode.code)).first()
            if claimed is not None:
                return int(claimed[0]), str(claimed[1])
        return None

    def give_back(self, code_id: int) -> None:
        """The update did not happen (WeCom was busy): the code is still good."""
        with self._factory.begin() as session:
            session.execute(update(WeComResponseCode).where(WeComResponseCode.id == code_id).values(used_at=None))

    def was_updated(self, task_id: str) -> bool:
        """True when some code of the task was already spent on an update."""
        with read_only(self._factory)() as session:
            return session.scalar(select(WeComResponseCode.id).where(
                WeComResponseCode.task_id == task_id, WeComResponseCode.used_at.is_not(None)).limit(1)) is not None
