"""Sync locks: two syncs of the same asset (a CLI sync and a scheduled run, say) never interleave.

Interleaved, they could each commit a page the other had already superseded and a cursor past it.
A lock is a row in `sync_locks`, so it works the same on SQLite and PostgreSQL and is visible to
every process that shares the warehouse. The holder refreshes a heartbeat while it works; a lock
whose holder died (SIGKILL, power loss) is taken over at once when the holder was a process on
this host, and after `stale_after` seconds without a heartbeat otherwise.
"""

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gofap_assets.logs import get_logger
from gofap_assets.warehouse.schema import sync_locks
from gofap_assets.warehouse.store import Warehouse, WarehouseError, utcnow

log = get_logger("locks")

WAIT_SECONDS = 30 * 60.0
"""How long a sync waits for another sync of the same asset before giving up."""
STALE_SECONDS = 10 * 60.0
"""A lock whose heartbeat is older than this belongs to a dead sync on another host."""
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class LockHolder:
    name: str
    holder: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        return (f"pid {self.pid} on {self.host}, running since "
                f"{self.acquired_at:%Y-%m-%d %H:%M:%SZ}")


class SyncBusyError(WarehouseError):
    """Another sync of the same asset kept its lock for longer than we were willing to wait."""


def _alive_here(host: str, pid: int) -> bool:
    """False only when the holder was a process on this host that no longer exists."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Heartbeat(threading.Thread):
    def __init__(self, warehouse: Warehouse, name: str, holder: str, every: float) -> None:
        super().__init__(name=f"sync-lock-heartbeat:{name}", daemon=True)
        self._warehouse, self._name, self._holder, self._every = warehouse, name, holder, every
        self.stopped = threading.Event()

    def run(self) -> None:
        t = sync_locks.c
        while not self.stopped.wait(self._every):
            try:
                with self._warehouse.transaction() as conn:
                    conn.execute(sync_locks.update()
                                 .where(t.name == self._name, t.holder == self._holder)
                                 .values(heartbeat_at=utcnow()))
            except WarehouseError as exc:  # the sync itself will meet the same trouble
                log.warning("could not refresh the lock %s: %s", self._name, exc)


class SyncLocks:
    """Acquire, wait for, take over and release sync locks in one warehouse."""

    def __init__(self, warehouse: Warehouse, *, wait_seconds: float = WAIT_SECONDS,
                 stale_seconds: float = STALE_SECONDS) -> None:
        self.warehouse = warehouse
        self.wait_seconds = wait_seconds
        self.stale_seconds = stale_seconds

    @contextmanager
    def hold(self, name: str, *,
             on_wait: Callable[[LockHolder], None] | None = None) -> Iterator[None]:
        """Hold `name` for the duration; `on_wait` is told once who holds it if we must wait."""
        holder = f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + self.wait_seconds
        told = False
        while True:
            current = self._try_acquire(name, holder)
            if current is None:
                break
            if time.monotonic() >= deadline:
                raise SyncBusyError(
                    f"another sync of {name} ({current.describe()}) still holds its lock after "
                    f"{self.wait_seconds:.0f}s; try again when it has finished")
            if not told and on_wait is not None:
                on_wait(current)
                told = True
            time.sleep(_POLL_SECONDS)
        heartbeat = _Heartbeat(self.warehouse, name, holder,
                               every=max(0.05, min(30.0, self.stale_seconds / 4)))
        heartbeat.start()
        try:
            yield
        finally:
            heartbeat.stopped.set()
            heartbeat.join(timeout=5)
            # Unreleased (the warehouse is down), it goes stale: never worse than that.
            with suppress(WarehouseError), self.warehouse.transaction() as conn:
                conn.execute(sync_locks.delete().where(sync_locks.c.name == name,
                                                       sync_locks.c.holder == holder))

    def holders(self) -> list[LockHolder]:
        with self.warehouse.engine.connect() as conn:
            return [LockHolder(**row._mapping) for row in conn.execute(sa.select(sync_locks))]

    def _try_acquire(self, name: str, holder: str) -> LockHolder | None:
        """None when we hold the lock now; otherwise whoever does."""
        now = utcnow()
        row = {"name": name, "holder": holder, "host": socket.gethostname()[:255],
               "pid": os.getpid(), "acquired_at": now, "heartbeat_at": now}
        current: LockHolder | None = None
        while current is None:  # None: released between our insert and our look; again
            with self.warehouse.transaction() as conn:
                inserted = conn.execute(self.warehouse.insert(sync_locks).values(**row)
                                        .on_conflict_do_nothing(index_elements=["name"]))
                if inserted.rowcount == 1:
                    return None
                current = self._current(conn, name)
                if current is None:
                    continue
                if not self._stale(current, now):
                    return current
                t = sync_locks.c
                taken = conn.execute(sync_locks.update()
                                     .where(t.name == name, t.holder == current.holder)
                                     .values(**row))
                if taken.rowcount != 1:
                    return current
        log.warning("took over the lock %s from a sync that is gone (%s)", name,
                    current.describe())
        return None

    @staticmethod
    def _current(conn: Connection, name: str) -> LockHolder | None:
        found = conn.execute(sa.select(sync_locks).where(sync_locks.c.name == name)).first()
        return LockHolder(**found._mapping) if found else None

    def _stale(self, current: LockHolder, now: datetime) -> bool:
        if now - current.heartbeat_at > timedelta(seconds=self.stale_seconds):
            return True
        return not _alive_here(current.host, current.pid)
