"""The closing summary, as said: each measure before → after, then the progress since the last session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from companion.plan.model import Measure
from companion.session import wording

Ratings = Mapping[str, int | None]  # measure id -> 1..5, or None when not rated


def before_and_after(measures: Sequence[Measure], before: Ratings, after: Ratings) -> list[str]:
    """One sentence a measure ("Comfort went from three to four, toward very comfortable."), or one for all
    when every rating after the massage was left out."""
    if any(v is not None for v in before.values()) and all(v is None for v in after.values()):
        return ["The ratings after the massage were left out, so there is nothing to compare."]
    lines = []
    for measure in measures:
        first, last = before.get(measure.id), after.get(measure.id)
        label = measure.label.capitalize()
        if first is None and last is None:
            continue
        if first is None or last is None:
            rated, when = (first, "before") if last is None else (last, "after")
            lines.append(f"{label} was {wording.number_words(rated)} {when}; "  # type: ignore[arg-type]
                         f"not rated {'after' if when == 'before' else 'before'}.")
        elif first == last:
            lines.append(f"{label} stayed at {wording.number_words(first)}.")
        else:  # which end it moved toward: "swelling went from two to four" alone sounds worse
            toward = measure.high if last > first else measure.low
            lines.append(f"{label} went from {wording.number_words(first)} to {wording.number_words(last)}, "
                         f"toward {toward}.")
    return lines


def since_last_time(measures: Sequence[Measure], last_session: Ratings, after: Ratings) -> list[str]:
    """Progress across sessions, heard (not only in the history): today's end ratings against the last
    session's; nothing when there is nothing to compare."""
    both = [m for m in measures if last_session.get(m.id) is not None and after.get(m.id) is not None]
    if not both:
        return []
    changed = [f"{m.label} {wording.number_words(last_session[m.id])} then, "  # type: ignore[arg-type]
               f"{wording.number_words(after[m.id])} now" for m in both  # type: ignore[arg-type]
               if after[m.id] != last_session[m.id]]
    if not changed:
        return ["The same as at the end of last session."]
    return [f"Since the end of last session: {'; '.join(changed)}."]
