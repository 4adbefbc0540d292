"""Adapting the rest of a session's plan: pure functions over the list of planned steps.

Each function changes the plan in place and returns the changes as plain dicts, which the engine
records (``plan`` events) and tells the person about.
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.plan.model import PRESSURES, Step, covers

Change = dict[str, object]


@dataclass
class PlannedStep:
    step: Step
    duration: float
    pressure: str
    skipped: str | None = None  # why it will not be done, once it is skipped
    spent: float = 0.0  # the time it took before it was left out while under way

    @property
    def active(self) -> bool:
        return self.skipped is None


def plan_of(steps: tuple[Step, ...]) -> list[PlannedStep]:
    return [PlannedStep(s, s.duration, s.pressure) for s in steps]


def total(plan: list[PlannedStep]) -> float:
    """The session's length as planned now: the steps still to be done, and the time the ones left out
    while under way took."""
    return sum(p.duration if p.active else p.spent for p in plan)


def skip(planned: PlannedStep, reason: str) -> Change:
    planned.skipped = reason
    return {"change": "skip", "step": planned.step.id, "reason": reason}


def _set_pressure(planned: PlannedStep, pressure: str, reason: str) -> Change | None:
    if planned.pressure == pressure:
        return None
    change = {"change": "pressure", "step": planned.step.id, "from": planned.pressure, "to": pressure, "reason": reason}
    planned.pressure = pressure
    return change


def _remaining(plan: list[PlannedStep], start: int, foot: str, area: str) -> list[PlannedStep]:
    return [p for p in plan[start:] if p.active and p.step.touches and covers(p.step.foot, p.step.area, foot, area)]


def all_light(plan: list[PlannedStep], reason: str) -> list[Change]:
    return [c for p in plan if p.active and p.step.touches if (c := _set_pressure(p, "light", reason))]


def for_swelling(plan: list[PlannedStep], reason: str) -> list[Change]:
    """Swelling: no toe-to-ankle pressure strokes, and light pressure throughout."""
    changes = [skip(p, reason) for p in plan if p.active and p.step.needs_no_swelling]
    return changes + all_light(plan, reason)


def lighten(planned: PlannedStep, reason: str) -> list[Change]:
    """One step at light pressure (a step done again on a spot that became sore since)."""
    change = _set_pressure(planned, "light", reason) if planned.step.touches else None
    return [change] if change else []


def soften(plan: list[PlannedStep], start: int, foot: str, area: str, reason: str) -> list[Change]:
    """A sore spot: its remaining pressure work becomes light and its focused point work is skipped."""
    changes: list[Change] = []
    for p in _remaining(plan, start, foot, area):
        if p.step.focused and (p.step.area == area or area == "whole"):
            changes.append(skip(p, reason))
        elif change := _set_pressure(p, "light", reason):
            changes.append(change)
    return changes


def skip_area(plan: list[PlannedStep], start: int, foot: str, area: str, reason: str) -> list[Change]:
    """A spot that hurt twice: every remaining step working on it is skipped."""
    return [skip(p, reason) for p in _remaining(plan, start, foot, area) if p.step.area == area or area == "whole"]


def change_pressure(
    plan: list[PlannedStep], start: int, foot: str, area: str, direction: int, reason: str,
    protected: frozenset[tuple[str, str]] = frozenset(),
) -> list[Change]:
    """One pressure level up (+1) or down (-1), between light and firm, for the remaining steps on the same
    area of the same foot. Pressure never rises on a step that works on a ``protected`` (sore) spot."""
    changes: list[Change] = []
    for p in _remaining(plan, start, foot, area):
        if p.step.area != area:
            continue
        if direction > 0 and any(covers(p.step.foot, p.step.area, f, a) for f, a in protected):
            continue
        level = PRESSURES.index(p.pressure) + direction
        new = PRESSURES[min(max(level, 1), len(PRESSURES) - 1)]
        if change := _set_pressure(p, new, reason):
            changes.append(change)
    return changes


def set_pressure(
    plan: list[PlannedStep], start: int, foot: str, area: str, pressure: str, reason: str,
    protected: frozenset[tuple[str, str]] = frozenset(),
) -> list[Change]:
    """A remembered preference: the remaining work on exactly (foot, area) at ``pressure`` (never firmer on a
    protected spot)."""
    changes: list[Change] = []
    for p in _remaining(plan, start, foot, area):
        raising = PRESSURES.index(pressure) > PRESSURES.index(p.pressure)
        if p.step.area != area or (raising and any(covers(p.step.foot, p.step.area, f, a) for f, a in protected)):
            continue
        if change := _set_pressure(p, pressure, reason):
            changes.append(change)
    return changes


def extend(plan: list[PlannedStep], index: int, seconds: float, budget: float, name: str) -> list[Change]:
    """Add ``seconds`` to step ``index`` and win the time back from later optional steps (what cannot be won
    back is the overrun the person asked for). ``name``: the step as the reasons say it, in words (a report
    reads them: "the palm warming on your left foot", not its id)."""
    current = plan[index]
    current.duration += seconds
    changes: list[Change] = [{"change": "extend", "step": current.step.id, "seconds": seconds, "reason": "asked for more time"}]
    need = min(seconds, max(0.0, total(plan) - budget))  # an earlier overrun was already accounted for
    return changes + win_back(plan, index, need, f"to stay on time after more time for {name}")


def win_back(plan: list[PlannedStep], index: int, seconds: float, reason: str) -> list[Change]:
    """Shorten optional steps after ``index`` (the latest first, never below their minimum) by up to
    ``seconds`` in all."""
    changes: list[Change] = []
    for p in reversed(plan[index + 1 :]):
        if seconds <= 0:
            break
        take = min(seconds, p.duration - p.step.min_duration) if p.active and p.step.optional else 0
        if take > 0:
            p.duration -= take
            seconds -= take
            changes.append({"change": "shorten", "step": p.step.id, "seconds": take, "reason": reason})
    return changes


def shorten(plan: list[PlannedStep], index: int, seconds: float, elapsed: float, budget: float,
            name: str) -> list[Change]:
    """Take up to ``seconds`` off step ``index`` (in whole 5 s, keeping at least five seconds still to come),
    and give that time back to later steps shortened before to stay on time, as far as ``budget`` allows.
    ``name``: the step as the reasons say it (see extend)."""
    current = plan[index]
    take = max(0.0, 5 * ((min(seconds, current.duration - elapsed - 5)) // 5))
    if take <= 0:
        return []
    current.duration -= take
    return [{"change": "shorten", "step": current.step.id, "seconds": take, "reason": "asked for less time"}] + \
        give_back(plan, index, budget, f"time given back after less time for {name}")


def give_back(plan: list[PlannedStep], index: int, budget: float, reason: str) -> list[Change]:
    """Lengthen the steps after ``index`` that were shortened to stay on time (the earliest first, back to
    their planned length) as far as ``budget`` allows: time freed by "less time" or "skip"."""
    changes: list[Change] = []
    room = budget - total(plan)
    for p in plan[index + 1 :]:
        add = min(room, p.step.duration - p.duration) if p.active else 0
        if add > 0:
            p.duration += add
            room -= add
            changes.append({"change": "extend", "step": p.step.id, "seconds": add, "reason": reason})
    return changes
