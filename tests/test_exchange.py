"""Export, import and forget, on databases filled by simulated sessions."""

from __future__ import annotations

import csv
import io
import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.errors import UserError
from companion.exchange import parse_export
from companion.report import local_time
from companion.store import SessionDetail, Store
from test_report import SCRIPT, simulate_into


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Maria: a full simulated session and an interrupted one; Jo: one ended without events."""
    path = tmp_path / "source.sqlite3"
    simulate_into(path, SCRIPT, client="Maria")
    with Store(path) as store:
        second = store.begin_session("Maria", "foot-circulation", 15)
        store.record(second, 0, "rating", {"measure": "warmth", "value": 3, "when": "before"})
        store.record(second, 40, "step", {"id": "left-palm", "foot": "left", "area": "whole"})
        store.mark_interrupted()
        jo = store.begin_session("Jo ✓", "foot-circulation", 20)
        store.end_session(jo, "stopped", 65.5)
    return path


def invoke(*args: str, input: str | None = None) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.output, result.exception


def comparable(detail: SessionDetail) -> tuple:
    """A session as the person sees it, without its id."""
    return (replace(detail.summary, id=0),
            tuple((e.seq, e.t, e.type, e.data, e.wall) for e in detail.events))


def everything(path: Path) -> list[tuple]:
    with Store(path) as store:
        return [comparable(store.session(s.id)) for s in store.sessions()]


def test_json_round_trip_keeps_sessions_events_and_ratings(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    code, output, _ = invoke("export", "--db", str(db), "-o", str(out))
    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    first = document["sessions"][0]
    assert {"id", "client", "routine", "minutes", "started_at", "ended_at", "end_reason", "status", "events",
            "ratings"} <= set(first)
    assert set(first["events"][0]) >= {"t", "type", "data"}
    assert first["ratings"]["warmth"] == {"before": 2, "after": 4}

    target = tmp_path / "target.sqlite3"
    simulate_into(target, SCRIPT, client="Someone else")  # a database that already has a session
    code, output, _ = invoke("import", str(out), "--db", str(target))
    assert (code, output) == (0, "Imported 3 sessions (ids 2–4).\n")
    assert everything(target)[1:] == everything(db)
    with Store(target) as store, Store(db) as source:
        assert store.clients() == ["Jo ✓", "Maria", "Someone else"]
        assert [s.status for s in store.sessions()] == ["ended", "ended", "interrupted", "ended"]
        assert store.profile("Maria") == source.profile("Maria")  # derived again from the events

    code, output, _ = invoke("import", str(out), "--db", str(target))  # again: nothing doubled
    assert output == "Imported 0 sessions; 3 already in the database, not imported again.\n"
    assert len(everything(target)) == 4


def test_export_of_one_client_to_stdout(db: Path) -> None:
    code, output, _ = invoke("export", "--db", str(db), "--client", "Jo ✓")
    assert code == 0
    sessions = json.loads(output)["sessions"]
    assert [(s["client"], s["end_reason"], s["duration"], s["events"]) for s in sessions] == [
        ("Jo ✓", "stopped", 65.5, [])]
    code, _, error = invoke("export", "--db", str(db), "--client", "Nobody")
    assert code != 0 and str(error) == "no client named Nobody; clients: Jo ✓, Maria"


def test_csv_has_one_row_per_event_with_the_session_columns(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    assert invoke("export", "--db", str(db), "--format", "csv", "-o", str(out))[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    with Store(db) as store:
        counts = [max(1, len(store.session(s.id).events)) for s in store.sessions()]
    assert len(rows) == sum(counts)
    rating = next(r for r in rows if r["type"] == "rating")
    assert rating["client"] == "Maria" and rating["minutes"] == "20"
    assert json.loads(rating["data"]) == {"measure": "warmth", "value": 2, "when": "before"}
    assert rows[-1]["client"] == "Jo ✓" and rows[-1]["type"] == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not a JSON export (line 1: Expecting value)"),
        ("[]", 'not a companion export: expected {"sessions": [...]}'),
        ('{"version": 9, "sessions": []}', "export version 9 is not supported"),
        ('{"sessions": [{"client": "", "routine": "r", "minutes": 20, "started_at": "2025-01-01T10:00:00+00:00"}]}',
         "session 1: 'client' must be a non-empty text"),
        ('{"sessions": [{"client": "A", "routine": "r", "minutes": 20, "started_at": "yesterday"}]}',
         "session 1: 'started_at' must be an ISO 8601 time, not 'yesterday'"),
        ('{"sessions": [{"client": "A", "routine": "r", "minutes": 20, "started_at": "2025-01-01T10:00:00",'
         ' "events": [{"t": 1, "type": "rating", "data": {"measure": "warmth", "when": "later"}}]}]}',
         "session 1: event 1: a rating is 'before' or 'after', not 'later'"),
        ('{"sessions": [{"client": "A", "routine": "r", "minutes": 20, "started_at": "2025-01-01T10:00:00",'
         ' "events": [{"t": -1, "type": "step", "data": {}}]}]}',
         "session 1: event 1: 't' must be a number of seconds, 0 or more"),
    ],
)
def test_malformed_input_is_one_line_and_changes_nothing(tmp_path: Path, text: str, problem: str) -> None:
    source = tmp_path / "bad.json"
    source.write_text(text)
    target = tmp_path / "target.sqlite3"
    code, _, error = invoke("import", str(source), "--db", str(target))
    assert code != 0 and isinstance(error, UserError)
    assert str(error).startswith(f"{source}: {problem}")
    assert "\n" not in str(error)
    assert not target.exists()


def test_a_later_bad_session_stops_the_whole_import(tmp_path: Path) -> None:
    good = {"client": "A", "routine": "r", "minutes": 20, "started_at": "2025-01-01T10:00:00+00:00"}
    with pytest.raises(UserError, match="x.json: session 2: 'minutes' must be a positive whole number"):
        parse_export(json.dumps({"sessions": [good, {**good, "minutes": 0}]}), "x.json")


def test_forget_asks_first_and_says_how_many(db: Path) -> None:
    code, output, error = invoke("forget", "Maria", "--db", str(db), input="y\n")  # no terminal to ask on
    assert code != 0 and str(error) == ("no terminal to confirm on; to delete Maria and their 2 sessions for good, "
                                        "add --yes")
    with Store(db) as store:
        assert "Maria" in store.clients()
    code, output, _ = invoke("forget", "Maria", "--db", str(db), "--yes")
    assert (code, output) == (0, "Forgot Maria: 2 sessions deleted.\n")
    code, output, _ = invoke("forget", "Jo ✓", "--yes", "--db", str(db))
    assert (code, output) == (0, "Forgot Jo ✓: 1 session deleted.\n")
    with Store(db) as store:
        assert store.clients() == [] and store.sessions() == []
    code, _, error = invoke("forget", "Maria", "--yes", "--db", str(db))
    assert code != 0 and str(error) == "no client named Maria; clients: none yet"


def test_a_session_imported_under_another_spelling_joins_its_client_and_is_not_imported_twice(
        db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert invoke("export", "--db", str(db), "--client", "Maria", "-o", str(out))[0] == 0
    document = json.loads(out.read_text())
    for session in document["sessions"]:
        session["client"] = "MARIA"
    out.write_text(json.dumps(document))
    target = tmp_path / "target.sqlite3"
    with Store(target) as store:
        store.end_session(store.begin_session("maria", "foot-circulation", 20), "stopped", 10)
    assert invoke("import", str(out), "--db", str(target))[1] == "Imported 2 sessions (ids 2–3).\n"
    assert invoke("import", str(out), "--db", str(target))[1] == (
        "Imported 0 sessions; 2 already in the database, not imported again.\n")
    with Store(target) as store:
        assert store.clients() == ["maria"]


def test_csv_times_are_to_a_tenth_of_a_second(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with Store(path) as store:
        sid = store.begin_session("Ann", "foot-circulation", 20)
        store.record(sid, 0.01107299976865761, "say", {"text": "Welcome.", "kind": "announce"})
        store.end_session(sid, "stopped", 48.71349)
    code, output, _ = invoke("export", "--db", str(path), "--format", "csv")
    row = next(csv.DictReader(io.StringIO(output)))
    assert (code, row["t"], row["duration"]) == (0, "0.0", "48.7")


def test_the_ratings_export_is_one_row_per_session_and_measure_in_the_routines_order(db: Path) -> None:
    code, output, _ = invoke("export", "--db", str(db), "--format", "ratings", "--client", "maria")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    with Store(db) as store:
        first, second = store.sessions("Maria")
    assert [(r["session_id"], r["measure"], r["before"], r["after"], r["change"]) for r in rows] == [
        (str(first.id), "warmth of the feet", "2", "4", "2"),
        (str(first.id), "skin colour", "3", "4", "1"),
        (str(first.id), "swelling", "4", "5", "1"),
        (str(first.id), "comfort", "2", "4", "2"),
        (str(second.id), "warmth of the feet", "3", "", ""),
    ]
    assert rows[0]["client"] == "Maria" and rows[0]["date"] == local_time(first.started_at)  # as history shows it
