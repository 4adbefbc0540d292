"""`companion history` and `companion report`: what past sessions did and how the feet responded.

On a terminal the history is a table; piped (or read by a screen reader) every session is one line of
labelled text, with no box-drawing characters.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from companion.errors import UserError
from companion.paths import default_db
from companion.store import Event, Rating, SessionDetail, SessionSummary, Store

_DB_OPTION = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Session database (default: $COMPANION_DB, else history.sqlite3 in the data folder).",
)


@click.command()
@click.option("--client", help="Only this client's sessions.")
@_DB_OPTION
def history(client: str | None, db_path: Path | None) -> None:
    """List past sessions with their ratings before → after, and each measure's trend."""
    path = db_path or default_db()
    if not path.exists():
        click.echo(f"No sessions recorded yet ({path} does not exist).")
        return
    with Store(path) as store:
        summaries = store.sessions(client)
        if not summaries:
            known = store.clients()
            if client is None or not known:
                click.echo("No sessions recorded yet.")
            else:
                click.echo(f"No sessions for {client}. Clients: {', '.join(known)}.")
            return
    console = Console()
    if console.is_terminal:
        console.print(history_table(summaries))
    else:
        for summary in summaries:
            click.echo(_history_line(summary))
    for line in _trend_lines(summaries):
        click.echo(line)


@click.command()
@click.argument("session_id", metavar="SESSION", type=int)
@_DB_OPTION
def report(session_id: int, db_path: Path | None) -> None:
    """One session: what was done, plan changes and why, safety answers, ratings before and after."""
    path = db_path or default_db()
    if not path.exists():
        raise UserError(f"no session {session_id}; see companion history")
    with Store(path) as store:
        detail = store.session(session_id)
    for line in report_lines(detail):
        click.echo(line)


commands = [history, report]


# -- history -------------------------------------------------------------------------------------


def history_table(summaries: list[SessionSummary]) -> Table:
    table = Table("Id", "Date", "Client", "Routine", "Min", "Ended", "Ratings before → after")
    table.columns[1].no_wrap = True
    for s in summaries:
        ratings = "\n".join(rating_text(r) for r in s.ratings) or "—"
        cells = (str(s.id), _local(s.started_at), s.client, s.routine, str(s.minutes), _ending(s), ratings)
        table.add_row(*(Text(cell) for cell in cells))  # Text: a name like "[b]" is not markup
    return table


def _history_line(s: SessionSummary) -> str:
    ratings = "; ".join(rating_text(r) for r in s.ratings) or "none"
    return (
        f"Session {s.id}, {_local(s.started_at)}, {s.client}, {s.routine}, {s.minutes} min, "
        f"{_ending(s) if s.status != 'ended' else 'ended: ' + _ending(s)}. Ratings: {ratings}."
    )


def _trend_lines(summaries: list[SessionSummary]) -> list[str]:
    """Per client and measure: baselines and finals across sessions, and the average change within one."""
    lines: list[str] = []
    for client in dict.fromkeys(s.client for s in summaries):
        own = [s for s in summaries if s.client == client]
        measures = sorted({r.measure for s in own for r in s.ratings})
        if not measures:
            continue
        lines += ["", f"Trends for {client} over {len(own)} session{'s' if len(own) != 1 else ''}:"]
        for measure in measures:
            rated = [r for s in own for r in s.ratings if r.measure == measure]
            lines.append(f"  {measure}: {_trend(rated)}")
    return lines


def _trend(rated: list[Rating]) -> str:
    befores = [r.before for r in rated if r.before is not None]
    afters = [r.after for r in rated if r.after is not None]
    changes = [r.change for r in rated if r.change is not None]
    parts = [
        f"before {', '.join(map(str, befores)) or 'not rated'}",
        f"after {', '.join(map(str, afters)) or 'not rated'}",
    ]
    if len(befores) > 1:
        parts.append(f"baseline {befores[0]} → {befores[-1]} ({befores[-1] - befores[0]:+d})")
    if changes:
        parts.append(f"average change in a session {sum(changes) / len(changes):+.1f}")
    return "; ".join(parts)


# -- report --------------------------------------------------------------------------------------


