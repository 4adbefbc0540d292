"""The session store: records round-trip, ratings and profile are derived, errors are one clear line."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion import store as store_module
from companion.errors import UserError
from companion.store import _MIGRATIONS, SCHEMA_VERSION, ForeignFileError, Rating, Store, StoreError

# One record of every type the engine emits, in the order a session could emit them.
EVERY_TYPE = [
    ("safety", {"question": "diabetes", "answer": "no", "text": "Do you have diabetes?"}),
    ("rating", {"measure": "warmth", "value": 2, "when": "before"}),
    ("rating", {"measure": "comfort", "value": None, "when": "before"}),
    ("say", {"text": "Let's begin with the left foot.", "kind": "announce"}),
    (
        "step",
        {
            "id": "l-arch",
            "phase": "main",
            "foot": "left",
            "area": "arch",
            "technique": "kneading",
            "pressure": "medium",
            "duration": 90,
        },
    ),
    ("intent", {"intent": "pain", "text": "that hurts"}),
    ("intent", {"intent": "more_time", "text": "thirty more seconds", "value": 30}),
    ("plan", {"change": "pressure", "step": "l-arch", "reason": "pain", "to": "light"}),
    ("sensitive", {"foot": "left", "area": "heel", "reason": "pain"}),
    ("recovered", {"foot": "right", "area": "toes"}),
    ("preference", {"foot": "left", "area": "arch", "pressure": "light"}),
    ("pause", {"reason": "asked"}),
    ("resume", {}),
    ("earcon", {"name": "step"}),
    ("voice", {"setting": "rate", "direction": "slower"}),
    ("hologram", {"future": ["types", "are", "kept"], "ünïcode": "가나다"}),
    ("rating", {"measure": "warmth", "value": 4, "when": "after"}),
    ("end", {"reason": "completed", "duration": 1234.5}),
]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


def test_every_record_type_round_trips_in_order(db_path: Path) -> None:
    with Store(db_path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        for t, (type, data) in enumerate(EVERY_TYPE):
            store.record(session_id, t * 1.5, type, data)
    with Store(db_path) as store:  # a fresh connection reads what was committed
        detail = store.session(session_id)
    assert [(e.type, e.data) for e in detail.events] == EVERY_TYPE
    assert [e.seq for e in detail.events] == list(range(1, len(EVERY_TYPE) + 1))
    assert [e.t for e in detail.events] == [t * 1.5 for t in range(len(EVERY_TYPE))]
    assert all(datetime.fromisoformat(e.wall).tzinfo is not None for e in detail.events)
    assert [e.data["change"] for e in detail.plan_changes] == ["pressure"]
    assert [e.data["answer"] for e in detail.safety_answers] == ["no"]
    assert [e.data["id"] for e in detail.steps] == ["l-arch"]


def test_ratings_and_end_are_derived_from_records(db_path: Path) -> None:
    with Store(db_path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        for t, (type, data) in enumerate(EVERY_TYPE):
            store.record(session_id, t, type, data)
        summary = store.session(session_id).summary
    assert summary.ratings == (Rating("comfort", None, None), Rating("warmth", 2, 4))
    assert summary.ratings[1].change == 2
    assert (summary.status, summary.end_reason, summary.duration) == ("ended", "completed", 1234.5)
    assert summary.ended_at is not None
    assert summary.last_step is not None and summary.last_step["area"] == "arch"


def test_a_later_rating_of_the_same_measure_replaces_the_earlier(db_path: Path) -> None:
    with Store(db_path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        store.record(session_id, 0, "rating", {"measure": "warmth", "value": 2, "when": "before"})
        store.record(session_id, 1, "rating", {"measure": "warmth", "value": 3, "when": "before"})
        assert store.session(session_id).summary.ratings == (Rating("warmth", 3, None),)


def test_profile_has_the_end_ratings_of_the_last_session_that_has_any(db_path: Path) -> None:
    with Store(db_path) as store:
        assert store.profile("Maria").last_after == {}
        first = store.begin_session("Maria", "circulation", 20)
        store.record(first, 1, "rating", {"measure": "warmth", "value": 2, "when": "before"})
        store.record(first, 2, "rating", {"measure": "warmth", "value": 3, "when": "after"})
        store.record(first, 3, "rating", {"measure": "comfort", "value": 4, "when": "after"})
        second = store.begin_session("Maria", "circulation", 20)  # stopped before its end ratings
        store.record(second, 1, "rating", {"measure": "warmth", "value": 1, "when": "before"})
        store.record(second, 2, "rating", {"measure": "comfort", "value": None, "when": "after"})
        other = store.begin_session("Jo", "circulation", 20)
        store.record(other, 1, "rating", {"measure": "warmth", "value": 5, "when": "after"})
        assert store.profile("Maria").last_after == {"warmth": 3, "comfort": 4}


def test_profile_carries_over_between_sessions_and_clients_are_separate(db_path: Path) -> None:
    with Store(db_path) as store:
        first = store.begin_session("Maria", "circulation", 20)
        store.record(first, 1, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
        store.record(first, 2, "sensitive", {"foot": "right", "area": "toes", "reason": "tender"})
        store.record(first, 3, "preference", {"foot": "left", "area": "arch", "pressure": "light"})
        store.end_session(first, "completed", 600)
        other = store.begin_session("Jo", "quick", 5)
        store.record(other, 1, "sensitive", {"foot": "left", "area": "ball", "reason": "pain"})
    with Store(db_path) as store:  # the next day, a new process
        profile = store.profile("Maria")
        assert profile.client == "Maria"
        assert profile.sensitive == {("left", "heel"), ("right", "toes")}
        assert profile.pressure == {("left", "arch"): "light"}
        second = store.begin_session("Maria", "circulation", 20)
        store.record(second, 1, "recovered", {"foot": "right", "area": "toes"})
        store.record(second, 2, "preference", {"foot": "left", "area": "arch", "pressure": "firm"})
        profile = store.profile("Maria")
        assert profile.sensitive == {("left", "heel")}
        assert profile.pressure == {("left", "arch"): "firm"}
        store.record(second, 3, "preference", {"foot": "left", "area": "arch", "pressure": None})  # "Keep that?" "No."
        assert store.profile("Maria").pressure == {}
        assert store.profile("Jo").sensitive == {("left", "ball")}
        assert store.profile("nobody yet").sensitive == set()
        assert store.clients() == ["Jo", "Maria"]


def test_sessions_lists_oldest_first_and_filters_by_client(db_path: Path) -> None:
    with Store(db_path) as store:
        ids = [store.begin_session(client, "circulation", 10) for client in ("A", "B", "A")]
        store.end_session(ids[0], "completed", 590.0)
        assert [s.id for s in store.sessions()] == ids
        assert [s.id for s in store.sessions("A")] == [ids[0], ids[2]]
        assert store.sessions("C") == []
        first = store.sessions("A")[0]
        assert (first.status, first.end_reason, first.duration, first.minutes) == (
            "ended",
            "completed",
            590.0,
            10,
        )
        assert store.sessions("A")[1].status == "running"


def test_a_client_is_one_client_whatever_the_case_of_their_name(db_path: Path) -> None:
    with Store(db_path) as store:
        first = store.begin_session("Anna Smith", "circulation", 20)
        store.record(first, 1, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
        store.end_session(first, "completed", 600)
        second = store.begin_session("anna  SMITH ", "circulation", 20)
        assert store.clients() == ["Anna Smith"]  # the spelling first used
        assert [s.id for s in store.sessions("ANNA smith")] == [first, second]
        assert [s.client for s in store.sessions()] == ["Anna Smith", "Anna Smith"]
        assert store.profile("anna smith").sensitive == {("left", "heel")}
        assert store.profile("anna smith").client == "Anna Smith"
        assert store.check_client("anna smith") == ["Anna Smith"]
        store.mark_interrupted()
        assert store.last_interrupted("ANNA SMITH").id == second
        assert store.forget("anna smith") == 2
        assert store.clients() == [] and store.sessions() == []


def _legacy_spelling(db_path: Path, name: str) -> int:
    """A second client differing only in case, with one session, as a database written before names were
    matched regardless of case may hold."""
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO clients (name, created_at) VALUES (?, '2030-01-01T00:00:00+00:00')", (name,))
        cursor = db.execute("INSERT INTO sessions (client, routine, minutes, started_at, status) "
                            "VALUES (?, 'circulation', 20, '2030-01-01T00:00:00+00:00', 'ended')", (name,))
        return int(cursor.lastrowid)


def test_two_clients_stored_in_different_cases_are_read_as_one_and_written_to_the_exact_one(db_path: Path) -> None:
    with Store(db_path) as store:
        first = store.begin_session("Anna Smith", "circulation", 20)
        store.record(first, 1, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
    lower = _legacy_spelling(db_path, "anna smith")
    with Store(db_path) as store:
        assert store.check_client("ANNA SMITH") == ["Anna Smith", "anna smith"]
        assert [s.id for s in store.sessions("anna smith")] == [first, lower]
        assert store.profile("ANNA SMITH").client == "Anna Smith"  # no exact spelling: the first used
        assert store.profile("anna smith").client == "anna smith"  # the exact spelling, when stored
        assert store.sessions()[-1].client == store.sessions()[0].client.lower()
        exact = store.begin_session("anna smith", "circulation", 20)
        other = store.begin_session("ANNA SMITH", "circulation", 20)
        assert [s.client for s in store.sessions() if s.id in (exact, other)] == ["anna smith", "Anna Smith"]
        assert store.forget("Anna smith") == 4  # forgetting a person leaves none of their spellings
        assert store.clients() == []


@pytest.mark.parametrize(("asked", "message"), [
    ("anna", "no client named 'anna'; did you mean 'Anna Berg' or 'Anna Smith'?"),
    ("ana smith", "no client named 'ana smith'; did you mean 'Anna Smith'?"),
    ("Zoe", "no client named Zoe; clients: Anna Berg, Anna Smith, bob"),
])
def test_an_unknown_client_suggests_near_names(db_path: Path, asked: str, message: str) -> None:
    with Store(db_path) as store:
        for name in ("Anna Smith", "bob", "Anna Berg"):
            store.begin_session(name, "circulation", 20)
        with pytest.raises(UserError) as error:
            store.check_client(asked)
    assert str(error.value) == message


def test_interrupted_session_offers_where_it_stopped(db_path: Path) -> None:
    with Store(db_path) as store:
        done = store.begin_session("Maria", "circulation", 20)
        store.end_session(done, "completed", 1200)
        cut = store.begin_session("Maria", "circulation", 20)
        for area in ("toes", "arch"):
            store.record(cut, 10, "step", {"id": f"l-{area}", "foot": "left", "area": area})
        store.record(cut, 11, "say", {"text": "Now the arch.", "kind": "cue"})
        store.begin_session("Jo", "quick", 5)
    with Store(db_path) as store:  # after a crash: the next start marks what was left running
        assert store.last_interrupted("Maria") is None  # not marked yet: still 'running'
        assert store.mark_interrupted() == 2
        summary = store.last_interrupted("Maria")
        assert summary is not None and summary.id == cut and summary.status == "interrupted"
        assert summary.last_step == {"id": "l-arch", "foot": "left", "area": "arch"}
        assert store.mark_interrupted() == 0
        store.begin_session("Maria", "circulation", 20)  # declined the resume: a new session began
        assert store.last_interrupted("Maria") is None
        assert store.last_interrupted("never seen") is None


def test_unknown_session_is_a_user_error(db_path: Path) -> None:
    with Store(db_path) as store:
        with pytest.raises(UserError, match=r"^no session 42; see companion history$"):
            store.session(42)
        with pytest.raises(UserError, match="no session 42"):
            store.record(42, 0, "say", {"text": "hi", "kind": "cue"})
        with pytest.raises(UserError, match="no session 42"):
            store.end_session(42, "completed", 1)


@pytest.mark.parametrize(
    ("type", "data"),
    [
        ("rating", {"measure": "warmth", "value": 7, "when": "before"}),
        ("rating", {"measure": "warmth", "value": 3, "when": "during"}),
        ("rating", {"value": 3, "when": "before"}),
        ("sensitive", {"foot": "left"}),
        ("preference", {"foot": "left", "area": "arch"}),
        ("end", {"reason": "completed"}),
    ],
)
def test_a_malformed_known_record_writes_nothing(db_path: Path, type: str, data: dict) -> None:
    with Store(db_path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        with pytest.raises(ValueError):
            store.record(session_id, 0, type, data)
        assert store.session(session_id).events == ()


def test_files_are_private_and_folders_created(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "history.sqlite3"
    with Store(path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        store.record(session_id, 0, "say", {"text": "hi", "kind": "cue"})
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {"0o600"}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_world_readable_database_is_tightened(db_path: Path) -> None:
    Store(db_path).close()
    db_path.chmod(0o644)
    Store(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_schema_is_versioned_with_wal_and_full_sync(db_path: Path) -> None:
    with Store(db_path) as store:
        store.begin_session("Maria", "circulation", 20)
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    with Store(db_path) as store:  # reopening migrates nothing and keeps the data
        assert len(store.sessions()) == 1


def test_a_database_from_a_newer_companion_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer companion.*upgrade companion"):
        Store(db_path)


def test_forget_leaves_no_trace_in_the_files(db_path: Path) -> None:
    name = "Zebulon Quirrelmeyer"
    with Store(db_path) as store:
        kept = store.begin_session("Maria", "circulation", 20)
        store.record(kept, 0, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
        for _ in range(3):
            gone = store.begin_session(name, "circulation", 20)
            store.record(gone, 0, "say", {"text": f"Hello {name}, welcome back.", "kind": "announce"})
            store.record(gone, 1, "rating", {"measure": "warmth", "value": 2, "when": "before"})
            store.record(gone, 2, "sensitive", {"foot": "left", "area": "heel", "reason": f"{name} said so"})
        assert _raw_bytes(db_path).count(name.encode()) > 0
        assert store.forget(name) == 3
        assert name.encode() not in _raw_bytes(db_path)  # while still open
        assert store.clients() == ["Maria"]
        assert store.profile(name).sensitive == set()
        assert [s.id for s in store.sessions()] == [kept]
        assert store.profile("Maria").sensitive == {("left", "heel")}
        assert store.forget("never seen") == 0
    assert name.encode() not in _raw_bytes(db_path)
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert raw.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    raw.close()


def _raw_bytes(path: Path) -> bytes:
    sides = [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")]
    return b"".join(p.read_bytes() for p in sides if p.exists())


def test_a_file_that_is_not_a_database_is_a_clear_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(os.urandom(8192))
    with pytest.raises(ForeignFileError, match=r"is not a companion database; move it aside") as caught:
        Store(db_path)
    assert "\n" not in str(caught.value)


def _untouched(path: Path) -> tuple[list[str], int, bytes]:
    """What refusing ``path`` must leave as it was: the files in its folder, its mode and its bytes."""
    return sorted(p.name for p in path.parent.iterdir()), stat.S_IMODE(path.stat().st_mode), path.read_bytes()


def _text_file(path: Path) -> None:
    path.write_text("buy arnica\n")


def _other_programs_database(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE recipes (name TEXT)")
    raw.commit()
    raw.close()


@pytest.mark.parametrize("make", [_text_file, _other_programs_database])
def test_an_existing_file_that_is_not_ours_is_refused_and_left_untouched(tmp_path: Path, make) -> None:
    path = tmp_path / "notes"
    make(path)
    path.chmod(0o644)
    before = _untouched(path)
    with pytest.raises(ForeignFileError, match="notes is not a companion database"):
        Store(path)
    assert _untouched(path) == before


def test_an_empty_existing_file_becomes_a_database(db_path: Path) -> None:
    """What a companion finds when another one has just created the file."""
    db_path.parent.mkdir(parents=True)
    db_path.touch(mode=0o600)
    with Store(db_path) as store:
        assert store.sessions() == []


def test_a_damaged_database_is_a_clear_error(db_path: Path) -> None:
    with Store(db_path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        for t in range(200):
            store.record(session_id, t, "say", {"text": "x" * 200, "kind": "cue"})
    data = bytearray(db_path.read_bytes())
    data[4096 * 2 : 4096 * 6] = os.urandom(4096 * 4)  # scribble over b-tree pages
    db_path.write_bytes(bytes(data))
    with pytest.raises((StoreError, ForeignFileError), match="damaged|not a companion database"):
        with Store(db_path) as store:
            store.session(session_id)


def test_a_busy_database_waits_then_says_what_to_do(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.3)
    with Store(db_path) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another companion holds the write lock
        try:
            with pytest.raises(StoreError, match="is busy with another companion"):
                store.record(session_id, 0, "say", {"text": "hi", "kind": "cue"})
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.record(session_id, 0, "say", {"text": "hi", "kind": "cue"})  # usable again
        assert len(store.session(session_id).events) == 1


def test_a_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "history.sqlite3"
    with Store(path) as store:
        store.begin_session("Maria", "circulation", 20)
    path.chmod(0o444)
    message = _in_child_as_another_user(folder, lambda: Store(path).begin_session("Jo", "quick", 5))
    assert message.startswith("StoreError: the database ")
    assert "is read-only; make it writable" in message
    assert "\n" not in message


def test_a_folder_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    message = _in_child_as_another_user(tmp_path, lambda: Store(locked / "sub" / "history.sqlite3"))
    assert message.startswith("StoreError: cannot create the database ")
    assert message.endswith("pass --db with a path you can write")


def _in_child_as_another_user(folder: Path, action) -> str:
    """Run ``action`` where file permissions bite: as root they do not, so a forked child drops to
    'nobody' (everything it needs is already imported: the interpreter lives in root's home)."""
    if os.geteuid() != 0:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - the message is what is tested
            return f"{type(exc).__name__}: {exc}"
        return "no error"
    for parent in (folder, *folder.parents):  # let 'nobody' reach the folder
        parent.chmod(stat.S_IMODE(parent.stat().st_mode) | 0o005)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        try:
            os.setgid(65534)
            os.setuid(65534)
            action()
            message = "no error"
        except BaseException as exc:  # noqa: BLE001
            message = f"{type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_recorded(db_path: Path) -> None:
    """A file-size limit stands in for a full disk (no mounts on this machine)."""
    Store(db_path).close()
    child = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from companion.store import Store, StoreError
        store = Store(Path({str(db_path)!r}))
        session_id = store.begin_session("Maria", "circulation", 20)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))
        done = 0
        try:
            while True:
                store.record(session_id, done, "say", {{"text": "x" * 3000, "kind": "cue"}})
                done += 1
        except StoreError as exc:
            print(done)
            print(exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert result.stderr == ""
    done, message = result.stdout.splitlines()
    assert "free space" in message or "disk is full" in message
    with Store(db_path) as store:
        assert len(store.session(1).events) == int(done) > 0
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_clock_sets_session_times(db_path: Path) -> None:
    start = datetime(2025, 3, 1, 14, 5, tzinfo=UTC)
    ticks = iter([start, start + timedelta(minutes=21)])
    with Store(db_path, clock=lambda: next(ticks)) as store:
        session_id = store.begin_session("Maria", "circulation", 20)
        store.end_session(session_id, "completed", 1260)
        summary = store.sessions()[0]
    assert (summary.started_at, summary.ended_at) == (
        "2025-03-01T14:05:00+00:00",
        "2025-03-01T14:26:00+00:00",
    )


def test_ctrl_c_keeps_a_committed_record(db_path: Path) -> None:
    """SIGINT arrives as KeyboardInterrupt between records: what was recorded stays."""
    child = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from companion.store import Store
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell's background job starts with it ignored
        store = Store(Path({str(db_path)!r}))
        session_id = store.begin_session("Maria", "circulation", 20)
        store.record(session_id, 0, "say", {{"text": "one", "kind": "cue"}})
        os.kill(os.getpid(), signal.SIGINT)
        import time
        time.sleep(20)  # the handler runs here, not after the script's end
        """
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    with Store(db_path) as store:
        assert [e.data["text"] for e in store.session(1).events] == ["one"]


def _session_in_child(db: Path) -> subprocess.Popen:
    """A process that begins a session in ``db`` and then sleeps, as a companion mid-session does."""
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from companion.store import Store\n"
        f"s = Store(Path({str(db)!r})); s.begin_session('ann', 'foot-circulation', 20); print('ok', flush=True); "
        "time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ok"
    return child


def _killed_session_in(db: Path) -> None:
    """A session whose process was killed (SIGKILL) mid-session."""
    child = _session_in_child(db)
    child.kill()
    child.wait()
    child.stdout.close()


def test_a_session_of_a_live_companion_is_not_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "two.sqlite3"
    child = _session_in_child(db)
    try:
        store = Store(db)
        assert store.mark_interrupted() == 0 and store.sessions()[0].status == "running"
        child.kill()
        child.wait()
        assert store.mark_interrupted() == 1 and store.sessions()[0].status == "interrupted"
    finally:
        child.kill()
        child.stdout.close()


def test_a_killed_session_reads_as_interrupted_before_anything_marks_it(tmp_path: Path) -> None:
    db = tmp_path / "crash.sqlite3"
    _killed_session_in(db)
    with Store(db) as store:
        assert store.sessions()[0].status == "interrupted"
        assert store.session(1).summary.status == "interrupted"
    raw = sqlite3.connect(db)  # reading wrote nothing: the next start marks it
    assert raw.execute("SELECT status FROM sessions").fetchall() == [("running",)]
    raw.close()


def test_a_pid_given_to_a_later_process_is_not_taken_for_the_session(tmp_path: Path) -> None:
    """A crashed session's pid, reused: the process that has it now started later, so it is not the session's."""
    db = tmp_path / "reused.sqlite3"
    _killed_session_in(db)
    later = subprocess.Popen(["sleep", "30"])
    try:
        raw = sqlite3.connect(db)
        raw.execute("UPDATE sessions SET pid = ?", (later.pid,))  # as if the kernel had given it the same pid
        raw.commit()
        raw.close()
        with Store(db) as store:
            assert store.sessions()[0].status == "interrupted"
            assert store.mark_interrupted() == 1
    finally:
        later.kill()
        later.wait()


def test_a_schema_2_database_is_migrated_and_keeps_its_sessions(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    raw = sqlite3.connect(db_path, isolation_level=None)
    for number, statements in enumerate(_MIGRATIONS[:2]):
        for statement in statements:
            raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {number + 1}")
    raw.execute("INSERT INTO clients VALUES ('ann', '2025-01-01T10:00:00+00:00')")
    raw.execute("INSERT INTO sessions (client, routine, minutes, started_at, pid) "
                "VALUES ('ann', 'r', 20, '2025-01-01T10:00:00+00:00', ?)", (os.getpid(),))
    raw.close()
    with Store(db_path) as store:
        assert store.sessions()[0].status == "running"  # the pid alone: this process is alive
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_declined_preference_is_not_offered_again(db_path: Path) -> None:
    """Session 1 asks for firmer work on the ball; session 2 declines keeping it; session 3 does not ask."""
    from companion.runner import Session, StoreSink, build_engine, simulate
    from companion.script import parse_script
    from companion.speech.phrases import load_phrases

    def session(script: str) -> list[str]:
        questions: list[str] = []
        with Store(db_path) as store:
            engine = build_engine("foot-circulation", 20, store.profile("Maria"))
            sid = store.begin_session("Maria", engine.routine.name, 20)
            sinks = [StoreSink(store, sid), lambda t, a: questions.append(getattr(a, "text", ""))]
            simulate(Session(engine, sinks), parse_script(script), load_phrases("en"))
        return [q for q in questions if q.startswith("Last time you preferred")]

    safe = "> no\n> no\n> no\n> no\n> 3\n> 3\n> 3\n> 3\n"
    assert session(safe + "07:20 more pressure\n") == []
    assert session("> no\n" + safe) == ["Last time you preferred firm pressure on the ball of your left foot. Keep that?"]
    assert session(safe) == []


# -- renaming and merging clients ------------------------------------------------------------------


def _everything(db_path: Path) -> tuple:
    """Every client, session (with its ratings) and event, to compare before and after."""
    with Store(db_path) as store:
        return store.clients(), [store.session(s.id) for s in store.sessions()]


def test_rename_gives_every_spelling_of_a_client_the_new_name_and_keeps_what_carries_over(db_path: Path) -> None:
    with Store(db_path) as store:
        first = store.begin_session("Ann Lee", "circulation", 20)
        store.record(first, 1, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
        store.record(first, 2, "preference", {"foot": "left", "area": "arch", "pressure": "light"})
        store.end_session(first, "completed", 600)
        other = store.begin_session("Jo", "circulation", 20)
    legacy = _legacy_spelling(db_path, "ann lee")  # a second spelling, from before names were matched so
    with Store(db_path) as store:
        assert store.rename_client("ANN LEE ", " Anne  Lee") == ("Anne Lee", 2)
        assert store.clients() == ["Anne Lee", "Jo"]
        assert [s.id for s in store.sessions("anne lee")] == [first, legacy]
        assert [s.client for s in store.sessions()] == ["Anne Lee", "Jo", "Anne Lee"]
        assert store.sessions("Jo")[0].id == other
        profile = store.profile("ANNE LEE")
        assert (profile.client, profile.sensitive, profile.pressure) == (
            "Anne Lee", {("left", "heel")}, {("left", "arch"): "light"})
        assert store.spellings("Ann Lee") == [] and store.profile("Ann Lee").sensitive == set()
        assert store.rename_client("anne lee", "anne lee") == ("anne lee", 2)  # the case alone can be fixed
        assert store.clients() == ["anne lee", "Jo"]
        with pytest.raises(UserError, match=r"^anne lee is already the name of that client; nothing to rename$"):
            store.rename_client("Anne Lee", "anne lee")


def test_merge_puts_both_clients_sessions_in_order_and_carries_over_from_the_latest(db_path: Path) -> None:
    start = datetime(2025, 3, 1, 14, 5, tzinfo=UTC)
    ticks = (start + timedelta(days=n) for n in range(100))
    with Store(db_path, clock=lambda: next(ticks)) as store:
        first = store.begin_session("Anne Lee", "circulation", 20)  # the name to keep
        store.record(first, 1, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
        store.record(first, 2, "preference", {"foot": "left", "area": "arch", "pressure": "light"})
        store.record(first, 3, "rating", {"measure": "warmth", "value": 3, "when": "after"})
        store.end_session(first, "completed", 600)
        second = store.begin_session("Ann Lee", "circulation", 20)  # typed another way
        store.record(second, 1, "recovered", {"foot": "left", "area": "heel"})
        store.record(second, 2, "sensitive", {"foot": "right", "area": "toes", "reason": "tender"})
        store.record(second, 3, "rating", {"measure": "warmth", "value": 4, "when": "after"})
        store.end_session(second, "completed", 600)
        third = store.begin_session("Anne Lee", "circulation", 20)
        store.record(third, 1, "preference", {"foot": "right", "area": "ball", "pressure": "firm"})
        store.end_session(third, "completed", 600)
        fourth = store.begin_session("ann lee", "circulation", 20)  # cut short
        store.record(fourth, 5, "step", {"id": "l-toes", "foot": "left", "area": "toes"})
        store.mark_interrupted()
        assert store.profile("Anne Lee").sensitive == {("left", "heel")}  # split: each their own last time
        assert store.last_interrupted("Anne Lee") is None
    before = _everything(db_path)
    with Store(db_path) as store:
        assert store.rename_client("ann LEE", "ANNE lee") == ("Anne Lee", 2)
        assert store.clients() == ["Anne Lee"]
        assert [(s.id, s.client) for s in store.sessions("anne lee")] == [
            (first, "Anne Lee"), (second, "Anne Lee"), (third, "Anne Lee"), (fourth, "Anne Lee")]
        started = [s.started_at for s in store.sessions("Anne Lee")]
        assert started == sorted(started) and len(set(started)) == 4  # in the order they began
        profile = store.profile("Anne Lee")
        assert profile.sensitive == {("right", "toes")}  # the heel got better in Ann Lee's session
        assert profile.pressure == {("left", "arch"): "light", ("right", "ball"): "firm"}
        assert profile.last_after == {"warmth": 4}
        resume = store.last_interrupted("anne lee")
        assert resume is not None and resume.id == fourth and resume.last_step["area"] == "toes"
    clients, sessions = _everything(db_path)
    assert clients == ["Anne Lee"]
    assert [(replace(d.summary, client="?"), d.events) for d in sessions] == [  # nothing lost, nothing else changed
        (replace(d.summary, client="?"), d.events) for d in before[1]]


@pytest.mark.parametrize(("asked", "message"), [
    ("ann", "no client named 'ann'; did you mean 'Ann Lee'?"),
    ("Zoe", "no client named Zoe; clients: Ann Lee, Jo"),
])
def test_renaming_an_unknown_client_suggests_near_names_and_changes_nothing(db_path: Path, asked: str,
                                                                            message: str) -> None:
    with Store(db_path) as store:
        for name in ("Ann Lee", "Jo"):
            store.begin_session(name, "circulation", 20)
    before = _everything(db_path)
    with Store(db_path) as store, pytest.raises(UserError) as error:
        store.rename_client(asked, "Jo")
    assert str(error.value) == message
    with Store(db_path) as store, pytest.raises(UserError, match=r"^give the new name of the client"):
        store.rename_client("Ann Lee", "  ")
    assert _everything(db_path) == before


def test_a_merge_killed_midway_leaves_both_clients_as_they_were(db_path: Path) -> None:
    with Store(db_path) as store:
        for name, area in (("Anne Lee", "heel"), ("Ann Lee", "toes")):
            session_id = store.begin_session(name, "circulation", 20)
            store.record(session_id, 1, "sensitive", {"foot": "left", "area": area, "reason": "pain"})
            store.end_session(session_id, "completed", 600)
    before = _everything(db_path)
    child = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from companion import store as store_module
        from companion.store import Store

        def killed(*args):  # once the sessions have moved and the profile is being derived again
            os.kill(os.getpid(), signal.SIGKILL)

        store_module._DERIVED["sensitive"] = killed
        Store(Path({str(db_path)!r})).rename_client("Ann Lee", "Anne Lee")
        """
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=30)
    assert result.returncode == -9, result.stderr
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert _everything(db_path) == before
    with Store(db_path) as store:
        assert store.profile("Ann Lee").sensitive == {("left", "toes")}
        assert store.rename_client("Ann Lee", "Anne Lee") == ("Anne Lee", 1)  # and it can be done again
        assert store.profile("Anne Lee").sensitive == {("left", "heel"), ("left", "toes")}
        assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
