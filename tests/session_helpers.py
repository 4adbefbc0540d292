"""Running the engine in tests: a whole session from a script, its events as dicts."""

from __future__ import annotations

from companion.runner import Session, build_engine, recorded, simulate
from companion.script import parse_script
from companion.session.engine import Engine
from companion.session.events import Action
from companion.session.profile import Profile
from companion.speech.phrases import load_phrases

CHECK = "> no\n> no\n> no\n"  # circulation, skin, swelling (then a returning client's sore spots)
SAFE = CHECK + "> no\n"  # ... and the painful spot


class Collector:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.actions: list[tuple[float, Action]] = []

    def __call__(self, t: float, action: Action) -> None:
        self.actions.append((t, action))
        event = recorded(action)
        if event:
            self.events.append({"t": t, "type": event[0], **event[1]})

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    def said(self) -> list[str]:
        return [e["text"] for e in self.of("say")]


def run_script(script: str, minutes: int = 20, routine: str = "foot-circulation", profile: Profile | None = None,
               cleared: bool = False) -> tuple[Engine, Collector]:
    engine = build_engine(routine, minutes, profile, cleared)
    collector = Collector()
    simulate(Session(engine, [collector]), parse_script(script), load_phrases("en"))
    return engine, collector


def step_at(collector: Collector, t: float) -> dict:
    """The step record in force at session time t."""
    return [e for e in collector.of("step") if e["t"] <= t][-1]
