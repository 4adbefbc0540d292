"""history, report, export, forget and session as a person meets them: through `python -m companion`, so
that the exit codes and the one-line errors are the real ones."""

from __future__ import annotations

import os
import pty
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
    declined = _on_a_terminal("forget", "alice", "--db", str(db), answer="n\n")
    assert declined.returncode == 1
    assert declined.stdout == "Delete alice and their 1 session for good? [y/N]: "
    assert declined.stderr == "Nothing deleted.\n"
    with Store(db) as store:
        assert store.clients() == ["alice", "me"]


@pytest.mark.parametrize("stdin", ["", "y\n"])
def test_forget_without_yes_and_no_one_to_ask_is_refused_as_rename_is(db: Path, stdin: str) -> None:
    refused = companion("forget", "alice", "--db", str(db), input=stdin)  # stdin is no terminal: closed, or piped
    assert (refused.returncode, refused.stdout) == (2, "")  # not the prompt, then "aborted" and Ctrl-C's 130
    assert refused.stderr == ("companion: no terminal to confirm on; to delete alice and their 1 session for good, "
                              "add --yes\n")
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
    declined = _on_a_terminal("forget", "ALICE", "--db", str(db), answer="n\n")
    assert declined.stdout == "Delete alice (also spelt Alice) and their 2 sessions for good? [y/N]: "
    forgot = companion("forget", "ALICE", "--db", str(db), "--yes")
    assert forgot.stdout == "Forgot alice (also spelt Alice): 2 sessions deleted.\n"
    with Store(db) as store:
        assert store.clients() == ["me"]


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config folder of this test's own (the companions run here inherit it)."""
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def _history_lines(db: Path, client: str) -> list[str]:
    history = companion("history", "--db", str(db), "--client", client)
    assert history.returncode == 0, history.stderr
    return [", ".join(line.split(", ")[:3:2]) for line in history.stdout.splitlines() if line.startswith("Session ")]


def test_rename_gives_a_client_a_new_name_in_any_case(db: Path, no_config: Path) -> None:
    renamed = companion("rename", "ALICE", " Alice  Smith", "--db", str(db))
    assert (renamed.returncode, renamed.stdout, renamed.stderr) == (
        0, "Renamed alice to Alice Smith: 1 session moved.\n", "")
    assert _history_lines(db, "alice SMITH") == ["Session 1, Alice Smith"]
    gone = companion("history", "--db", str(db), "--client", "alice")
    assert (gone.returncode, gone.stderr) == (2, "companion: no client named 'alice'; did you mean 'Alice Smith'?\n")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_renaming_an_unknown_client_is_one_line_suggesting_near_names(db: Path, no_config: Path) -> None:
    unknown = companion("rename", "alic", "Alice Smith", "--db", str(db), "--yes")
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr == "companion: no client named 'alic'; did you mean 'alice'?\n"
    missing = companion("rename", "alice", "Alice Smith", "--db", str(db.with_name("none.sqlite3")))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("companion: no client named alice: no sessions recorded yet (")
    with Store(db) as store:
        assert store.clients() == ["alice", "me"]


def test_a_merge_without_yes_and_no_one_to_ask_is_refused(db: Path, no_config: Path) -> None:
    refused = companion("rename", "Alice", "ME", "--db", str(db), input="y\n")  # stdin is no terminal
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == "companion: me is another client; to merge alice into them, add --yes\n"
    with Store(db) as store:
        assert store.clients() == ["alice", "me"] and [s.client for s in store.sessions()] == ["alice", "me"]


def _on_a_terminal(*args: str, answer: str) -> subprocess.CompletedProcess[str]:
    """`companion ARGS` with a terminal as its stdin, typing ``answer`` there."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(companion_command(*args), stdin=terminal, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        os.write(controller, answer.encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def test_a_merge_asks_first_on_a_terminal(db: Path, no_config: Path) -> None:
    declined = _on_a_terminal("rename", "alice", "Me", "--db", str(db), answer="n\n")
    assert (declined.returncode, declined.stderr) == (1, "Nothing changed.\n")
    assert declined.stdout == "Merge alice (1 session) into me (1 session)? [y/N]: "
    with Store(db) as store:
        assert store.clients() == ["alice", "me"]
    merged = _on_a_terminal("rename", "alice", "Me", "--db", str(db), answer="y\n")
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.endswith("? [y/N]: Merged alice into me: 1 session moved.\n")
    with Store(db) as store:
        assert store.clients() == ["me"]


def test_a_merge_makes_one_history_and_the_next_session_carries_over_from_the_merged_one(
        db: Path, no_config: Path, tmp_path: Path) -> None:
    with Store(db) as store:  # the latest session, under a second spelling of "me"
        latest = store.begin_session("Me", "foot-circulation", 20)
        store.record(latest, 1, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"})
        store.end_session(latest, "completed", 600)
    merged = companion("rename", "ME", "Alice", "--db", str(db), "--yes")
    assert (merged.returncode, merged.stdout) == (0, "Merged me into alice: 2 sessions moved.\n")
    assert _history_lines(db, "ALICE") == ["Session 1, alice", "Session 2, alice", "Session 3, alice"]
    script = tmp_path / "answers.txt"
    script.write_text("> no\n" * 5 + "> 3\n" * 4 + "> 4\n" * 4)
    session = companion("simulate", str(script), "--db", str(db), "--client", "alice")
    assert session.returncode == 0, session.stderr
    assert "say: Last time your left heel was sore. Is it still sore?" in session.stdout
    assert _history_lines(db, "alice") == [f"Session {n}, alice" for n in (1, 2, 3, 4)]
    with Store(db) as store:
        assert store.clients() == ["alice"]


def test_renaming_the_configured_client_says_how_to_change_the_default(db: Path, no_config: Path) -> None:
    assert companion("config", "set", "client", "Alice").returncode == 0
    renamed = companion("rename", "alice", "Alice Smith", "--db", str(db))
    assert (renamed.returncode, renamed.stdout) == (0, "Renamed alice to Alice Smith: 1 session moved.\n")
    assert renamed.stderr == ("The default client is still Alice; to change it: "
                              "companion config set client 'Alice Smith'\n")
