"""history, report, export, forget and session as a person meets them: through `python -m companion`, so
that the exit codes and the one-line errors are the real ones."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from companion.store import Store
from fault_helpers import LiveRun, companion_command


def companion(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(companion_command(*args), input=input, capture_output=True, text=True, timeout=60)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Two clients, alice and me, each with one ended session with ratings."""
    path = tmp_path / "history.sqlite3"
    with Store(path) as store:
        for client in ("alice", "me"):
            session_id = store.begin_session(client, "foot-circulation", 20)
            store.record(session_id, 0, "rating", {"measure": "warmth", "value": 2, "when": "before"})
            store.record(session_id, 600, "rating", {"measure": "warmth", "value": 4, "when": "after"})
            store.end_session(session_id, "completed", 600)
    return path


def test_a_text_file_given_as_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("buy arnica\n")
    notes.chmod(0o644)
    refused = ("companion: the database notes.txt is not a companion database; "
               "move it aside or pass --db with another file\n")
    history = subprocess.run(companion_command("history", "--db", "notes.txt"), cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert (history.returncode, history.stdout, history.stderr) == (5, "", refused)
    session = subprocess.run(
        companion_command("session", "--text", "--plain", "--speed", "100", "--minutes", "15", "--db", "notes.txt"),
        cwd=tmp_path, input="no\n" * 4 + "3\n" * 4 + "stop\n", capture_output=True, text=True, timeout=60)
    assert (session.returncode, session.stdout, session.stderr) == (5, "", refused)  # refused before it began
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # no rescue file beside it
    assert stat.S_IMODE(notes.stat().st_mode) == 0o644 and notes.read_text() == "buy arnica\n"


def test_a_killed_session_shows_as_interrupted_in_history_and_report(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    run = LiveRun(db, speed=60, minutes=15, rate_after=None)
    try:
        run.wait_for(lambda line: " step: " in line)
    finally:
        run.kill()
    history = companion("history", "--db", str(db))
    assert history.returncode == 0 and "me, foot-circulation, 15-minute plan, interrupted." in history.stdout
    assert "still running" not in history.stdout
    report = companion("report", "1", "--db", str(db))
    assert report.returncode == 0 and "; interrupted during " in report.stdout


def test_forget_answered_no_deletes_nothing_and_exits_1(db: Path) -> None:
    declined = companion("forget", "alice", "--db", str(db), input="n\n")
    assert declined.returncode == 1
    assert declined.stdout == "Delete alice and their 1 session for good? [y/N]: "
    assert declined.stderr == "Nothing deleted.\n"
    with Store(db) as store:
        assert store.clients() == ["alice", "me"]


def test_a_plot_that_cannot_be_written_names_the_plot_option_and_prints_nothing_else(db: Path) -> None:
    result = companion("history", "--db", str(db), "--client", "alice", "--plot", "/missing/dir/p.png")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("companion: /missing/dir/p.png: cannot write it (")
    assert result.stderr.endswith("; choose another file with --plot\n")
    assert result.stderr.count("\n") == 1


def test_an_unknown_client_is_the_same_error_for_history_and_export(db: Path) -> None:
    for command in ("history", "export"):
        result = companion(command, "--db", str(db), "--client", "bob")
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == "companion: no client named bob; clients: alice, me\n"


def test_plot_without_a_client_among_several_is_one_line_before_any_history(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    result = companion("history", "--db", str(db), "--plot", str(out))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "companion: --plot draws one client's sessions; add --client (one of: alice, me)\n"
    assert not out.exists()
    drawn = companion("history", "--db", str(db), "--client", "me", "--plot", str(out))
    assert drawn.returncode == 0 and drawn.stdout.startswith("Session 2, ")
    assert drawn.stderr == f"Chart written to {out}.\n" and out.read_bytes()[:4] == b"\x89PNG"



def test_a_client_name_in_any_case_is_that_client_for_every_command(db: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    script = tmp_path / "answers.txt"
    script.write_text("> no\n" * 4 + "> 3\n" * 4 + "> 4\n" * 4)
    assert companion("config", "set", "client", "ALICE").returncode == 0
    assert companion("simulate", str(script), "--db", str(db)).returncode == 0  # the configured client
    assert companion("simulate", str(script), "--db", str(db), "--client", "Alice ").returncode == 0
    with Store(db) as store:
        assert store.clients() == ["alice", "me"]
        assert [s.id for s in store.sessions("alice")] == [1, 3, 4]
    history = companion("history", "--db", str(db), "--client", "aLiCe")
    assert history.returncode == 0
    assert [line.split(", ")[0] for line in history.stdout.splitlines() if ", alice, " in line] == [
        "Session 1", "Session 3", "Session 4"]
    export = companion("export", "--db", str(db), "--client", "ALICE", "--format", "csv")
    assert export.returncode == 0 and {row.split(",")[0] for row in export.stdout.splitlines()[1:]} == {"1", "3", "4"}
    near = companion("history", "--db", str(db), "--client", "alic")
    assert (near.returncode, near.stderr) == (2, "companion: no client named 'alic'; did you mean 'alice'?\n")
    forgot = companion("forget", "Alice", "--db", str(db), "--yes")
    assert forgot.stdout == "Forgot alice: 3 sessions deleted.\n"
    with Store(db) as store:
        assert store.clients() == ["me"]


def test_forget_names_every_spelling_an_older_database_kept_apart(db: Path) -> None:
    with sqlite3.connect(db) as raw:  # written before names were matched regardless of case
        raw.execute("INSERT INTO clients (name, created_at) VALUES ('Alice', '2030-01-01T00:00:00+00:00')")
        raw.execute("INSERT INTO sessions (client, routine, minutes, started_at, status) "
                    "VALUES ('Alice', 'foot-circulation', 20, '2030-01-01T00:00:00+00:00', 'ended')")
    declined = companion("forget", "ALICE", "--db", str(db), input="n\n")
    assert declined.stdout == "Delete alice (also spelt Alice) and their 2 sessions for good? [y/N]: "
    forgot = companion("forget", "ALICE", "--db", str(db), "--yes")
    assert forgot.stdout == "Forgot alice (also spelt Alice): 2 sessions deleted.\n"
    with Store(db) as store:
        assert store.clients() == ["me"]
