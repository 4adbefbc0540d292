"""`companion history` and `companion report`: what past sessions did and how the feet responded.

On a terminal the history is a table; piped (or read by a screen reader) every session is one line of
labelled text, with no box-drawing characters.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from companion.errors import UserError
from companion.exchange import write_private
from companion.paths import default_db
from companion.measures import in_order, label, named_ratings, session_measures
from companion.plan.model import Measure
from companion.report import FORMATS, before_after, duration_text, local_time as _local, rating_text, render
from companion.store import Rating, SessionSummary, Store, client_key, no_session

_DB_OPTION = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Session database (default: $COMPANION_DB, else history.sqlite3 in the data folder).",
)


@click.command()
@click.option("--client", help="Only this client's sessions.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw each measure before and after, session by session, into this PNG file.")
@_DB_OPTION
def history(client: str | None, plot_file: Path | None, db_path: Path | None) -> None:
    """List past sessions with their ratings before and after, and each measure's trend."""
    if plot_file is not None and plot_file.suffix.lower() != ".png":
        raise UserError(f"--plot draws a PNG image; give a file name ending in .png, not {plot_file.name}")
    path = db_path or default_db()
    if not path.exists():
        click.echo(f"No sessions recorded yet ({path} does not exist).")
        return
    with Store(path) as store:
        if client is not None:
            client = store.check_client(client)[0]
        summaries = store.sessions(client)
        known = store.clients()
    if not summaries:
        click.echo("No sessions recorded yet.")
        return
    measures = session_measures(summaries)
    if plot_file is not None:  # before the history is printed, so that a problem is the only line shown
        _plot(summaries, client, known, measures, plot_file)
    console = Console()
    if console.is_terminal:
        console.print(history_table(summaries, measures))
    else:
        for summary in summaries:
            click.echo(_history_line(summary, measures))
    for line in _progress_lines(summaries, measures):
        click.echo(line)
    if plot_file is not None:
        click.echo(f"Chart written to {plot_file}.", err=True)


def _plot(summaries: list[SessionSummary], client: str | None, known: list[str], measures: dict[str, Measure],
          plot_file: Path) -> None:
    """Write the history chart of one client (the only one, or the one chosen with --client)."""
    if client is None and len(known) > 1:
        raise UserError(f"--plot draws one client's sessions; add --client (one of: {', '.join(known)})")
    if not any(s.ratings for s in summaries):
        raise UserError(f"no ratings to plot for {summaries[0].client} yet; nothing written to {plot_file}")
    from companion.plot import history_chart_png

    png = history_chart_png(summaries, {k: m.label for k, m in measures.items()},
                            {k: (m.low, m.high) for k, m in measures.items()}, list(measures))
    write_private(plot_file, png, option="--plot")


@click.command()
@click.argument("session_id", metavar="SESSION", type=int)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (plain, readable aloud), markdown, or html (one self-contained page with a chart).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (readable by you only) instead of the screen.")
@_DB_OPTION
def report(session_id: int, fmt: str, output: Path | None, db_path: Path | None) -> None:
    """One session: what was done, what changed and why, safety answers, ratings before and after."""
    path = db_path or default_db()
    if not path.exists():
        raise no_session(session_id)
    with Store(path) as store:
        detail = store.session(session_id)
    text = render(detail, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    write_private(output, text)
    click.echo(f"Report written to {output}.", err=True)


commands = [history, report]


# -- history -------------------------------------------------------------------------------------


def history_table(summaries: list[SessionSummary], measures: dict[str, Measure]) -> Table:
    table = Table("Id", "Date", "Client", "Routine", "Plan", "Ended", "Ratings, before then after")
    table.columns[1].no_wrap = True
    for s in summaries:
        ratings = "\n".join(rating_text(r) for r in named_ratings(s.ratings, measures)) or "—"
        cells = (str(s.id), _local(s.started_at), s.client, s.routine, f"{s.minutes} min", _ending(s), ratings)
        table.add_row(*(Text(cell) for cell in cells))  # Text: a name like "[b]" is not markup
    return table


def _history_line(s: SessionSummary, measures: dict[str, Measure]) -> str:
    ratings = "; ".join(rating_text(r) for r in named_ratings(s.ratings, measures)) or "none"
    return (
        f"Session {s.id}, {_local(s.started_at)}, {s.client}, {s.routine}, {s.minutes}-minute plan, "
        f"{_ending(s) if s.status != 'ended' else 'ended: ' + _ending(s)}. Ratings: {ratings}."
    )


def _progress_lines(summaries: list[SessionSummary], measures: dict[str, Measure]) -> list[str]:
    """Per client and measure, the sessions that rated it ("session 5: 2 then 4 (+2)"), how the rating at the
    start moved from the first of them to the last, and the average change within a session. Sessions
    without ratings (refused by the safety check, interrupted early) are not counted, only said."""
    lines: list[str] = []
    for key in dict.fromkeys(client_key(s.client) for s in summaries):
        own = [s for s in summaries if client_key(s.client) == key]
        rated = [s for s in own if any(r.before is not None or r.after is not None for r in s.ratings)]
        if not rated:
            continue
        before_only = sum(all(r.after is None for r in s.ratings) for s in rated)  # "3 then not rated"
        others = len(own) - len(rated)
        notes = [f"{before_only} rated only before the massage"] if before_only else []
        notes += [f"{_count(others, 'other')} without ratings"] if others else []
        said = f" ({'; '.join(notes)})" if notes else ""
        lines += ["", f"Progress for {own[0].client}, {_count(len(rated), 'session')} with ratings{said}:"]
        for measure in in_order({r.measure for s in rated for r in s.ratings}, measures):
            pairs = [(s.id, r) for s in rated for r in s.ratings if r.measure == measure]
            lines.append(f"  {label(measure, measures)}: {_progress(pairs)}")
    return lines


def _progress(rated: list[tuple[int, Rating]]) -> str:
    """'session 1: 2 then 3 (+1); session 4: 3 then 4 (+1). Baseline from session 1 to 4: 2 then 3 (+1); average
    change in a session +1.0.'"""
    pairs = "; ".join(f"session {sid}: {before_after(r)}" for sid, r in rated if r.before is not None or r.after is not None)
    parts = []
    starts = [(sid, r.before) for sid, r in rated if r.before is not None]
    if len(starts) > 1:
        (first_id, first), (last_id, last) = starts[0], starts[-1]
        parts.append(f"baseline from session {first_id} to {last_id}: {first} then {last} ({last - first:+d})")
    changes = [r.change for _, r in rated if r.change is not None]
    if changes:
        parts.append(f"average change in a session {sum(changes) / len(changes):+.1f}")
    summary = "; ".join(parts)
    return pairs + (f". {summary[:1].upper()}{summary[1:]}" if parts else "") + "."


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'s' if n != 1 else ''}"


# -- small formatters ----------------------------------------------------------------------------


def _ending(s: SessionSummary) -> str:
    if s.status == "ended":  # with how long it ran: a session stopped early shows as such
        took = f" after {duration_text(s.duration)}" if s.duration is not None and round(s.duration) else ""
        return f"{s.end_reason or 'ended'}{took}"
    return "interrupted" if s.status == "interrupted" else "still running"
