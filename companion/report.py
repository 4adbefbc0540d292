"""The report of one session, as plain text (readable aloud), Markdown or a self-contained HTML page.

``build_report`` turns a stored session into plain facts (what was done, what changed and why, the
safety answers, the ratings); the ``render_*`` functions only lay those facts out.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from companion.errors import UserError
from companion.measures import load_routine_quietly, named_ratings
from companion.plan.model import Routine
from companion.store import Event, Rating, SessionDetail

FORMATS = ("text", "markdown", "html")

SAFETY_QUESTIONS = {
    "circulation": "Known circulation disorder, blood clot, or diabetes affecting the feet?",
    "skin": "Open wound, skin condition or infection on the feet?",
    "swelling": "Swelling in the feet or ankles?",
    "sore-spot": "A painful spot, such as a heel spur?",
    "sore-foot": "Which foot has the painful spot?",
    "sore-area": "Which area has the painful spot?",
}


@dataclass(frozen=True)
class StepDone:
    t: float
    place: str  # "left foot, arch", "both feet"
    technique: str
    pressure: str | None  # None: a step without touch
    seconds: float | None  # as planned when it started, with the time added or taken off while it ran
    note: str = ""  # "cut short: asked to skip"


@dataclass(frozen=True)
class Change:
    t: float
    why: str  # "pain reported", "asked for more time"
    what: str  # "left foot, arch: pressure from medium to light; left out left foot, heel"


@dataclass(frozen=True)
class SafetyAnswer:
    question: str
    answer: str
    heard: str | None  # the words heard, when they differ from the answer


@dataclass(frozen=True)
class RatingRow(Rating):
    """A rating as the report shows it: ``measure`` is the routine's label ("warmth of the feet")."""


@dataclass(frozen=True)
class Report:
    session_id: int
    client: str
    routine: str
    minutes: int
    timing: str
    safety: tuple[SafetyAnswer, ...]
    steps: tuple[StepDone, ...]
    changes: tuple[Change, ...]
    notes: tuple[str, ...]  # what carries over to the next session
    ratings: tuple[RatingRow, ...]
    measure_scales: dict[str, tuple[str, str]]  # label -> (what 1 means, what 5 means)

    @property
    def title(self) -> str:
        return f"Session {self.session_id} for {self.client}"


# -- facts -----------------------------------------------------------------------------------------


def build_report(detail: SessionDetail, routine: Routine | None = None) -> Report:
    """The facts of one session; ``routine`` (when it can still be loaded) names steps and measures."""
    s = detail.summary
    names = _step_names(detail, routine)
    return Report(
        session_id=s.id,
        client=s.client,
        routine=routine.title if routine else s.routine,
        minutes=s.minutes,
        timing=_timing(detail),
        safety=tuple(_safety(e.data) for e in detail.safety_answers),
        steps=_steps(detail),
        changes=_changes(detail, names),
        notes=tuple(_notes(detail)),
        ratings=_ratings(s.ratings, routine),
        measure_scales={m.label: (m.low, m.high) for m in routine.measures} if routine else {},
    )


def _step_names(detail: SessionDetail, routine: Routine | None) -> dict[str, str]:
    names = {step.id: _step_label(step.foot, step.area, step.technique) for step in routine.steps} if routine else {}
    for event in detail.steps:
        data = event.data
        if "id" in data:
            names[data["id"]] = _step_label(data.get("foot"), data.get("area"), data.get("technique"))
    return names


def _step_label(foot: str | None, area: str | None, technique: str | None) -> str:
    """A step in a few words for the report: its place, and its technique when the place alone (a whole
    foot) is vague. (wording.step_name is the spoken one: always place and technique.)"""
    where = _recorded_place(foot, area)
    if technique and (area in (None, "whole") or not where):
        return f"{where} ({technique})" if where else technique
    return where or technique or "a step"


def _steps(detail: SessionDetail) -> tuple[StepDone, ...]:
    events = detail.events
    starts = [i for i, e in enumerate(events) if e.type == "step"]
    return tuple(_step_done(events[i], events[i + 1 : end]) for i, end in zip(starts, [*starts[1:], len(events)]))


