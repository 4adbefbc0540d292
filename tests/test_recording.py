"""The Recorder keeps a session whole when the database fails: real SQLite files made read-only, locked by
another connection, or unable to grow (a file-size limit standing in for a full disk)."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import companion.store
from companion.cli import main
from companion.recording import Recorder
from companion.session.events import Earcon, Record, Say
from companion.store import ForeignFileError, Store
from fault_helpers import give_to_nobody, in_child_as_nobody, wait_until


def _say(i: int) -> Say:
    return Say(f"cue number {i}", "cue")


def _texts(db: Path) -> list[str]:
    with Store(db) as store:
        (summary,) = store.sessions()
        return [e.data.get("text", e.type) for e in store.session(summary.id).events]


def _recorder(db: Path, warnings: list[str], retry_every: float = 0.05) -> Recorder:
    return Recorder(lambda: Store(db), lambda store: store.begin_session("Maria", "foot-circulation", 20),
                    warnings.append, rescue_next_to=db, retry_every=retry_every,
                    about={"client": "Maria", "routine": "foot-circulation", "minutes": 20})  # as a live session


def test_a_working_database_gets_every_event_at_once_and_no_warning(tmp_path: Path) -> None:
    db, warnings = tmp_path / "history.sqlite3", []
    recorder = _recorder(db, warnings)
    for i in range(3):
        recorder(float(i), _say(i))
        assert len(_texts(db)) == i + 1  # written before the call returns
    recorder(3.0, Earcon("step"))
    recorder(4.0, Record("end", {"reason": "routine complete", "duration": 4.0}))
    assert recorder.close() is None
    assert _texts(db) == ["cue number 0", "cue number 1", "cue number 2", "earcon", "end"]
    with Store(db) as store:
        assert store.sessions()[0].status == "ended"
    assert warnings == []


def test_a_file_that_is_not_a_database_refuses_the_session_leaving_nothing_beside(tmp_path: Path) -> None:
    notes, warnings = tmp_path / "notes.txt", []
    notes.write_text("buy arnica\n")
    with pytest.raises(ForeignFileError, match="is not a companion database"):
        _recorder(notes, warnings)
    assert warnings == [] and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_locked_database_keeps_the_events_in_order_and_writes_them_when_released(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(companion.store, "BUSY_TIMEOUT_S", 0.3)  # how long a writer waits for a lock
    db, warnings = tmp_path / "history.sqlite3", []
    recorder = _recorder(db, warnings)
    recorder(0.0, _say(0))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    for i in range(1, 6):
        recorder(float(i), _say(i))
    assert recorder.unsaved == 5
    assert len(warnings) == 1 and "cannot write the session database" in warnings[0]
    assert "busy" in warnings[0] and "keeping the session in memory" in warnings[0]
    other.execute("ROLLBACK")
    other.close()
    assert wait_until(lambda: recorder.unsaved == 0, timeout=5)
    recorder(6.0, _say(6))
    assert recorder.close() is None
    assert _texts(db) == [f"cue number {i}" for i in range(7)]
    assert warnings[1:] == ["companion: the session database works again; everything is saved"]


def test_events_written_once_the_lock_is_released_keep_the_time_they_happened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(companion.store, "BUSY_TIMEOUT_S", 0.2)
    db, warnings = tmp_path / "history.sqlite3", []
    recorder = _recorder(db, warnings)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    before = datetime.now(UTC)
    recorder(1.0, _say(1))
    recorder(2.0, Record("end", {"reason": "routine complete", "duration": 2.0}))
    after = datetime.now(UTC)
    time.sleep(1.5)  # locked well past the second the events happened in
    other.execute("ROLLBACK")
    other.close()
    assert wait_until(lambda: recorder.unsaved == 0, timeout=5)
    assert recorder.close() is None
    with Store(db) as store:
        (summary,) = store.sessions()
        walls = [datetime.fromisoformat(e.wall) for e in store.session(summary.id).events]
    assert all(before - timedelta(milliseconds=1) <= wall <= after for wall in walls)
    ended = datetime.fromisoformat(summary.ended_at or "")
    assert before.replace(microsecond=0) <= ended <= after


def test_closing_while_still_locked_writes_a_private_rescue_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(companion.store, "BUSY_TIMEOUT_S", 0.2)
    db, warnings = tmp_path / "history.sqlite3", []
    recorder = _recorder(db, warnings, retry_every=0.1)
    recorder(0.0, _say(0))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    recorder(1.0, _say(1))
    recorder(2.0, Record("end", {"reason": "routine complete", "duration": 2.0}))
    rescue = recorder.close()
    other.execute("ROLLBACK")
    other.close()
    assert rescue is not None and rescue.parent == db.parent and rescue.name.startswith("history.sqlite3.unsaved-")
    assert stat.S_IMODE(rescue.stat().st_mode) == 0o600
    header, *events = [json.loads(line) for line in rescue.read_text("utf-8").splitlines()]
    assert header["session_id"] == recorder.session_id and header["client"] == "Maria"
    assert [(e["t"], e["type"]) for e in events] == [(1.0, "say"), (2.0, "end")]
    assert events[0]["data"] == {"text": "cue number 1", "kind": "cue"}
    assert str(rescue) in warnings[-1]
    assert _texts(db) == ["cue number 0"]  # nothing written twice, nothing out of order
    # the rescue file goes back in with `companion import`, into its session, at the times the events happened
    for _ in range(2):  # importing it twice adds nothing twice
        done = CliRunner().invoke(main, ["import", str(rescue), "--db", str(db)])
        assert done.exit_code == 0, done.output
    assert _texts(db) == ["cue number 0", "cue number 1", "end"]
    with Store(db) as store:
        (summary,) = store.sessions()
        assert summary.status == "ended" and summary.end_reason == "routine complete"
        walls = [e.wall for e in store.session(summary.id).events]
    assert walls[1:] == [e["wall"] for e in events]


def test_a_rescue_file_of_a_session_the_database_never_held_is_imported_as_a_new_session(tmp_path: Path) -> None:
    rescue = tmp_path / "history.sqlite3.unsaved-20261207T101500-42.jsonl"
    lines = [{"rescue": "companion session events not saved to the database", "database": "gone.sqlite3",
              "session_id": None, "client": "Maria", "routine": "foot-circulation", "minutes": 20},
             {"t": 0.0, "type": "say", "data": {"text": "Welcome.", "kind": "announce"}, "wall": "2026-12-07T10:15:00.000+00:00"},
             {"t": 5.0, "type": "rating", "data": {"measure": "warmth", "value": 2, "when": "before"},
              "wall": "2026-12-07T10:15:05.000+00:00"}]
    rescue.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    db = tmp_path / "new.sqlite3"
    done = CliRunner().invoke(main, ["import", str(rescue), "--db", str(db)])
    assert done.exit_code == 0 and "Imported 1 session" in done.output, done.output
    with Store(db) as store:
        (summary,) = store.sessions()
    assert (summary.client, summary.status, summary.started_at) == ("Maria", "interrupted", "2026-12-07T10:15:00+00:00")
    assert [(r.measure, r.before) for r in summary.ratings] == [("warmth", 2)]
    rescue.write_text(rescue.read_text("utf-8")[:-20], "utf-8")  # cut short (a full disk)
    cut = CliRunner().invoke(main, ["import", str(rescue), "--db", str(db)])
    assert cut.exit_code != 0 and f"{rescue}:3: this line of the rescue file is cut" in str(cut.exception)


def _read_only_then_writable(folder: Path) -> str:
    """As 'nobody', owner of the file: record while it is read-only, then make it writable again."""
    db, warnings = folder / "history.sqlite3", []
    db.chmod(0o400)
    recorder = _recorder(db, warnings)
    for i in range(4):
        recorder(float(i), _say(i))
    waiting = recorder.unsaved
    for file in folder.iterdir():  # SQLite made its -shm file read-only like the database: fix both
        file.chmod(0o600)
    flushed = wait_until(lambda: recorder.unsaved == 0, timeout=5)
    recorder(4.0, _say(4))
    rescue = recorder.close()
    return json.dumps({"waiting": waiting, "flushed": flushed, "rescue": str(rescue), "warnings": warnings})


def _read_only_to_the_end(folder: Path) -> str:
    db, warnings = folder / "history.sqlite3", []
    db.chmod(0o400)
    recorder = _recorder(db, warnings)
    for i in range(3):
        recorder(float(i), _say(i))
    rescue = recorder.close()
    return json.dumps({"rescue": str(rescue), "warnings": warnings})


@pytest.fixture
def nobodys_db(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    with Store(folder / "history.sqlite3"):
        pass
    give_to_nobody(folder)
    return folder


def test_a_read_only_database_is_written_once_it_is_writable_again(nobodys_db: Path) -> None:
    result = json.loads(in_child_as_nobody(lambda: _read_only_then_writable(nobodys_db)))
    assert result["waiting"] == 4 and result["flushed"] and result["rescue"] == "None"
    assert "read-only" in result["warnings"][0] and "keeping the session in memory" in result["warnings"][0]
    assert _texts(nobodys_db / "history.sqlite3") == [f"cue number {i}" for i in range(5)]


def test_a_database_read_only_to_the_end_leaves_a_rescue_file(nobodys_db: Path) -> None:
    result = json.loads(in_child_as_nobody(lambda: _read_only_to_the_end(nobodys_db)))
    rescue = Path(result["rescue"])
    assert rescue.parent == nobodys_db and stat.S_IMODE(rescue.stat().st_mode) == 0o600
    assert [json.loads(line)["data"]["text"] for line in rescue.read_text().splitlines()[1:]] == [
        f"cue number {i}" for i in range(3)]
    assert f"they are saved in {rescue}" in result["warnings"][-1]
    with Store(nobodys_db / "history.sqlite3") as store:
        assert store.sessions() == []  # the session never reached the file


# A child with a file-size limit (a full disk): records big events until the database cannot grow, keeps
# going in memory, then lifts the limit (as freeing space would) and reports what happened.
DISK_FULL = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    from pathlib import Path
    from companion.recording import Recorder
    from companion.session.events import Say
    from companion.store import Store
    db = Path(sys.argv[1])
    warnings = []
    recorder = Recorder(lambda: Store(db), lambda s: s.begin_session("Maria", "foot-circulation", 20),
                        warnings.append, rescue_next_to=db, retry_every=0.05)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
    i = 0
    while recorder.unsaved == 0:
        recorder(float(i), Say(f"{i} " + "x" * 3000, "cue"))
        i += 1
    for _ in range(5):
        recorder(float(i), Say(f"{i} " + "x" * 3000, "cue"))
        i += 1
    waiting = recorder.unsaved
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    deadline = time.monotonic() + 10
    while recorder.unsaved and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps({"sent": i, "waiting": waiting, "rescue": str(recorder.close()), "warnings": warnings}))
    """
)


def test_a_full_disk_keeps_the_session_in_memory_until_there_is_room(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    done = subprocess.run([sys.executable, "-c", DISK_FULL, str(db)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["waiting"] >= 6 and result["rescue"] == "None"
    assert "disk" in result["warnings"][0] and "keeping the session in memory" in result["warnings"][0]
    assert [int(text.split()[0]) for text in _texts(db)] == list(range(result["sent"]))
