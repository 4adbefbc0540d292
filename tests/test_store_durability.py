"""Real processes against one database file: killed mid-write, or writing at the same time."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from companion.store import Store

# A writer: opens the store, says "ready", waits for a line on stdin, then records ``count`` records
# (0 = forever) into its own session and, every other one, into a shared session; after each commit it
# prints the record's number, so the parent knows exactly what the store has acknowledged.
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from companion.store import Store
    path, name, count, shared = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = Store(Path(path))
    own = store.begin_session(name, "circulation", 20)
    print("ready", own, flush=True)
    sys.stdin.readline()
    i = 0
    while count == 0 or i < count:
        store.record(own, i * 0.5, "say", {"text": f"{name} record {i}", "kind": "cue", "i": i})
        if shared and i % 2 == 0:
            store.record(shared, i * 0.5, "intent", {"intent": "more_time", "text": name, "value": i})
        print(i, flush=True)
        i += 1
    """
)


def _spawn(path: Path, name: str, count: int, shared: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(count), str(shared)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _ready(process: subprocess.Popen) -> tuple[subprocess.Popen, int]:
    word, session_id = process.stdout.readline().split()
    assert word == "ready"
    return process, int(session_id)


def _start_writer(path: Path, name: str, count: int, shared: int = 0) -> tuple[subprocess.Popen, int]:
    return _ready(_spawn(path, name, count, shared))


def _integrity(path: Path) -> str:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        raw.close()


def test_sigkill_while_recording_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    process, session_id = _start_writer(path, "Maria", count=0)
    process.stdin.write("go\n")
    process.stdin.flush()
    acknowledged = []
    while len(acknowledged) < 300:
        acknowledged.append(int(process.stdout.readline()))
    process.send_signal(signal.SIGKILL)
    acknowledged += [int(line) for line in process.stdout.read().split()]  # printed before it died
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    assert _integrity(path) == "ok"
    with Store(path) as store:
        stored = [event.data["i"] for event in store.session(session_id).events]
        assert stored[: len(acknowledged)] == acknowledged  # every acknowledged record, in order
        assert len(stored) - len(acknowledged) <= 1  # at most the one committed as it was killed
        assert store.mark_interrupted() == 1
        assert store.last_interrupted("Maria").id == session_id


def test_two_processes_writing_at_once_do_not_corrupt_each_other(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with Store(path) as store:
        shared = store.begin_session("Both", "circulation", 20)
    count = 200
    writers = [_start_writer(path, name, count, shared) for name in ("Ann", "Bob")]
    for process, _ in writers:  # start both together
        process.stdin.write("go\n")
        process.stdin.flush()
    for process, _ in writers:
        lines = process.stdout.read().split()
        assert process.wait(timeout=60) == 0
        assert [int(line) for line in lines] == list(range(count))

    assert _integrity(path) == "ok"
    with Store(path) as store:
        for (_, session_id), name in zip(writers, ("Ann", "Bob"), strict=False):
            events = store.session(session_id).events
            assert [e.seq for e in events] == list(range(1, count + 1))
            assert [e.data["text"] for e in events] == [f"{name} record {i}" for i in range(count)]
        events = store.session(shared).events
        assert [e.seq for e in events] == list(range(1, count + 1))  # 2 writers x count/2, no gaps
        for name in ("Ann", "Bob"):
            assert [e.data["value"] for e in events if e.data["text"] == name] == list(range(0, count, 2))


def test_companions_started_together_create_the_schema_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "history.sqlite3"
    spawned = [_spawn(path, f"client{n}", 20) for n in range(4)]  # all open the new file at once
    writers = [_ready(process) for process in spawned]
    for process, _ in writers:
        process.stdin.write("go\n")
        process.stdin.flush()
    for process, _ in writers:
        process.stdout.read()
        assert process.wait(timeout=60) == 0
    assert _integrity(path) == "ok"
    with Store(path) as store:
        assert sorted(s.client for s in store.sessions()) == [f"client{n}" for n in range(4)]
        assert all(len(store.session(s.id).events) == 20 for s in store.sessions())
