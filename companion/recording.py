"""Recording a live session so that a failing database loses nothing.

While the database works, each event is written before the next output sees it (as ``StoreSink`` does), so
a crash or SIGKILL cannot take back what the person was told. When writing fails (disk full, read-only file,
locked by another program for longer than the busy timeout), the session goes on: the events wait in memory,
in order, while a background thread retries every few seconds (so a locked database never stalls the session
loop more than once), and they are written in order as soon as the database works again. On ``close`` a last
attempt is made; what still cannot be written goes to a JSON-lines rescue file next to the database.
A file that is not a companion database refuses the session before it begins: nothing is written beside it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.errors import UserError
from companion.runner import recorded
from companion.session.events import Action
from companion.store import ForeignFileError, Store, StoreError

RETRY_EVERY_S = 3.0
# sqlite3.Error: a failure the store has no hint for (still not a bug of ours). ForeignFileError: the file
# no longer looks like a database once the session has begun (it refuses a session before that).
_FAILURES = (StoreError, ForeignFileError, sqlite3.Error)


@dataclass(frozen=True)
class _Pending:
    t: float
    type: str
    data: dict[str, Any]
    wall: datetime  # when it happened, which a late write keeps


class Recorder:
    """A session Sink that records every event through a Store and survives the Store failing.

    ``store_factory`` opens the database (a new ``Store`` on each call: after a failure the connection is
    dropped and a fresh one is opened, which is what a read-only file that became writable needs);
    ``session_begin(store)`` starts the session record and returns its id (called once, when the database
    first works); ``warn`` shows one line to the person. ``rescue_next_to`` is the database path the rescue
    file is written beside; ``about`` (e.g. client, routine, minutes) goes into its first line, so that a
    session that never reached the database can still be told apart. Raises ForeignFileError when the file
    is not a companion database.
    """

    def __init__(self, store_factory: Callable[[], Store], session_begin: Callable[[Store], int],
                 warn: Callable[[str], None], *, rescue_next_to: Path, about: dict[str, Any] | None = None,
                 retry_every: float = RETRY_EVERY_S) -> None:
        self._about = dict(about or {})
        self._open = store_factory
        self._begin = session_begin
        self._warn = warn
        self._rescue_next_to = Path(rescue_next_to)
        self._retry_every = retry_every
        self._store: Store | None = None
        self.session_id: int | None = None
        self._pending: list[_Pending] = []  # non-empty = degraded: only the retry thread writes
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._retrier: threading.Thread | None = None
        self._warned = False
        self.rescue_file: Path | None = None
        self._try(lambda: None, starting=True)  # open and begin now if the database works; else on a retry

    @property
    def unsaved(self) -> int:
        """How many events are waiting in memory."""
        with self._lock:
            return len(self._pending)

    def __call__(self, t: float, action: Action) -> None:
        event = recorded(action)
        if event is None:
            return
        pending = _Pending(t, event[0], event[1], datetime.now(UTC))
        with self._lock:
            if self._pending:
                self._pending.append(pending)
                return
        if not self._try(lambda: self._write(pending)):
            with self._lock:
                self._pending.append(pending)
            self._degraded()

    def close(self) -> Path | None:
        """Stop retrying, make a last attempt, and write what is still unsaved to a rescue file (mode 0600),
        saying where. Returns the rescue file, or None when everything is in the database."""
        self._closing.set()
        self._wake.set()
        if self._retrier is not None:
            self._retrier.join()  # it may be inside a write: let it finish so the order holds
        self._flush()
        with self._lock:
            left = list(self._pending)
        if left:
            self.rescue_file = self._rescue(left)
        if self._store is not None:
            self._store.close()
            self._store = None
        return self.rescue_file

    # -- internals -------------------------------------------------------------------------------

    def _write(self, pending: _Pending) -> None:
        assert self._store is not None and self.session_id is not None
        self._store.record(self.session_id, pending.t, pending.type, pending.data, wall=pending.wall)

    def _try(self, write: Callable[[], None], starting: bool = False) -> bool:
        """Open the store and begin the session if not done yet, then ``write``; False when the database fails."""
        try:
            if self._store is None:
                self._store = self._open()
            if self.session_id is None:
                self.session_id = self._begin(self._store)
            write()
            return True
        except _FAILURES as exc:
            if starting and isinstance(exc, ForeignFileError):
                raise  # someone else's file: the session does not begin
            self._failed(exc)
            return False

    def _failed(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            self._warn(f"companion: cannot write the session database ({reason}); "
                       "keeping the session in memory and writing it out when possible")
        if self._store is not None:
            store, self._store = self._store, None
            try:
                store.close()
            except sqlite3.Error:
                pass

    def _flush(self) -> bool:
        """Write the waiting events, in order; True when none are left. Only one thread at a time flushes."""
        while True:
            with self._lock:
                if not self._pending:
                    return True
                head = self._pending[0]
            if not self._try(lambda: self._write(head)):
                return False
            with self._lock:
                self._pending.pop(0)
                recovered = not self._pending
            if recovered:
                self._warned = False  # a later failure deserves its own warning
                self._warn("companion: the session database works again; everything is saved")

    def _degraded(self) -> None:
        if self._retrier is None and not self._closing.is_set():
            self._retrier = threading.Thread(target=self._retry_loop, name="store-retry", daemon=True)
            self._retrier.start()

    def _retry_loop(self) -> None:
        while not self._closing.is_set():
            self._wake.wait(self._retry_every)
            if self._closing.is_set():
                return
            self._flush()

    def _rescue(self, events: list[_Pending]) -> Path | None:
        """The unsaved events as JSON lines beside the database: a header line, then one line per event."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self._rescue_next_to.with_name(f"{self._rescue_next_to.name}.unsaved-{stamp}-{os.getpid()}.jsonl")
        header = {"rescue": "companion session events not saved to the database",
                  "database": str(self._rescue_next_to), "session_id": self.session_id, **self._about}
        lines = [header] + [{"t": e.t, "type": e.type, "data": e.data,
                             "wall": e.wall.isoformat(timespec="milliseconds")} for e in events]
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            self._warn(f"companion: could not save {len(events)} events of this session: neither the database "
                       f"nor {path} can be written ({exc.strerror or exc}); free some disk space next time")
            return None
        self._warn(f"companion: {len(events)} events of this session could not be written to "
                   f"{self._rescue_next_to}; they are saved in {path}")
        return path
