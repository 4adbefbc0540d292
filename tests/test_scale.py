"""Scaling the routine to the chosen length keeps both feet alike."""

import pytest

from companion.plan.loader import load_routine
from companion.plan.scale import scale_steps


@pytest.mark.parametrize("minutes", range(15, 31))
def test_a_step_lasts_as_long_on_the_right_foot_as_on_the_left(minutes):
    durations = {s.id: s.duration for s in scale_steps(load_routine("foot-circulation"), minutes)}
    assert sum(durations.values()) == minutes * 60
    pairs = [(d, durations["right-" + i.removeprefix("left-")]) for i, d in durations.items() if i.startswith("left-")]
    assert pairs and all(left == right for left, right in pairs)
