"""Sessions out of and into the database: JSON (complete, re-importable), CSV (one row per event) and
ratings (CSV, one row per session and measure: what a spreadsheet charts progress from).

An import is checked in full before anything is written, so a malformed file changes nothing; its
sessions get new ids, keep their clients, times and events, and a session already in the database
(same client, routine and start time) is not imported twice. Files written here are private (0600):
they hold health information.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.errors import UserError
from companion.store import SessionDetail, SessionSummary, Store, check_record, client_key

FORMATS = ("json", "csv", "ratings")
EXPORT_VERSION = 1
STATUSES = ("running", "ended", "interrupted")
CSV_COLUMNS = ("session_id", "client", "routine", "minutes", "started_at", "ended_at", "end_reason", "duration",
               "status", "seq", "t", "type", "data", "wall")
RATINGS_COLUMNS = ("session_id", "client", "date", "routine", "measure", "before", "after", "change")


# -- writing files -------------------------------------------------------------------------------


def write_private(path: Path, content: str | bytes, option: str = "-o") -> None:
    """Write ``content`` to ``path`` readable by its owner only (mode 0600, also when it existed); the
    error names ``option``, the command's option that chose the file."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(data)
    except OSError as exc:
        raise UserError(f"{path}: cannot write it ({exc.strerror or exc}); choose another file with {option}") from None


# -- export --------------------------------------------------------------------------------------


def collect(store: Store, client: str | None = None) -> list[SessionDetail]:
    """Every session (of one client, or of everyone) with its events, oldest first."""
    return [store.session(summary.id) for summary in store.sessions(client)]


def session_record(detail: SessionDetail) -> dict[str, Any]:
    s = detail.summary
    return {
        "id": s.id,
        "client": s.client,
        "routine": s.routine,
        "minutes": s.minutes,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
        "end_reason": s.end_reason,
        "duration": s.duration,
        "status": s.status,
        "events": [{"t": e.t, "type": e.type, "data": e.data, "wall": e.wall} for e in detail.events],
        "ratings": {r.measure: {"before": r.before, "after": r.after} for r in s.ratings},
    }


def export_json(details: Iterable[SessionDetail]) -> str:
    document = {"version": EXPORT_VERSION, "sessions": [session_record(d) for d in details]}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_csv(details: Iterable[SessionDetail]) -> str:
    """One row per event, each with its session's columns; a session without events is one row. Times in
    seconds to a tenth (the JSON export keeps them whole)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for detail in details:
        s = detail.summary
        session = [s.id, s.client, s.routine, s.minutes, s.started_at, s.ended_at or "", s.end_reason or "",
                   "" if s.duration is None else round(s.duration, 1), s.status]
        if not detail.events:
            writer.writerow(session + [""] * 5)
        for e in detail.events:
            data = json.dumps(e.data, ensure_ascii=False, sort_keys=True)
            writer.writerow(session + [e.seq, round(e.t, 1), e.type, data, e.wall])
    return buffer.getvalue()


def export_ratings(details: Iterable[SessionDetail]) -> str:
    """One row per session and measure rated: before, after and the change, the measures in the routine's
    order and by its names, the date in local time. A session without ratings has no row."""
    from companion.measures import named_ratings, session_measures
    from companion.report import local_time

    summaries = [d.summary for d in details]
    measures = session_measures(summaries)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RATINGS_COLUMNS)
    for s in summaries:
        for r in named_ratings(s.ratings, measures):
            writer.writerow([s.id, s.client, local_time(s.started_at), s.routine, r.measure,
                             *("" if v is None else v for v in (r.before, r.after, r.change))])
    return buffer.getvalue()


def export(details: Iterable[SessionDetail], fmt: str) -> str:
    if fmt == "json":
        return export_json(details)
    if fmt == "csv":
        return export_csv(details)
    if fmt == "ratings":
        return export_ratings(details)
    raise UserError(f"unknown export format '{fmt}'; choose {', '.join(FORMATS)}")


# -- import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    imported: list[int]  # the new session ids
    skipped: int  # sessions already in the database


def read_export(path: Path) -> list[dict[str, Any]]:
    """The sessions of an export file, or of a rescue file, checked; UserError ``FILE: problem`` otherwise."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    return parse_rescue(text, str(path)) or parse_export(text, str(path))


def parse_rescue(text: str, origin: str) -> list[dict[str, Any]] | None:
    """A rescue file (the events a session could not write to its database: a header line, then one JSON
    line per event, see companion.recording) as one session to import, or None when ``text`` is not one.
    A session that had begun in the database carries ``into``: its id there, to add the events to."""
    first, _, rest = text.partition("\n")
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        return None
    if not isinstance(header, dict) or "rescue" not in header:
        return None
    events = []
    for n, line in enumerate(rest.splitlines(), start=2):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            raise UserError(f"{origin}:{n}: this line of the rescue file is cut or damaged; remove it and "
                            "import again") from None
    end = next((e for e in events if isinstance(e, dict) and e.get("type") == "end"), None)
    end_data = end.get("data", {}) if end else {}
    session = {"client": header.get("client"), "routine": header.get("routine"), "minutes": header.get("minutes"),
               "started_at": events[0].get("wall") if events and isinstance(events[0], dict) else None,
               "ended_at": end.get("wall") if end else None, "status": "ended" if end else "interrupted",
               "end_reason": end_data.get("reason"), "duration": end_data.get("duration"), "events": events}
    problem = _session_problem(session)
    if problem:
        raise UserError(f"{origin}: not a complete rescue file: {problem}")
    if isinstance(header.get("session_id"), int):
        session["into"] = header["session_id"]
    return [session]