def _step_done(step: Event, during: Sequence[Event]) -> StepDone:
    """One step as it was done: ``during``, the events until the next step began, add or take off time and
    may cut it short."""
    data = step.data
    duration = data.get("duration")
    seconds = float(duration) if isinstance(duration, int | float) else None
    note = ""
    for e in during:
        change, amount = e.data.get("change"), e.data.get("seconds")
        if e.type == "plan" and change == "back":  # its record names the step gone back to
            seconds = e.t - step.t if seconds is None else min(seconds, e.t - step.t)
            note = "cut short: went back"
        if e.type != "plan" or e.data.get("step") != data.get("id"):
            continue
        if change in ("extend", "shorten") and seconds is not None and isinstance(amount, int | float):
            seconds += amount if change == "extend" else -amount
        elif change == "skip":
            seconds = e.t - step.t if seconds is None else min(seconds, e.t - step.t)
            note = f"cut short: {e.data.get('reason') or 'no reason given'}"
    end = next((e for e in during if e.type == "end"), None)
    if end is not None and end.data.get("reason") != "routine complete":  # the session ended during this step
        # the massage stopped when the ratings after it began (their earcon), which may be long before the end
        stopped = next((e.t for e in during if e.type == "earcon" and e.data.get("name") == "step"), end.t)
        done = _active_seconds(step.t, stopped, during)
        if seconds is None or done < seconds:
            seconds, note = done, str(end.data.get("reason") or "session ended")
    pressures = [data.get("pressure")] + [e.data.get("to") for e in during if e.type == "plan" and
                                          e.data.get("change") == "pressure" and e.data.get("step") == data.get("id")]
    said = [str(p) for p in dict.fromkeys(pressures) if p and p != "none"]
    return StepDone(
        t=step.t,
        place=_recorded_place(data.get("foot"), data.get("area")) or str(data.get("id", "a step")),
        technique=str(data.get("technique") or ""),
        pressure=", then ".join(said) or None,  # "medium, then firm": changed during the step
        seconds=None if seconds is None else max(0.0, seconds),
        note=note,
    )


def _active_seconds(start: float, end: float, during: Sequence[Event]) -> float:
    """Session seconds from ``start`` to ``end`` less the time paused in between."""
    paused, since = 0.0, None
    for e in during:
        if e.t > end:
            break
        if e.type == "pause" and since is None:
            since = e.t
        elif e.type == "resume" and since is not None:
            paused, since = paused + e.t - since, None
    if since is not None:
        paused += end - since
    return end - start - paused


def _change_text(data: dict[str, Any], names: dict[str, str], started: set[str]) -> str:
    step = str(data.get("step", "?"))
    name = names.get(step, step)
    change = data.get("change")
    seconds = data.get("seconds")
    amount = f"{seconds:g} s" if isinstance(seconds, int | float) else "some time"
    if change == "pressure":
        before = data.get("from")
        return f"{name}: pressure from {before} to {data.get('to')}" if before else f"{name}: pressure to {data.get('to')}"
    if change == "skip":
        return f"{name} cut short" if step in started else f"left out {name}"
    if change == "extend":
        return f"{name}: {amount} longer"
    if change == "shorten":
        return f"{name}: {amount} shorter"
    if change == "back":
        return f"went back to {name}"
    return f"{change or 'change'}: {name}"


def _changes(detail: SessionDetail, names: dict[str, str]) -> tuple[Change, ...]:
    """Every change in time order; plan changes made at once for one reason read as one item."""
    changes: list[Change] = []
    started: set[str] = set()
    for event in detail.events:
        data = event.data
        if event.type == "step":
            started.add(str(data.get("id")))
        elif event.type == "plan":
            why = str(data.get("reason") or "no reason given")
            what = _change_text(data, names, started)
            last = changes[-1] if changes else None
            if last is not None and last.t == event.t and last.why == why:
                changes[-1] = Change(last.t, why, f"{last.what}; {what}")
            else:
                changes.append(Change(event.t, why, what))
        elif event.type == "sensitive":
            changes.append(Change(event.t, _text(data, "reason") or "no reason given", f"{_spot(data)} marked sore"))
        elif event.type == "recovered":
            changes.append(Change(event.t, "no longer sore", f"{_spot(data)} back to normal"))
        elif event.type == "preference":
            pressure = data.get("pressure")
            what = f"{pressure} pressure on {_spot(data)}" if pressure else f"no set pressure on {_spot(data)}"
            changes.append(Change(event.t, "client preference", what))
        elif event.type == "pause":
            changes.append(Change(event.t, _text(data, "reason") or "no reason given", "paused"))
        elif event.type == "resume":
            changes.append(Change(event.t, _text(data, "reason") or "asked to resume", "resumed"))
    return tuple(changes)


