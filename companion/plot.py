"""Charts of the ratings (1..5) as PNG bytes, drawn with matplotlib's Agg renderer (no display needed).

Before and after are told apart by shape and line as well as by colour (hollow circles on a dashed
line before, filled diamonds on a solid line after), so the charts read in grey and for colour-blind
eyes. Colours are the Okabe-Ito blue and vermillion.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import datetime

from matplotlib.figure import Figure

from companion.report import RatingRow
from companion.store import SessionSummary

BEFORE_COLOUR = "#0072B2"
AFTER_COLOUR = "#D55E00"
BEFORE_STYLE = {"color": BEFORE_COLOUR, "marker": "o", "markerfacecolor": "white", "markeredgewidth": 2,
                "markersize": 9, "linestyle": "--", "linewidth": 1.8, "label": "before the session"}
AFTER_STYLE = {"color": AFTER_COLOUR, "marker": "D", "markersize": 8, "linestyle": "-", "linewidth": 2.4,
               "label": "after the session"}
SCALE = range(1, 6)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, facecolor="white")
    return buffer.getvalue()


def _scale_labels(scale: tuple[str, str] | None) -> list[str]:
    """'1 cold', '2', '3', '4', '5 warm' (the ends in words when the routine names them)."""
    labels = [str(n) for n in SCALE]
    if scale:
        labels[0], labels[-1] = f"1 {scale[0]}", f"5 {scale[1]}"
    return labels


def ratings_chart_png(rows: Sequence[RatingRow], scales: dict[str, tuple[str, str]] | None = None) -> bytes:
    """One session: each measure a row, from its rating before (hollow circle) to after (filled diamond)."""
    scales = scales or {}
    figure = Figure(figsize=(7.5, 0.9 * len(rows) + 1.6), layout="constrained")
    axes = figure.add_subplot()
    names = [row.measure for row in rows]
    ys = list(range(len(rows)))[::-1]
    for y, row in zip(ys, rows):
        if row.before is not None and row.after is not None and row.before != row.after:
            axes.annotate("", xy=(row.after, y), xytext=(row.before, y),
                          arrowprops={"arrowstyle": "-|>", "color": "#555555", "linewidth": 1.5,
                                      "shrinkA": 7, "shrinkB": 7, "mutation_scale": 16})
    before = [(row.before, y) for y, row in zip(ys, rows) if row.before is not None]
    after = [(row.after, y) for y, row in zip(ys, rows) if row.after is not None]
    common = {"linestyle": "none"}
    if before:
        axes.plot(*zip(*before), **{**BEFORE_STYLE, **common, "markersize": 12})
    if after:
        axes.plot(*zip(*after), **{**AFTER_STYLE, **common, "markersize": 11})
    axes.set_yticks(ys, [name.capitalize() for name in names], fontsize=12)
    axes.set_xticks(list(SCALE), [str(n) for n in SCALE], fontsize=12)
    axes.set_xlim(0.6, 5.4)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlabel("rating: 1 worst, 5 best", fontsize=11)
    axes.grid(axis="x", color="#dddddd")
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_title("Ratings before and after the session", fontsize=14, loc="left")
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncols=2, frameon=False, fontsize=11)
    return _png(figure)


def history_chart_png(summaries: Sequence[SessionSummary], labels: dict[str, str] | None = None,
                      scales: dict[str, tuple[str, str]] | None = None, order: Sequence[str] = ()) -> bytes:
    """Small multiples, one panel per measure: before and after, session by session.

    ``labels`` maps a measure id to its name, ``scales`` a measure id to what 1 and 5 mean, ``order``
    the measures' order (others follow alphabetically)."""
    labels, scales = labels or {}, scales or {}
    measures = sorted({r.measure for s in summaries for r in s.ratings},
                      key=lambda m: (order.index(m) if m in order else len(order), m))
    if not measures:
        raise ValueError("no ratings to plot")
    columns = 2 if len(measures) > 1 else 1
    rows = math.ceil(len(measures) / columns)
    figure = Figure(figsize=(6.2 * columns, 3.6 * rows + 0.9), layout="constrained")
    client = summaries[0].client if len({s.client for s in summaries}) == 1 else "everyone"
    figure.suptitle(f"Ratings before and after each session: {client}", fontsize=15, x=0.01, ha="left")
    xs = list(range(1, len(summaries) + 1))
    ticks = xs[:: max(1, math.ceil(len(xs) / 8))]
    tick_labels = [_session_label(summaries[x - 1]) for x in ticks]
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for axes in grid.flat[len(measures):]:
        axes.set_visible(False)
    for axes, measure in zip(grid.flat, measures):
        by_session = [{r.measure: r for r in s.ratings}.get(measure) for s in summaries]
        befores = [r.before if r and r.before is not None else math.nan for r in by_session]
        afters = [r.after if r and r.after is not None else math.nan for r in by_session]
        axes.plot(xs, befores, **BEFORE_STYLE)
        axes.plot(xs, afters, **AFTER_STYLE)
        axes.set_title(labels.get(measure, measure).capitalize(), fontsize=13, loc="left", fontweight="bold")
        axes.set_ylim(0.6, 5.4)
        axes.set_yticks(list(SCALE), _scale_labels(scales.get(measure)), fontsize=10)
        axes.set_xlim(0.5, len(xs) + 0.5)
        axes.set_xticks(ticks, tick_labels, fontsize=9)
        axes.tick_params(axis="x", labelbottom=True)
        axes.grid(axis="y", color="#dddddd")
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    handles, names = grid.flat[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside upper right", ncols=2, frameon=False, fontsize=11)
    return _png(figure)


def _session_label(summary: SessionSummary) -> str:
    """'#3\\n2025-03-01' (the session number, and its local date)."""
    try:
        day = datetime.fromisoformat(summary.started_at).astimezone().strftime("%Y-%m-%d")
    except ValueError:
        day = "?"
    return f"#{summary.id}\n{day}"
