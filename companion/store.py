"""The session store: every record a session emits, kept in SQLite so that nothing recorded is lost.

Each record is its own transaction (WAL journal, synchronous=FULL): once ``record`` returns, a SIGKILL,
Ctrl-C or power cut cannot take it back. Ratings and the client's profile are derived from the records
in that same transaction, so they never disagree with the event log. Two companions may share one file:
writers wait for each other (busy timeout) instead of failing.
"""

from __future__ import annotations

import difflib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.errors import UserError
from companion.session.profile import Profile

BUSY_TIMEOUT_S = 5.0
_SIDE_FILES = ("-wal", "-shm")


class StoreError(UserError):
    """The session database cannot be used: locked, read-only, damaged, or the disk is full."""

    exit_code = 5


class ForeignFileError(UserError):
    """The path holds a file that is not a companion database: it is refused and left as it is. Not a
    StoreError, which a session rides out: no session may begin on someone else's file."""

    exit_code = 5


# One tuple of statements per schema version; PRAGMA user_version counts the ones applied.
# Add a new tuple to change the schema; never edit an old one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE clients (
             name TEXT PRIMARY KEY,
             created_at TEXT NOT NULL)""",
        """CREATE TABLE sessions (
             id INTEGER PRIMARY KEY,
             client TEXT NOT NULL REFERENCES clients(name) ON DELETE CASCADE,
             routine TEXT NOT NULL,
             minutes INTEGER NOT NULL,
             started_at TEXT NOT NULL,
             ended_at TEXT,
             end_reason TEXT,
             duration REAL,
             status TEXT NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'ended', 'interrupted')))""",
        "CREATE INDEX sessions_by_client ON sessions(client, id)",
        """CREATE TABLE events (
             session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
             seq INTEGER NOT NULL,
             t REAL NOT NULL,
             type TEXT NOT NULL,
             data TEXT NOT NULL,
             wall TEXT NOT NULL,
             PRIMARY KEY (session_id, seq))""",
        """CREATE TABLE ratings (
             session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
             measure TEXT NOT NULL,
             "when" TEXT NOT NULL CHECK ("when" IN ('before', 'after')),
             value INTEGER CHECK (value BETWEEN 1 AND 5),
             PRIMARY KEY (session_id, measure, "when"))""",
        """CREATE TABLE profile (
             client TEXT NOT NULL REFERENCES clients(name) ON DELETE CASCADE,
             foot TEXT NOT NULL,
             area TEXT NOT NULL,
             kind TEXT NOT NULL CHECK (kind IN ('sensitive', 'pressure')),
             value TEXT,
             PRIMARY KEY (client, foot, area, kind))""",
    ),
    # 2: the process that runs a session, so that a second companion on the same file can tell a live
    # session from one whose process died.
    ("ALTER TABLE sessions ADD COLUMN pid INTEGER",),
    # 3: when that process started, so that a later process given the same pid is not taken for it.
    ("ALTER TABLE sessions ADD COLUMN pid_start INTEGER",),
)
SCHEMA_VERSION = len(_MIGRATIONS)


@dataclass(frozen=True)
class Rating:
    """One measure rated at the start (baseline) and at the end of a session; None = not rated."""

    measure: str
    before: int | None
    after: int | None

    @property
    def change(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class SessionSummary:
    id: int
    client: str
    routine: str
    minutes: int
    started_at: str  # UTC, ISO 8601
    ended_at: str | None
    end_reason: str | None
    duration: float | None  # seconds of session time
    status: str  # running | ended | interrupted (also a 'running' one whose process is gone)
    ratings: tuple[Rating, ...] = ()
    last_step: dict[str, Any] | None = None  # data of the last "step" record: where the session was


@dataclass(frozen=True)
class Event:
    seq: int
    t: float
    type: str
    data: dict[str, Any]
    wall: str  # UTC, ISO 8601, when it happened


@dataclass(frozen=True)
class SessionDetail:
    summary: SessionSummary
    events: tuple[Event, ...]

    def of_type(self, type: str) -> list[Event]:
        return [event for event in self.events if event.type == type]

    @property
    def steps(self) -> list[Event]:
        return self.of_type("step")

    @property
    def plan_changes(self) -> list[Event]:
        return self.of_type("plan")

    @property
    def safety_answers(self) -> list[Event]:
        return self.of_type("safety")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime, timespec: str = "seconds") -> str:
    return moment.astimezone(UTC).isoformat(timespec=timespec)


class Store:
    """The session database at ``path`` (created with its folders if missing, readable by you only).

    An existing file that is not a companion database raises ForeignFileError before anything in or beside
    it is changed."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()  # one connection, shared by the runner's threads
        created = _create_private(self.path)
        with self._errors():
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        try:
            if not created:
                self._refuse_unless_ours()
            with self._errors():
                self._db.execute("PRAGMA foreign_keys = ON")
                self._use_wal()
                self._db.execute("PRAGMA synchronous = FULL")
                self._db.execute("PRAGMA secure_delete = ON")  # forgotten data is overwritten, not left
            self._migrate()
            _tighten(self.path)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------

    def begin_session(self, client: str, routine: str, minutes: int) -> int:
        """Start a session for ``client`` (created if new; a known client's however it is spelt: the stored
        spelling written exactly so, else the first used); returns its id. Status is 'running'."""
        if not client.strip():
            raise UserError("a session needs a client name; give one, or use the default 'me'")
        now = self._now()
        own = _proc_stat(os.getpid())
        with self._write() as db:
            client = _named(_spellings(db, client), client)
            db.execute("INSERT OR IGNORE INTO clients (name, created_at) VALUES (?, ?)", (client, now))
            cursor = db.execute(
                "INSERT INTO sessions (client, routine, minutes, started_at, pid, pid_start) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (client, routine, minutes, now, os.getpid(), own[1] if own else None),
            )
            return int(cursor.lastrowid)

    def record(self, session_id: int, t: float, type: str, data: dict[str, Any], wall: datetime | None = None) -> None:
        """Store one record (and what it changes in ratings/profile) in one committed transaction.

        ``wall`` is when it happened (default: now); a record written late, once a failing database works
        again, keeps its own time (an "end" record: the session's end). Types without a rule here are stored
        as they are; a known type missing a field it needs is a bug in the caller and raises ValueError
        before anything is written."""
        check_record(type, data)
        derive = _DERIVED.get(type)
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        now = wall or self._clock()
        with self._write() as db:
            client = self._client_of(db, session_id)
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = ?", (session_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO events (session_id, seq, t, type, data, wall) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, seq, float(t), type, payload, _iso(now, "milliseconds")),
            )
            if derive is not None:
                derive(db, session_id, client, data, _iso(now))

    def end_session(self, session_id: int, reason: str, duration: float) -> None:
        with self._write() as db:
            client = self._client_of(db, session_id)
            _end(db, session_id, client, {"reason": reason, "duration": duration}, self._now())

    def mark_session_interrupted(self, session_id: int) -> None:
        """Mark one session interrupted, whatever runs it (an imported one that had not ended)."""
        with self._write() as db:
            db.execute("UPDATE sessions SET status = 'interrupted' WHERE id = ?", (session_id,))

    def mark_interrupted(self) -> int:
        """Turn every 'running' session whose process is gone into 'interrupted'; returns how many. Call
        it as a session starts: one this process began is over too. A session still run by a live
        process on this machine (another companion) is left alone."""
        with self._write() as db:
            running = db.execute("SELECT id, pid, pid_start FROM sessions WHERE status = 'running'")
            dead = [(sid,) for sid, pid, start in running if pid == os.getpid() or not _alive(pid, start)]
            db.executemany("UPDATE sessions SET status = 'interrupted' WHERE id = ?", dead)
            return len(dead)

    def forget(self, client: str) -> int:
        """Delete ``client`` (every spelling of the name, see ``spellings``) and all their sessions, events,
        ratings and profile, then VACUUM so that nothing of them stays in the file. Returns how many sessions
        were deleted."""
        with self._write() as db:
            names = _spellings(db, client)
            marks = ",".join("?" * len(names))
            (count,) = db.execute(f"SELECT COUNT(*) FROM sessions WHERE client IN ({marks})", names).fetchone()
            db.execute(f"DELETE FROM clients WHERE name IN ({marks})", names)  # cascades to everything else
        with self._lock, self._errors():
            self._db.execute("VACUUM")
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StoreError(
                f"{client} was deleted, but traces stay in {self.path}-wal while another companion "
                "has it open; close it and run forget again"
            )
        return int(count)

    def rename_client(self, client: str, new: str) -> tuple[str, int]:
        """Give ``client`` (every spelling) the name ``new``; when ``new`` is another client (whatever its
        case), merge into them: ``client``'s sessions become theirs, among theirs by id (the order they were
        recorded in). The profile is derived again from the records of all their sessions in that order, as
        if every session had been recorded under the one name. One transaction: a crash leaves the clients
        as they were or as asked; no session, event or rating is deleted. Returns the name the sessions
        now have and how many of them changed name."""
        tidy = " ".join(new.split())
        if not tidy:
            raise UserError("give the new name of the client, e.g. 'Anna Smith'")
        self.check_client(client)
        with self._write() as db:
            olds = _spellings(db, client)
            if not olds:
                raise UserError(f"no client named {client}; see companion history")  # forgotten meanwhile
            joined = [name for name in _spellings(db, tidy) if name not in olds]
            target = _named(joined, tidy) if joined else tidy
            moving = [name for name in olds if name != target]
            if not moving:
                raise UserError(f"{target} is already the name of that client; nothing to rename")
            marks = ",".join("?" * len(moving))
            db.execute(f"INSERT OR IGNORE INTO clients (name, created_at) "
                       f"SELECT ?, MIN(created_at) FROM clients WHERE name IN ({marks})", (target, *moving))
            moved = db.execute(f"UPDATE sessions SET client = ? WHERE client IN ({marks})", (target, *moving))
            db.execute(f"DELETE FROM profile WHERE client IN (?, {marks})", (target, *moving))
            db.execute(f"DELETE FROM clients WHERE name IN ({marks})", moving)  # no session is theirs now
            records = db.execute(
                "SELECT e.session_id, e.type, e.data, e.wall FROM events e JOIN sessions s ON s.id = e.session_id "
                "WHERE s.client = ? AND e.type IN ('sensitive', 'recovered', 'preference') ORDER BY s.id, e.seq",
                (target,)).fetchall()
            for session_id, type, data, wall in records:
                _DERIVED[type](db, session_id, target, json.loads(data), wall)
        return target, moved.rowcount

    # -- reading ---------------------------------------------------------------------------------

    def clients(self) -> list[str]:
        with self._read() as db:
            return [name for (name,) in db.execute("SELECT name FROM clients ORDER BY name COLLATE NOCASE, name")]

    def spellings(self, client: str) -> list[str]:
        """Every client stored under the name ``client``, whatever its case and spacing ("anna smith " is
        Anna Smith), the spelling first used first. More than one only in a database written before names
        were matched so: the history, export and forget of a name take them all."""
        with self._read() as db:
            return _spellings(db, client)

    def check_client(self, client: str) -> list[str]:
        """The spellings of ``client`` (see ``spellings``); a UserError suggesting near names, or naming the
        known clients, if there is none."""
        found = self.spellings(client)
        if found:
            return found
        known = self.clients()
        near = near_names(client, known)
        if near:
            raise UserError(f"no client named {client!r}; did you mean {' or '.join(map(repr, near))}?")
        raise UserError(f"no client named {client}; clients: {', '.join(known) or 'none yet'}")

    def profile(self, client: str) -> Profile:
        """What carries over to the next session: the areas still sore and the preferred pressures."""
        with self._read() as db:
            client = _named(_spellings(db, client), client)
            profile = Profile(client=client)
            rows = db.execute("SELECT foot, area, kind, value FROM profile WHERE client = ?", (client,))
            for foot, area, kind, value in rows:
                if kind == "sensitive":
                    profile.sensitive.add((foot, area))
                elif value is not None:  # a declined preference, as stored before 2026-12-07
                    profile.pressure[(foot, area)] = value
            last = db.execute(
                """SELECT measure, value FROM ratings WHERE "when" = 'after' AND value IS NOT NULL AND session_id =
                     (SELECT MAX(r.session_id) FROM ratings r JOIN sessions s ON s.id = r.session_id
                      WHERE s.client = ? AND r."when" = 'after' AND r.value IS NOT NULL)""", (client,))
            profile.last_after = dict(last.fetchall())
        return profile

    def sessions(self, client: str | None = None) -> list[SessionSummary]:
        """Sessions oldest first, of one client (every spelling, see ``spellings``) or of everyone."""
        with self._read() as db:
            if client is None:
                return self._summaries(db, "", ())
            names = _spellings(db, client)
            return self._summaries(db, f"WHERE client IN ({','.join('?' * len(names))})", tuple(names))

    def session(self, session_id: int) -> SessionDetail:
        with self._read() as db:
            found = self._summaries(db, "WHERE id = ?", (session_id,))
            if not found:
                raise no_session(session_id)
            rows = db.execute(
                "SELECT seq, t, type, data, wall FROM events WHERE session_id = ? ORDER BY seq",
                (session_id,),
            )
            events = tuple(Event(seq, t, type, json.loads(data), wall) for seq, t, type, data, wall in rows)
        return SessionDetail(found[0], events)

    def last_interrupted(self, client: str) -> SessionSummary | None:
        """The client's latest session if it was interrupted (with ``last_step`` to offer a resume);
        None if their latest session ended normally or they have none. Call ``mark_interrupted`` first."""
        with self._read() as db:
            latest = self._summaries(
                db, "WHERE id = (SELECT MAX(id) FROM sessions WHERE client = ?)", (_named(_spellings(db, client), client),)
            )
        if latest and latest[0].status == "interrupted":
            return latest[0]
        return None

    # -- internals -------------------------------------------------------------------------------

    def _summaries(self, db: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[SessionSummary]:
        rows = db.execute(
            "SELECT id, client, routine, minutes, started_at, ended_at, end_reason, duration, status, pid, "
            f"pid_start FROM sessions {where} ORDER BY id",
            args,
        ).fetchall()
        ids = [row[0] for row in rows]
        marks = ",".join("?" * len(ids))
        ratings: dict[int, dict[str, dict[str, int | None]]] = {}
        for session_id, measure, when, value in db.execute(
            f'SELECT session_id, measure, "when", value FROM ratings WHERE session_id IN ({marks})', ids
        ):
            ratings.setdefault(session_id, {}).setdefault(measure, {})[when] = value
        last_steps = {
            session_id: json.loads(data)
            for session_id, data in db.execute(
                "SELECT e.session_id, e.data FROM events e "
                f"WHERE e.session_id IN ({marks}) AND e.type = 'step' AND e.seq = "
                "(SELECT MAX(seq) FROM events WHERE session_id = e.session_id AND type = 'step')",
                ids,
            )
        }
        return [
            SessionSummary(
                *row[:8],
                status=_status(*row[8:]),
                ratings=tuple(
                    Rating(measure, by_when.get("before"), by_when.get("after"))
                    for measure, by_when in sorted(ratings.get(row[0], {}).items())
                ),
                last_step=last_steps.get(row[0]),
            )
            for row in rows
        ]

    def _client_of(self, db: sqlite3.Connection, session_id: int) -> str:
        row = db.execute("SELECT client FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise no_session(session_id)
        return str(row[0])

    def _now(self) -> str:
        return _iso(self._clock())

    def _use_wal(self) -> None:
        """Switch to the WAL journal (a no-op once the file is WAL). When companions open a new file
        at the same moment, SQLite answers 'busy' here without waiting, so wait here instead."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _refuse_unless_ours(self) -> None:
        """Before anything is written: an existing file is used only if it is a companion database, or an
        empty one (another companion is creating it). Another program's SQLite database is refused too."""
        with self._errors():
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
            tables = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        if (tables and not version) or (version and ("sessions",) not in tables):
            raise ForeignFileError(f"the database {self.path} {_HINTS[sqlite3.SQLITE_NOTADB]}")

    def _migrate(self) -> None:
        with self._errors():
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} was written by a newer companion (schema {version}); "
                "upgrade companion or pass --db with another file"
            )
        if version == SCHEMA_VERSION:
            return
        with self._write() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()  # another process may have won
            for number in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[number]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction that takes the write lock up front (waiting up to the busy
        timeout for another writer), so it cannot deadlock half-way."""
        with self._lock, self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several queries."""
        with self._lock, self._errors():
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite errors a person can fix become one StoreError (ForeignFileError: not a database) line;
        anything else is a bug."""
        try:
            yield
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
            hint = _HINTS.get(code)
            if hint is None:
                raise
            error = ForeignFileError if code == sqlite3.SQLITE_NOTADB else StoreError
            raise error(f"the database {self.path} {hint}") from exc


_HINTS = {
    sqlite3.SQLITE_BUSY: "is busy with another companion; wait for it to finish and try again",
    sqlite3.SQLITE_LOCKED: "is locked by another program; close it and try again",
    sqlite3.SQLITE_READONLY: "is read-only; make it writable (chmod u+w) or pass --db with another file",
    sqlite3.SQLITE_CORRUPT: "is damaged; move it aside (a new one will be made) or restore a backup",
    sqlite3.SQLITE_NOTADB: "is not a companion database; move it aside or pass --db with another file",
    sqlite3.SQLITE_FULL: "cannot grow: the disk is full; free some space and try again",
    sqlite3.SQLITE_IOERR: "could not be read or written (disk full or failing?); free space or pass --db",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened; check you may read and write it and its folder, or pass --db",
    sqlite3.SQLITE_PERM: "may not be opened; check its permissions, or pass --db with another file",
}


def _status(status: str, pid: int | None, pid_start: int | None) -> str:
    """A 'running' session whose process is gone (SIGKILL, a crash) reads as interrupted at once, not only
    once the next session start marks it so."""
    return "interrupted" if status == "running" and not _alive(pid, pid_start) else status


def _alive(pid: int | None, start: int | None) -> bool:
    """Whether the process that began a session (``pid``, started at ``start``) still runs on this machine:
    not when the pid is gone, a zombie (killed, not reaped yet), or another process's that started later."""
    if pid is None:
        return False  # recorded before schema 2
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (not Linux): the pid is all there is to go by
    state, started = stat
    return state != "Z" and start in (None, started)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """The state of process ``pid`` and when it started (clock ticks since boot), from /proc; None without."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _create_private(path: Path) -> bool:
    """Create the folders (0700) and the database file (0600) before SQLite opens it: SQLite gives the WAL
    and SHM files the file's mode. True when the file is new; an existing one is not touched here."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        return True
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise StoreError(
            f"cannot create the database {path}: {reason}; pass --db with a path you can write"
        ) from exc