def _notes(detail: SessionDetail) -> list[str]:
    """What the client's profile keeps for next time, as this session left it."""
    sore: dict[str, str] = {}
    preferences: dict[str, str | None] = {}
    for event in detail.events:
        data = event.data
        if event.type == "sensitive":
            sore[_spot(data)] = _text(data, "reason") or "no reason given"
        elif event.type == "recovered":
            sore.pop(_spot(data), None)
        elif event.type == "preference":
            preferences[_spot(data)] = data.get("pressure")
    return [f"sore: {spot} ({why})" for spot, why in sore.items()] + [
        f"prefers {pressure} pressure: {spot}" for spot, pressure in preferences.items() if pressure
    ]


def _safety(data: dict[str, Any]) -> SafetyAnswer:
    question_id = str(data.get("question", "?"))
    answer = str(data.get("answer", "?"))
    heard = data.get("text")
    return SafetyAnswer(
        question=SAFETY_QUESTIONS.get(question_id, f"{question_id}?"),
        answer="skipped (not answered)" if answer == "skip" else answer,
        heard=str(heard) if heard and heard != answer else None,
    )


def _ratings(ratings: tuple[Rating, ...], routine: Routine | None) -> tuple[RatingRow, ...]:
    measures = {m.id: m for m in routine.measures} if routine else {}
    return tuple(RatingRow(r.measure, r.before, r.after) for r in named_ratings(ratings, measures))


def _timing(detail: SessionDetail) -> str:
    s = detail.summary
    start = local_time(s.started_at)
    if s.status == "ended":
        end = local_time(s.ended_at)
        if end[:10] == start[:10]:  # the same day: the time is enough
            end = end[11:]
        took = f" after {duration_text(s.duration)}" if s.duration is not None else ""
        return f"Started {start}; ended {end}: {s.end_reason}{took}."
    last = s.last_step or {}
    where = f" during {spot}" if (spot := _recorded_place(last.get("foot"), last.get("area"))) else ""
    if any(e.type == "rating" and e.data.get("when") == "after" for e in detail.events):
        where = " during the ratings after the massage"
    last_t = f", {clock(detail.events[-1].t)} into the session" if detail.events else ""
    state = "interrupted" if s.status == "interrupted" else "not ended (still running, or stopped unmarked)"
    return f"Started {start}; {state}{where}{last_t}."


# -- small formatters (shared with the history command) ---------------------------------------------


def _recorded_place(foot: str | None, area: str | None) -> str:
    """A place as a record names it, either part possibly missing: 'left foot, arch', 'both feet', 'arch' (a
    whole-foot area is not repeated). Not wording.place: that one is said, of a step that has both."""
    feet = "both feet" if foot == "both" else f"{foot} foot" if foot else ""
    return ", ".join(p for p in (feet, "" if area in (None, "whole") else area) if p)


def _spot(data: dict[str, Any]) -> str:
    return _recorded_place(data.get("foot"), data.get("area")) or "somewhere"


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def rating_text(rating: Rating) -> str:
    """'warmth 2 then 4 (+2)'; a missing side reads 'not rated'."""
    return f"{rating.measure} {before_after(rating)}"


def before_after(rating: Rating) -> str:
    """'2 then 4 (+2)', '3 then not rated': in words, as a screen reader reads "→" as "right arrow"."""
    before = "not rated" if rating.before is None else str(rating.before)
    after = "not rated" if rating.after is None else str(rating.after)
    change = f" ({rating.change:+d})" if rating.change is not None else ""
    return f"{before} then {after}{change}"