def parse_export(text: str, origin: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{origin}: not a JSON export (line {exc.lineno}: {exc.msg}); "
                        "import reads files made by companion export --format json") from None
    if not isinstance(document, dict) or not isinstance(document.get("sessions"), list):
        raise UserError(f'{origin}: not a companion export: expected {{"sessions": [...]}}')
    version = document.get("version", EXPORT_VERSION)
    if version != EXPORT_VERSION:
        raise UserError(f"{origin}: export version {version!r} is not supported (this companion reads "
                        f"{EXPORT_VERSION}); upgrade companion")
    for n, session in enumerate(document["sessions"], start=1):
        problem = _session_problem(session)
        if problem:
            raise UserError(f"{origin}: session {n}: {problem}")
    return document["sessions"]


def _session_problem(session: Any) -> str | None:
    if not isinstance(session, dict):
        return "is not an object"
    for key in ("client", "routine", "started_at"):
        if not isinstance(session.get(key), str) or not session[key].strip():
            return f"'{key}' must be a non-empty text"
    minutes = session.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        return "'minutes' must be a positive whole number"
    for key in ("started_at", "ended_at"):
        if session.get(key) is not None and _moment(session[key]) is None:
            return f"'{key}' must be an ISO 8601 time, not {session[key]!r}"
    if session.get("status", "ended") not in STATUSES:
        return f"'status' must be one of {', '.join(STATUSES)}"
    for key in ("end_reason",):
        if session.get(key) is not None and not isinstance(session[key], str):
            return f"'{key}' must be a text or null"
    if session.get("duration") is not None and not _is_number(session["duration"]):
        return "'duration' must be a number or null"
    events = session.get("events", [])
    if not isinstance(events, list):
        return "'events' must be a list"
    for m, event in enumerate(events, start=1):
        problem = _event_problem(event)
        if problem:
            return f"event {m}: {problem}"
    ratings = session.get("ratings", {})
    if not isinstance(ratings, dict) or not all(isinstance(v, dict) for v in ratings.values()):
        return "'ratings' must map each measure to {\"before\": ..., \"after\": ...}"
    return None


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "is not an object"
    if not _is_number(event.get("t")) or event["t"] < 0:
        return "'t' must be a number of seconds, 0 or more"
    if not isinstance(event.get("type"), str) or not event["type"]:
        return "'type' must be a non-empty text"
    if not isinstance(event.get("data", {}), dict):
        return "'data' must be an object"
    if event.get("wall") is not None and _moment(event["wall"]) is None:
        return f"'wall' must be an ISO 8601 time, not {event['wall']!r}"
    try:
        check_record(event["type"], event.get("data", {}))
    except ValueError as exc:
        return str(exc)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def import_sessions(db_path: Path, sessions: list[dict[str, Any]]) -> ImportResult:
    """Add checked export sessions (from ``parse_export``) to the database at ``db_path``, keeping the
    times they were recorded at; a session the database already holds is skipped."""
    now: list[datetime] = [datetime.now(UTC)]
    imported: list[int] = []
    skipped = 0
    with Store(db_path, clock=lambda: now[0]) as store:
        existing = store.sessions()
        for session in sessions:
            if _add_rescued(store, existing, session):
                imported.append(session["into"])
                continue
            started = _moment(session["started_at"])
            assert started is not None  # checked by parse_export
            started_at = started.astimezone(UTC).isoformat(timespec="seconds")
            if _already_there(store, existing, session, started_at):
                skipped += 1
                continue
            now[0] = started
            new_id = store.begin_session(session["client"], session["routine"], session["minutes"])
            ended_at = _moment(session.get("ended_at"))
            for event in session.get("events", []):
                now[0] = _moment(event.get("wall")) or now[0]
                store.record(new_id, float(event["t"]), event["type"], event.get("data", {}))
            _finish(store, new_id, session, ended_at, now)
            imported.append(new_id)
    return ImportResult(imported, skipped)


def _add_rescued(store: Store, existing: list[SessionSummary], session: dict[str, Any]) -> bool:
    """Add a rescue file's events to the session they belong to, when the database holds it (same id and
    client), each at the time it happened; events it already has are not added twice."""
    into = next((s for s in existing if s.id == session.get("into") and client_key(s.client) == client_key(session["client"])),
                None)
    if into is None:
        return False
    have = {(e.t, e.type, json.dumps(e.data, sort_keys=True)) for e in store.session(into.id).events}
    for event in session["events"]:
        data = event.get("data", {})
        if (float(event["t"]), event["type"], json.dumps(data, sort_keys=True)) not in have:
            store.record(into.id, float(event["t"]), event["type"], data, wall=_moment(event.get("wall")))
    return True


def _already_there(store: Store, existing: list[SessionSummary], session: dict[str, Any], started_at: str) -> bool:
    """Whether the database held this session before the import: same client, routine, length, start
    and the same events at the same times."""
    events = [(float(e["t"]), e["type"], e.get("data", {})) for e in session.get("events", [])]
    for summary in existing:
        if (client_key(summary.client), summary.routine, summary.minutes, summary.started_at) != (
                client_key(session["client"]), session["routine"], session["minutes"], started_at):
            continue
        if [(e.t, e.type, e.data) for e in store.session(summary.id).events] == events:
            return True
    return False


def _finish(store: Store, session_id: int, session: dict[str, Any], ended_at: datetime | None,
            now: list[datetime]) -> None:
    """Give an imported session the end it had (its time, reason and length), or mark it interrupted:
    a session still 'running' elsewhere is not running here."""
    status = session.get("status", "ended")
    if status == "ended":
        now[0] = ended_at or now[0]
        store.end_session(session_id, session.get("end_reason") or "ended", float(session.get("duration") or 0.0))
    elif not any(event["type"] == "end" for event in session.get("events", [])):
        store.mark_session_interrupted(session_id)