def _tighten(path: Path) -> None:
    """Make our database and its side files readable by us only again (a copy or a chmod may have opened
    them); called once the file is known to be a companion database. Where that cannot be done (a
    read-only mount) the file can still be read."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _SIDE_FILES)):
        with suppress(OSError):
            status = file.stat()
            if status.st_mode & 0o077 and status.st_uid == os.geteuid():
                file.chmod(status.st_mode & 0o600)


def client_key(name: str) -> str:
    """What two spellings of one client's name share: "Anna  Smith " and "anna smith" are one client."""
    return " ".join(name.split()).casefold()


def _spellings(db: sqlite3.Connection, client: str) -> list[str]:
    key = client_key(client)
    rows = db.execute("SELECT name FROM clients ORDER BY created_at, rowid")
    return [name for (name,) in rows if client_key(name) == key]


def _named(spellings: list[str], client: str) -> str:
    """The one of ``spellings`` a session of ``client`` goes to: written exactly so, else the first used;
    ``client`` with its spaces tidied when there is none (a new client)."""
    tidy = " ".join(client.split())
    return tidy if tidy in spellings or not spellings else spellings[0]


def near_names(client: str, known: list[str]) -> list[str]:
    """Known clients ``client`` may have meant: those with all its words ("anna" → Anna Smith), else those
    spelt nearly so ("ana smith" → Anna Smith)."""
    words = client_key(client).split()
    keys: dict[str, str] = {}
    for name in known:
        keys.setdefault(client_key(name), name)
    whole = [name for key, name in keys.items() if words and all(w in key.split() for w in words)]
    return whole or [keys[k] for k in difflib.get_close_matches(client_key(client), list(keys), n=3, cutoff=0.75)]