def local_time(iso: str | None) -> str:
    """A stored UTC time shown in the local time zone."""
    if not iso:
        return "?"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def clock(t: float) -> str:
    """Session time as m:ss, or h:mm:ss from an hour on."""
    minutes, seconds = divmod(int(t), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _step_line(step: StepDone) -> str:
    how = ", ".join(p for p in (step.technique, f"{step.pressure} pressure" if step.pressure else "",
                                "" if step.seconds is None else duration_text(step.seconds)) if p)
    note = f" ({step.note})" if step.note else ""
    return f"{step.place}: {how}{note}" if how else f"{step.place}{note}"


# -- text ------------------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    """Plain lines with no tables or symbols a screen reader stumbles on."""
    lines = [
        f"{report.title}: routine {report.routine}, {report.minutes} minutes planned.",
        report.timing,
        "",
        "Safety check:",
        *_items(f"{a.question} {a.answer}" + (f' (heard "{a.heard}")' if a.heard else "") for a in report.safety),
        "",
        f"Steps done ({len(report.steps)}):",
        *_items(f"{clock(s.t)}  {_step_line(s)}" for s in report.steps),
        "",
        "What changed and why:",
        *_items(f"{clock(c.t)}  {c.why}: {c.what}" for c in report.changes),
    ]
    if report.notes:
        lines += ["", "Noted for next time:", *_items(report.notes)]
    lines += ["", "Ratings (before, then after):", *_items(_rating_line(r) for r in report.ratings)]
    return "\n".join(lines) + "\n"


def _rating_line(row: RatingRow) -> str:
    """'warmth of the feet: 2 then 4 (+2)'."""
    return f"{row.measure}: {before_after(row)}"


def _items(texts: Any) -> list[str]:
    return [f"  - {text}" for text in texts] or ["  none"]


# -- markdown --------------------------------------------------------------------------------------


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell or list item."""
    escaped = str(text).replace("\\", "\\\\")
    for char in "|*_`[]<>#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\n", " ")


def _rating_cell(value: int | None) -> str:
    return "not rated" if value is None else str(value)


def _change_cell(row: RatingRow) -> str:
    return "—" if row.change is None else f"{row.change:+d}"


def render_markdown(report: Report) -> str:
    lines = [
        f"# {_md(report.title)}",
        "",
        f"Routine {_md(report.routine)}, {report.minutes} minutes planned. {_md(report.timing)}",
        "",
        "## Safety check",
        "",
    ]
    if report.safety:
        lines += ["| Question | Answer |", "| --- | --- |"]
        lines += [f"| {_md(a.question)} | {_md(a.answer)}" + (f' (heard "{_md(a.heard)}")' if a.heard else "") + " |"
                  for a in report.safety]
    else:
        lines.append("No safety answers recorded.")
    lines += ["", f"## Steps done ({len(report.steps)})", ""]
    if report.steps:
        lines += ["| Time | Where | Technique | Pressure | Duration |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {clock(s.t)} | {_md(s.place)} | {_md(s.technique)}{_md(' — ' + s.note) if s.note else ''} | "
                  f"{_md(s.pressure or '—')} | {duration_text(s.seconds)} |" for s in report.steps]
    else:
        lines.append("No steps were done.")
    lines += ["", "## What changed and why", ""]
    lines += [f"- {clock(c.t)} — **{_md(c.why)}**: {_md(c.what)}" for c in report.changes] or ["Nothing changed."]
    if report.notes:
        lines += ["", "## Noted for next time", "", *(f"- {_md(note)}" for note in report.notes)]
    lines += ["", "## Ratings", ""]
    if report.ratings:
        lines += ["| Measure | Before | After | Change |", "| --- | --- | --- | --- |"]
        lines += [f"| {_md(r.measure)} | {_rating_cell(r.before)} | {_rating_cell(r.after)} | {_change_cell(r)} |"
                  for r in report.ratings]
    else:
        lines.append("No ratings recorded.")
    return "\n".join(lines) + "\n"


# -- html ------------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light dark; }
body { font: 1.125rem/1.6 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.8rem; margin-bottom: .25rem; }
h2 { font-size: 1.35rem; margin-top: 2rem; border-bottom: 2px solid currentColor; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #8888; vertical-align: top; }
th { font-weight: 700; }
td.num { font-variant-numeric: tabular-nums; }
.up { color: #1a7f37; } .down { color: #c62828; }
@media (prefers-color-scheme: dark) { .up { color: #5fd37a; } .down { color: #ff8a80; } }
img { max-width: 100%; height: auto; background: #fff; border-radius: .4rem; }
li { margin: .3rem 0; }
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def ratings_alt_text(report: Report) -> str:
    if not report.ratings:
        return "No ratings recorded."
    return "Chart of the ratings before and after the session, from 1 to 5: " + "; ".join(
        rating_text(r) for r in report.ratings) + "."


def render_html(report: Report, chart_png: bytes | None = None) -> str:
    """A single self-contained page: inline CSS and the ratings chart as an embedded PNG.

    ``chart_png`` defaults to the chart drawn by companion.plot (matplotlib); pass b"" for none."""
    if chart_png is None and report.ratings:
        from companion.plot import ratings_chart_png

        chart_png = ratings_chart_png(report.ratings, report.measure_scales)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_e(report.title)}</h1>",
        f"<p>Routine {_e(report.routine)}, {report.minutes} minutes planned. {_e(report.timing)}</p>",
        *_html_section("ratings", "Ratings before and after", [
            *_html_chart(report, chart_png),
            *_html_table(["Measure", "Before", "After", "Change"], [_html_rating_row(r) for r in report.ratings],
                         "No ratings recorded.", caption="Ratings from 1 to 5 (higher is better)"),
        ]),
        *_html_section("safety", "Safety check", _html_table(
            ["Question", "Answer"], [_html_safety_row(a) for a in report.safety], "No safety answers recorded.")),
        *_html_section("steps", f"Steps done ({len(report.steps)})", _html_table(
            ["Time", "Where", "Technique", "Pressure", "Duration"], [_html_step_row(s) for s in report.steps],
            "No steps were done.")),
        *_html_section("changes", "What changed and why", _html_list(
            f"<strong>{clock(c.t)} — {_e(c.why)}</strong>: {_e(c.what)}" for c in report.changes
        ) if report.changes else ["<p>Nothing changed.</p>"]),
    ]
    if report.notes:
        parts += _html_section("notes", "Noted for next time", _html_list(_e(note) for note in report.notes))
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _html_chart(report: Report, chart_png: bytes | None) -> list[str]:
    if not (report.ratings and chart_png):
        return []
    data = base64.b64encode(chart_png).decode("ascii")
    return [f'<img src="data:image/png;base64,{data}" alt="{_e(ratings_alt_text(report))}">']


def _html_rating_row(r: RatingRow) -> str:
    css = "up" if (r.change or 0) > 0 else "down" if (r.change or 0) < 0 else ""
    return (f'<tr><th scope="row">{_e(r.measure)}</th><td class="num">{_rating_cell(r.before)}</td>'
            f'<td class="num">{_rating_cell(r.after)}</td><td class="num {css}">{_e(_change_cell(r))}</td></tr>')


def _html_safety_row(a: SafetyAnswer) -> str:
    heard = f' <span>(heard “{_e(a.heard)}”)</span>' if a.heard else ""
    return f'<tr><th scope="row">{_e(a.question)}</th><td>{_e(a.answer)}{heard}</td></tr>'


def _html_step_row(s: StepDone) -> str:
    note = f"<br><em>{_e(s.note)}</em>" if s.note else ""
    return (f'<tr><td class="num">{clock(s.t)}</td><th scope="row">{_e(s.place)}</th>'
            f"<td>{_e(s.technique)}{note}</td><td>{_e(s.pressure or '—')}</td>"
            f'<td class="num">{duration_text(s.seconds)}</td></tr>')


def _html_section(id: str, title: str, body: list[str]) -> list[str]:
    """A section of the page, named for screen readers by its heading."""
    return [f'<section aria-labelledby="{id}">', f'<h2 id="{id}">{title}</h2>', *body, "</section>"]


def _html_list(items: Iterable[str]) -> list[str]:
    return ["<ul>", *(f"<li>{item}</li>" for item in items), "</ul>"]


def _html_table(columns: list[str], rows: list[str], if_none: str, caption: str = "") -> list[str]:
    """A table of ``rows`` under a header of ``columns``; the sentence ``if_none`` when there are no rows."""
    if not rows:
        return [f"<p>{if_none}</p>"]
    head = "".join(f'<th scope="col">{column}</th>' for column in columns)
    return ["<table>", *([f"<caption>{caption}</caption>"] if caption else []), f"<thead><tr>{head}</tr></thead>",
            "<tbody>", *rows, "</tbody>", "</table>"]


def render(detail: SessionDetail, fmt: str = "text") -> str:
    """The report of one stored session in ``fmt`` (text, markdown or html)."""
    report = build_report(detail, load_routine_quietly(detail.summary.routine))
    if fmt == "text":
        return render_text(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise UserError(f"unknown report format '{fmt}'; choose {', '.join(FORMATS)}")
