"""Fitting a routine to the length a person chose."""

from __future__ import annotations

import math
from dataclasses import replace

from companion.errors import UserError
from companion.plan.model import Routine, Step

GRAIN = 5.0  # durations are whole multiples of five seconds: easy to say, easy to follow
SHORTEST, LONGEST = 0.75, 1.5  # how far a routine is shrunk or stretched: foot-circulation's 20 minutes, 15 to 30


def minutes_range(routine: Routine) -> tuple[int, int]:
    """The fewest and the most whole minutes ``routine`` can be scaled to: from three quarters to one and a
    half times its own ``minutes``, and never so short that its steps' ``min_duration`` would not fit."""
    floor = sum(s.min_duration for s in routine.steps) / 60
    return max(math.ceil(routine.minutes * SHORTEST), math.ceil(floor)), math.floor(routine.minutes * LONGEST)


def scale_steps(routine: Routine, minutes: float) -> tuple[Step, ...]:
    """The routine's steps with durations scaled so they add up to ``minutes`` (to the nearest grain);
    UserError naming the lengths that work when ``minutes`` is outside ``minutes_range``.

    Steps keep their proportions, none goes below its ``min_duration``: those that would are held at
    their minimum and the rest share what is left."""
    low, high = minutes_range(routine)
    if not low <= minutes <= high:
        raise UserError(f"routine '{routine.name}' can be from {low} to {high} minutes long, not {minutes:g}; "
                        f"choose --minutes from {low} to {high}")
    target = minutes * 60
    steps = routine.steps
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(steps)) if i not in fixed]
        left = target - sum(fixed.values())
        weight = sum(steps[i].duration for i in free)
        scaled = {i: steps[i].duration * left / weight for i in free}
        below = {i: steps[i].min_duration for i, d in scaled.items() if d < steps[i].min_duration}
        if not below:
            break
        fixed.update(below)
    durations = {**fixed, **scaled}
    rounded = [max(steps[i].min_duration, GRAIN * round(durations[i] / GRAIN)) for i in range(len(steps))]
    # Rounding leaves a few grains over or short: settle them on the longest steps, which notice least, a
    # step and its twin on the other foot alike (at 15 minutes the left foot's long strokes took 75 s and
    # the right foot's 70 s); what is less than a pair goes to a step done once (on both feet).
    spare = target - sum(rounded)
    for group in sorted(_twins(steps), key=lambda g: -rounded[g[0]]) * 4:
        change = GRAIN if spare > 0 else -GRAIN
        if abs(spare) >= GRAIN * len(group) and all(rounded[i] + change >= steps[i].min_duration for i in group):
            for i in group:
                rounded[i] += change
            spare -= change * len(group)
    return tuple(replace(s, duration=d) for s, d in zip(steps, rounded))


def _twins(steps: tuple[Step, ...]) -> list[list[int]]:
    """The indices of the steps, a left-foot step with its right-foot twin ("left-warm", "right-warm")."""
    groups: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        groups.setdefault(step.id.removeprefix(f"{step.foot}-"), []).append(i)
    return list(groups.values())