def no_session(session_id: int) -> UserError:
    """The error for a session id the database does not hold."""
    return UserError(f"no session {session_id}; see companion history")


_REQUIRED = {
    "rating": ("measure", "when"),
    "sensitive": ("foot", "area"),
    "recovered": ("foot", "area"),
    "preference": ("foot", "area", "pressure"),
    "end": ("reason", "duration"),
}


def check_record(type: str, data: dict[str, Any]) -> None:
    """ValueError when a record of a type the store derives ratings, profile or the end from lacks a field
    it needs or has a rating out of range; records of other types are stored as they are."""
    missing = [key for key in _REQUIRED.get(type, ()) if key not in data]
    if missing:
        raise ValueError(f"a {type!r} record needs {', '.join(missing)}: {data!r}")
    if type == "rating":
        value = data.get("value")
        if data["when"] not in ("before", "after"):
            raise ValueError(f"a rating is 'before' or 'after', not {data['when']!r}")
        if value is not None and (isinstance(value, bool) or value not in range(1, 6)):
            raise ValueError(f"a rating value is 1..5 or None, not {value!r}")


def _rating(db: sqlite3.Connection, session_id: int, client: str, data: dict[str, Any], now: str) -> None:
    db.execute(
        'INSERT OR REPLACE INTO ratings (session_id, measure, "when", value) VALUES (?, ?, ?, ?)',
        (session_id, data["measure"], data["when"], data.get("value")),
    )


