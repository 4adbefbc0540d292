"""The routine model: what a routine file describes, before any session adapts it."""

from __future__ import annotations

from dataclasses import dataclass, field

PRESSURES = ("none", "light", "medium", "firm")  # ordered: "none" is for steps without touch
FEET = ("left", "right", "both")
AREAS = ("toes", "ball", "arch", "heel", "ankle", "top", "sole", "whole")


@dataclass(frozen=True)
class Step:
    id: str
    phase: str
    foot: str  # left | right | both
    area: str  # one of AREAS; "whole" covers every area of that foot
    technique: str  # spoken as is: "fingertip friction in very small circles"
    pressure: str  # one of PRESSURES
    duration: float  # seconds, at the routine's own length
    instruction: str  # spoken when the step starts
    caution: str = ""  # spoken with it every time, even when the instruction is left out to fit a short step
    cues: tuple[str, ...] = ()  # spoken during the step
    min_duration: float = 15.0  # never shortened below this
    optional: bool = False  # may be shortened to keep the session inside its time budget
    focused: bool = False  # point work on a spot: skipped where the area is sore
    needs_no_swelling: bool = False  # pressure strokes the article rules out when there is swelling
    redo_on_resume: bool = False  # done again when an interrupted session resumes after it (a warm-up)
    source: str = ""  # the article's words this step comes from

    @property
    def guidance(self) -> str:
        """What to do, and what never to do."""
        return f"{self.instruction} {self.caution}".strip()

    @property
    def touches(self) -> bool:
        return self.pressure != "none"


@dataclass(frozen=True)
class Measure:
    """A baseline/end measure agreed with the recipient, rated 1 (low label) to 5 (high label)."""

    id: str
    label: str
    low: str
    high: str


@dataclass(frozen=True)
class Routine:
    name: str
    title: str
    minutes: int
    steps: tuple[Step, ...]
    measures: tuple[Measure, ...]
    phases: dict[str, str] = field(default_factory=dict)  # phase id -> spoken title
    source: str = ""

    @property
    def total_seconds(self) -> float:
        return sum(s.duration for s in self.steps)


def covers(step_foot: str, step_area: str, foot: str, area: str) -> bool:
    """Whether a step on (step_foot, step_area) works on the spot (foot, area).

    "both" feet overlap either foot; a "whole"-foot step overlaps every area and vice versa."""
    foot_ok = step_foot == foot or "both" in (step_foot, foot)
    area_ok = step_area == area or "whole" in (step_area, area)
    return foot_ok and area_ok