def report_lines(detail: SessionDetail) -> list[str]:
    """The session report as plain lines (readable aloud)."""
    s = detail.summary
    lines = [
        f"Session {s.id} for {s.client}: routine {s.routine}, {s.minutes} minutes planned.",
        _timing(detail),
        "",
        "Safety answers:",
        *_items(safety_text(e.data) for e in detail.safety_answers),
        "",
        f"Steps done ({len(detail.steps)}):",
        *_items(f"{_clock(e.t)}  {step_text(e.data)}" for e in detail.steps),
        "",
        "Plan changes:",
        *_items(f"{_clock(e.t)}  {plan_text(e.data)}" for e in detail.plan_changes),
    ]
    pauses = detail.of_type("pause")
    if pauses:
        reasons = ", ".join(_field(e, "reason") or "no reason" for e in pauses)
        lines += ["", f"Paused {len(pauses)} time{'s' if len(pauses) != 1 else ''}: {reasons}."]
    profile_notes = [
        *(
            f"sore: {_place(e.data)} ({_field(e, 'reason') or 'no reason given'})"
            for e in detail.of_type("sensitive")
        ),
        *(f"fine again: {_place(e.data)}" for e in detail.of_type("recovered")),
        *(
            f"prefers {_field(e, 'pressure')} pressure: {_place(e.data)}"
            for e in detail.of_type("preference")
        ),
    ]
    if profile_notes:
        lines += ["", "Noted for next time:", *_items(profile_notes)]
    lines += ["", "Ratings (before → after):", *_items(rating_text(r) for r in s.ratings)]
    return lines


def _timing(detail: SessionDetail) -> str:
    s = detail.summary
    start = _local(s.started_at)
    if s.status == "ended":
        end = _local(s.ended_at)
        if end[:10] == start[:10]:  # the same day: the time is enough
            end = end[11:]
        took = f" after {_duration(s.duration)}" if s.duration is not None else ""
        return f"Started {start}; ended {end}: {s.end_reason}{took}."
    where = f" during {step_text(s.last_step)}" if s.last_step else ""
    last_t = f", {_clock(detail.events[-1].t)} into the session" if detail.events else ""
    state = "interrupted" if s.status == "interrupted" else "not ended (still running, or stopped unmarked)"
    return f"Started {start}; {state}{where}{last_t}."


def step_text(data: dict[str, Any]) -> str:
    """'left foot, arch: kneading, medium pressure, 90 s' from a step record's data."""
    duration, pressure = data.get("duration"), data.get("pressure")
    how = ", ".join(
        p
        for p in (
            data.get("technique") or "",
            f"{pressure} pressure" if pressure and pressure != "none" else "",
            f"{duration:g} s" if isinstance(duration, int | float) else "",
        )
        if p
    )
    name = _place(data) or str(data.get("id", "a step"))
    return f"{name}: {how}" if how else name


def safety_text(data: dict[str, Any]) -> str:
    """'circulation: no (heard "no way")': the question's id, the answer, and what was heard."""
    answer, heard = data.get("answer", "?"), data.get("text")
    said = f' (heard "{heard}")' if heard and heard != answer else ""
    return f"{data.get('question', '?')}: {answer}{said}"


def plan_text(data: dict[str, Any]) -> str:
    """'pressure on l-arch: pain reported (to light)' from a plan record's data."""
    extra = ", ".join(
        f"{key} {value}" for key, value in data.items() if key not in ("change", "step", "reason")
    )
    reason = data.get("reason") or "no reason given"
    text = f"{data.get('change', 'change')} on {data.get('step', '?')}: {reason}"
    return f"{text} ({extra})" if extra else text


def rating_text(rating: Rating) -> str:
    """'warmth 2 → 4 (+2)'; a missing side reads 'not rated'."""
    before = "not rated" if rating.before is None else str(rating.before)
    after = "not rated" if rating.after is None else str(rating.after)
    change = f" ({rating.change:+d})" if rating.change is not None else ""
    return f"{rating.measure} {before} → {after}{change}"


# -- small formatters ----------------------------------------------------------------------------


def _items(texts: Any) -> list[str]:
    items = [f"  - {text}" for text in texts]
    return items or ["  none"]


def _field(event: Event, key: str) -> str:
    value = event.data.get(key)
    return "" if value is None else str(value)


def _place(data: dict[str, Any]) -> str:
    """'left foot, arch', 'both feet', 'right foot' (a whole-foot area is not repeated)."""
    foot, area = data.get("foot"), data.get("area")
    feet = "both feet" if foot == "both" else f"{foot} foot" if foot else ""
    return ", ".join(p for p in (feet, "" if area in (None, "whole") else area) if p)


def _ending(s: SessionSummary) -> str:
    if s.status == "ended":
        return s.end_reason or "ended"
    return "interrupted" if s.status == "interrupted" else "still running"


def _local(iso: str | None) -> str:
    """A stored UTC time shown in the local time zone."""
    if not iso:
        return "?"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _clock(t: float) -> str:
    minutes, seconds = divmod(int(t), 60)
    return f"{minutes}:{seconds:02d}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