def _sensitive(db: sqlite3.Connection, session_id: int, client: str, data: dict[str, Any], now: str) -> None:
    db.execute(
        "INSERT OR REPLACE INTO profile (client, foot, area, kind, value) VALUES (?, ?, ?, 'sensitive', ?)",
        (client, data["foot"], data["area"], data.get("reason")),
    )


def _recovered(db: sqlite3.Connection, session_id: int, client: str, data: dict[str, Any], now: str) -> None:
    db.execute(
        "DELETE FROM profile WHERE client = ? AND foot = ? AND area = ? AND kind = 'sensitive'",
        (client, data["foot"], data["area"]),
    )


def _preference(db: sqlite3.Connection, session_id: int, client: str, data: dict[str, Any], now: str) -> None:
    if data["pressure"] is None:  # declined ("keep that?" "no"), or the spot hurt since: forgotten
        db.execute("DELETE FROM profile WHERE client = ? AND foot = ? AND area = ? AND kind = 'pressure'",
                   (client, data["foot"], data["area"]))
        return
    db.execute(
        "INSERT OR REPLACE INTO profile (client, foot, area, kind, value) VALUES (?, ?, ?, 'pressure', ?)",
        (client, data["foot"], data["area"], data["pressure"]),
    )


def _end(db: sqlite3.Connection, session_id: int, client: str, data: dict[str, Any], now: str) -> None:
    db.execute(
        "UPDATE sessions SET status = 'ended', ended_at = ?, end_reason = ?, duration = ? WHERE id = ?",
        (now, data["reason"], float(data["duration"]), session_id),
    )


_DERIVED: dict[str, Callable[[sqlite3.Connection, int, str, dict[str, Any], str], None]] = {
    "rating": _rating,
    "sensitive": _sensitive,
    "recovered": _recovered,
    "preference": _preference,
    "end": _end,
}
