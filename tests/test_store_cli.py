"""`companion history` and `companion report` on a small database built here."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.errors import UserError
from click.testing import CliRunner
from rich.console import Console

from companion.cli import main
from companion.cli.store_cmds import history_table
from companion.store import Store

START = datetime(2025, 3, 1, 14, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Maria: two sessions (one ended, one interrupted); Jo: one session without ratings."""
    path = tmp_path / "history.sqlite3"
    now = [START]
    with Store(path, clock=lambda: now[0]) as store:
        first = store.begin_session("Maria", "circulation", 20)
        for t, type, data in [
            (0, "safety", {"question": "circulation", "answer": "no", "text": "no I don't"}),
            (1, "safety", {"question": "wounds", "answer": "skip", "text": "skip"}),
            (2, "rating", {"measure": "warmth", "value": 2, "when": "before"}),
            (3, "rating", {"measure": "comfort", "value": 3, "when": "before"}),
            (
                10,
                "step",
                {
                    "id": "l-toes",
                    "phase": "warm-up",
                    "foot": "left",
                    "area": "toes",
                    "technique": "stroking",
                    "pressure": "light",
                    "duration": 60,
                },
            ),
            (
                70,
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
            (95, "intent", {"intent": "pain", "text": "ouch that hurts"}),
            (95, "plan", {"change": "pressure", "step": "l-arch", "reason": "pain reported", "to": "light"}),
            (96, "sensitive", {"foot": "left", "area": "heel", "reason": "pain"}),
            (100, "pause", {"reason": "asked"}),
            (130, "resume", {}),
            (131, "plan", {"change": "skip", "step": "l-heel", "reason": "sensitive area"}),
            (1200, "rating", {"measure": "warmth", "value": 4, "when": "after"}),
            (1201, "rating", {"measure": "comfort", "value": 4, "when": "after"}),
            (1202, "end", {"reason": "completed", "duration": 1202}),
        ]:
            now[0] = START + timedelta(seconds=t)
            store.record(first, t, type, data)
        now[0] = START + timedelta(days=1)
        second = store.begin_session("Maria", "circulation", 20)
        store.record(second, 0, "rating", {"measure": "warmth", "value": 3, "when": "before"})
        store.record(second, 40, "step", {"id": "r-arch", "foot": "right", "area": "arch"})
        store.mark_interrupted()
        now[0] = START + timedelta(days=1, minutes=21)
        jo = store.begin_session("Jo", "quick", 5)
        store.end_session(jo, "stopped", 65)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_history_lists_sessions_with_ratings_and_trends(db: Path) -> None:
    code, out = run("history", "--db", str(db))
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == [
        "Session 1, 2025-03-01 14:05, Maria, circulation, 20-minute plan, ended: completed after 20 min 2 s. "
        "Ratings: comfort 3 then 4 (+1); warmth 2 then 4 (+2).",
        "Session 2, 2025-03-02 14:05, Maria, circulation, 20-minute plan, interrupted. "
        "Ratings: warmth 3 then not rated.",
        "Session 3, 2025-03-02 14:26, Jo, quick, 5-minute plan, ended: stopped after 1 min 5 s. Ratings: none.",
    ]
    assert lines[3:] == [
        "",
        "Progress for Maria, 2 sessions with ratings (1 rated only before the massage):",
        "  comfort: session 1: 3 then 4 (+1). Average change in a session +1.0.",
        "  warmth: session 1: 2 then 4 (+2); session 2: 3 then not rated. Baseline from session 1 to 2: 2 then 3 (+1); "
        "average change in a session +2.0.",
    ]  # Jo has no ratings: no progress
    assert not any(ch in out for ch in "┃│┏━")  # piped: no box drawing for screen readers


def test_history_of_one_client_from_the_environment(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DB", str(db))
    code, out = run("history", "--client", "Jo")
    assert code == 0
    assert out.splitlines() == [
        "Session 3, 2025-03-02 14:26, Jo, quick, 5-minute plan, ended: stopped after 1 min 5 s. Ratings: none."
    ]
    with pytest.raises(UserError, match=r"^no client named Nobody; clients: Jo, Maria$"):
        run("history", "--client", "Nobody")


def test_history_progress_pairs_ratings_with_their_sessions_in_the_routines_order(tmp_path: Path) -> None:
    """Sessions without ratings (refused by the safety check, interrupted before any) are only counted;
    measures come in the routine's order, by the names the report uses."""
    path = tmp_path / "h.sqlite3"
    with Store(path) as store:
        def session(ratings: list[tuple[str, str, int]], end: str | None = "completed") -> None:
            sid = store.begin_session("Ann", "foot-circulation", 20)
            for measure, when, value in ratings:
                store.record(sid, 1, "rating", {"measure": measure, "when": when, "value": value})
            if end:
                store.end_session(sid, end, 60)

        session([], "not safe to massage today")
        session([("comfort", "before", 2), ("warmth", "before", 2), ("comfort", "after", 4), ("warmth", "after", 3)])
        session([], end=None)
        store.mark_interrupted()
        session([("comfort", "before", 3), ("warmth", "before", 3), ("warmth", "after", 4)])
    code, out = run("history", "--db", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[1].endswith("Ratings: warmth of the feet 2 then 3 (+1); comfort 2 then 4 (+2).")
    assert lines[4:] == [
        "",
        "Progress for Ann, 2 sessions with ratings (2 others without ratings):",
        "  warmth of the feet: session 2: 2 then 3 (+1); session 4: 3 then 4 (+1). Baseline from session 2 to 4: "
        "2 then 3 (+1); average change in a session +1.0.",
        "  comfort: session 2: 2 then 4 (+2); session 4: 3 then not rated. Baseline from session 2 to 4: "
        "2 then 3 (+1); "
        "average change in a session +2.0.",
    ]


def test_history_without_a_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite3"
    code, out = run("history", "--db", str(path))
    assert (code, out) == (0, f"No sessions recorded yet ({path} does not exist).\n")
    assert not path.exists()


def test_history_on_a_terminal_is_a_table(db: Path) -> None:
    with Store(db) as store:
        table = history_table(store.sessions(), {})
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    console.print(table)
    text = console.file.getvalue()
    assert "Ratings, before then after" in text
    row = next(line for line in text.splitlines() if "Maria" in line and "completed" in line)
    assert "2025-03-01 14:05" in row and "comfort 3 then 4 (+1)" in row


def test_report_tells_what_was_done_and_why(db: Path) -> None:
    code, out = run("report", "1", "--db", str(db))
    assert code == 0
    assert out.splitlines() == [
        "Session 1 for Maria: routine circulation, 20 minutes planned.",
        "Started 2025-03-01 14:05; ended 14:25: completed after 20 min 2 s.",
        "",
        "Safety check:",
        '  - Known circulation disorder, blood clot, or diabetes affecting the feet? no (heard "no I don\'t")',
        "  - wounds? skipped (not answered)",
        "",
        "Steps done (2):",
        "  - 0:10  left foot, toes: stroking, light pressure, 1 min",
        "  - 1:10  left foot, arch: kneading, medium, then light pressure, 1 min 30 s",  # eased at 1:35
        "",
        "What changed and why:",
        "  - 1:35  pain reported: left foot, arch: pressure to light",
        "  - 1:36  pain: left foot, heel marked sore",
        "  - 1:40  asked: paused",
        "  - 2:10  asked to resume: resumed",
        "  - 2:11  sensitive area: left out l-heel",
        "",
        "Noted for next time:",
        "  - sore: left foot, heel (pain)",
        "",
        "Ratings (before, then after):",
        "  - comfort: 3 then 4 (+1)",
        "  - warmth: 2 then 4 (+2)",
    ]


def test_report_of_an_interrupted_session_says_where_it_stopped(db: Path) -> None:
    code, out = run("report", "2", "--db", str(db))
    assert code == 0
    assert "Started 2025-03-02 14:05; interrupted during right foot, arch, 0:40 into the session." in out
    assert "What changed and why:\n  none" in out
    assert "  - warmth: 3 then not rated" in out


def test_report_of_a_missing_session_is_one_line_and_exit_2(db: Path, tmp_path: Path) -> None:
    for path in (db, tmp_path / "none.sqlite3"):
        result = subprocess.run(
            [sys.executable, "-m", "companion", "report", "9", "--db", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == "companion: no session 9; see companion history\n"


def test_a_broken_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is a shopping list, not a database" * 200)
    result = subprocess.run(
        [sys.executable, "-m", "companion", "history", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 5
    assert result.stderr == (
        f"companion: the database {path} is not a companion database; "
        "move it aside or pass --db with another file\n"
    )


def test_report_of_a_session_interrupted_at_the_final_ratings_says_so_in_hours(tmp_path: Path) -> None:
    path = tmp_path / "late.sqlite3"
    with Store(path) as store:
        sid = store.begin_session("Maria", "circulation", 20)
        store.record(sid, 1100, "step", {"id": "r-final", "foot": "right", "area": None})
        store.record(sid, 3725, "rating", {"measure": "warmth", "value": 4, "when": "after"})  # an hour of waiting
        store.mark_interrupted()
    code, out = run("report", "1", "--db", str(path))
    assert code == 0
    assert "interrupted during the ratings after the massage, 1:02:05 into the session." in out
