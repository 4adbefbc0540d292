"""The measures sessions were rated on, in their routine's order and by the names the report and the spoken
summary use ("warmth of the feet", then "skin colour"), for the history and the exports."""

from __future__ import annotations

from collections.abc import Iterable

from companion.errors import UserError
from companion.plan.model import Measure, Routine
from companion.store import Rating, SessionSummary


def load_routine_quietly(name: str) -> Routine | None:
    """The routine a session used, if it can still be loaded (it may have been renamed or deleted)."""
    from companion.plan.loader import load_routine

    try:
        return load_routine(name)
    except UserError:
        return None


def session_measures(summaries: Iterable[SessionSummary]) -> dict[str, Measure]:
    """The measures of the routines the sessions used (those that can still be loaded), by id, in each
    routine's order, the routine first used first."""
    return {m.id: m for name in dict.fromkeys(s.routine for s in summaries)
            if (routine := load_routine_quietly(name)) for m in routine.measures}


def in_order(ids: Iterable[str], measures: dict[str, Measure]) -> list[str]:
    """Measure ids in the routines' order; one no routine knows any more comes last, by its id."""
    order = list(measures)
    return sorted(set(ids), key=lambda m: (order.index(m) if m in order else len(order), m))


def label(measure: str, measures: dict[str, Measure]) -> str:
    """A measure's name ("warmth of the feet"); its id when no routine knows it any more."""
    return measures[measure].label if measure in measures else measure


def named_ratings(ratings: Iterable[Rating], measures: dict[str, Measure]) -> list[Rating]:
    """``ratings`` in the routines' order, each named by its label."""
    by_id = {r.measure: r for r in ratings}
    return [Rating(label(m, measures), by_id[m].before, by_id[m].after) for m in in_order(by_id, measures)]
