"""Wiring: a clock and an input drive the engine; its actions go to outputs (store, screen, speaker).

The same engine runs three ways: ``simulate`` (a script in simulated time), and ``run_live`` with a
real (or sped-up) clock fed by typed text or by the speech recogniser.
"""

from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, TextIO

from companion.plan.loader import load_routine
from companion.plan.scale import scale_steps
from companion.script import Script
from companion.session.engine import REMIND_AFTER_S, Engine, SessionOptions
from companion.session.events import (
    Action, DeviceBack, DeviceLost, Earcon, EndRequested, Event, Heard, Record, Say, Tick, VoiceChanged,
)
from companion.session.intents import Intent
from companion.session.pacing import SpeechPace
from companion.session.profile import Profile
from companion.speech.phrases import PhraseTable, load_phrases

if TYPE_CHECKING:
    from companion.store import Store

TICK = 1.0  # simulated seconds between ticks


class Sink(Protocol):
    def __call__(self, t: float, action: Action) -> None: ...


def build_engine(routine: str, minutes: float | None = None, profile: Profile | None = None,
                 cleared_by_physician: bool = False, lang: str = "en", resume_at: str | None = None,
                 speed: float = 1.0, recorded: bool = True, pace: SpeechPace | None = None) -> Engine:
    """The engine for a session of ``minutes`` (None: the routine's own); ``speed`` is how much faster than
    real time its clock runs (questions still wait for the person as long in real time); ``pace``: how fast
    the voice says the announcements (they are kept inside their steps), None for a session that is read."""
    loaded = load_routine(routine)
    minutes = loaded.minutes if minutes is None else minutes
    options = SessionOptions(minutes=minutes, cleared_by_physician=cleared_by_physician,
                             help_words=load_phrases(lang).help_words, profile=profile or Profile(),
                             resume_at=resume_at, remind_after=REMIND_AFTER_S * speed, recorded=recorded,
                             pace=pace)
    return Engine(loaded, scale_steps(loaded, minutes), options)


def recorded(action: Action) -> tuple[str, dict] | None:
    """The event an action leaves in the session record (and the JSON stream), if any."""
    if isinstance(action, Say):
        return "say", {"text": action.text, "kind": action.kind}
    if isinstance(action, Record):
        return action.type, action.data
    if isinstance(action, Earcon):
        return "earcon", {"name": action.name}
    return None


def understand(table: PhraseTable, text: str, listening: frozenset[str] | None = None) -> Intent:
    """Typed or scripted words → an intent, among the intents ``listening`` for (None: all), as the
    recognisers match them. Words that hold a phrase but no intent ("don't go back", "does that hurt?") become
    the intent "no_command"; words that hold no phrase at all (a typo), "unknown"."""
    intent = table.only(listening).match(text)
    if intent is not None:
        return intent
    return Intent("no_command" if table.holds_phrase(text) else "unknown", text=text)


class Session:
    """An engine and the outputs its actions go to, in order."""

    def __init__(self, engine: Engine, sinks: list[Sink]) -> None:
        self.engine = engine
        self.sinks = sinks

    def start(self, now: float = 0.0) -> None:
        self._emit(now, self.engine.start(now))

    def feed(self, event: Event) -> list[Action]:
        actions = self.engine.handle(event)
        self._emit(event.now, actions)
        return actions

    def _emit(self, now: float, actions: list[Action]) -> None:
        for action in actions:
            for sink in self.sinks:
                sink(now, action)


# --- outputs -------------------------------------------------------------------------------------------------
@dataclass
class JsonSink:
    """One JSON object per line: {"t": seconds, "type": ..., ...} (the schema in the README)."""

    stream: TextIO

    def __call__(self, t: float, action: Action) -> None:
        event = recorded(action)
        if event:
            self.stream.write(json.dumps({"t": round(t, 3), "type": event[0], **event[1]}, ensure_ascii=False) + "\n")
            self.stream.flush()


@dataclass
class PlainSink:
    """One plain line per recorded event, for screen readers and logs; ``said_only``: only what the companion
    says ("07:40 Ease off now."), for a screen reader that should not read out the machine's records too."""

    stream: TextIO
    said_only: bool = False

    def __call__(self, t: float, action: Action) -> None:
        event = recorded(action)
        if event is None or event[0] == "earcon" or (self.said_only and event[0] != "say"):
            return
        kind, data = event
        minutes, seconds = divmod(int(t), 60)
        if kind == "say":
            body = data["text"]
        else:
            body = " ".join(f"{k}={v}" for k, v in data.items() if v is not None)
        line = body if self.said_only else f"{kind}: {body}" if body else kind  # no dangling "resume: "
        self.stream.write(f"{minutes:02d}:{seconds:02d} {line}\n")
        self.stream.flush()


@dataclass
class StoreSink:
    """Every recorded event into the session database as it happens."""

    store: Store
    session_id: int

    def __call__(self, t: float, action: Action) -> None:
        event = recorded(action)
        if event is None:
            return
        self.store.record(self.session_id, t, event[0], event[1])  # an "end" record also ends the session


# --- drivers -----------------------------------------------------------------------------------------------
def simulate(session: Session, script: Script, table: PhraseTable) -> None:
    """Run a whole session in simulated time: a tick a second, scripted words at their times, scripted
    answers to questions in order ("skip" once they run out)."""
    engine = session.engine
    timed = list(script.timed)
    limit = engine.budget * 4 + 3600
    session.start(0.0)
    t = 0.0
    _answer_questions(session, script, table, t)
    while not engine.finished:
        if t > limit:
            session.feed(EndRequested("simulation time limit", t, ratings=False))
            break
        if not timed and engine.paused:
            session.feed(EndRequested("script ended while paused", t))
            _answer_questions(session, script, table, t)
            continue
        t += TICK
        session.feed(Tick(t))
        while timed and timed[0][0] <= t:
            _, words = timed.pop(0)
            session.feed(Heard(understand(table, words, engine.listening), t))
        _answer_questions(session, script, table, t)


def _answer_questions(session: Session, script: Script, table: PhraseTable, t: float) -> None:
    engine = session.engine
    while engine.asking is not None and not engine.paused and not engine.finished:
        words = script.answers.popleft() if script.answers else "skip"
        session.feed(Heard(understand(table, words, engine.listening), t))


class Clock:
    """Session time in seconds since start, running ``speed`` times faster than the wall clock."""

    def __init__(self, speed: float = 1.0, source: Callable[[], float] = time.monotonic) -> None:
        self.speed, self.source, self.start = speed, source, source()

    def __call__(self) -> float:
        return (self.source() - self.start) * self.speed


def _catch_up(session: Session, now: float) -> None:
    """While steps run, feed the ticks due before ``now``: one at the end of each step and at least one every
    TICK of session time. A sped-up clock moves many seconds between two wall-clock ticks (30 at --speed
    300); a step begun in that gap would be recorded at the next tick, late, and the one before it long.
    (During a question or a pause only reminders are timed: no ticks are made up then.)"""
    engine = session.engine
    while engine.running and (current := engine.current) is not None:
        left = current.duration - engine.elapsed
        due = engine.now + (min(TICK, left) if left > 0 else TICK)
        if due >= now:
            return
        session.feed(Tick(due))


def run_live(session: Session, clock: Callable[[], float], inbox: queue.SimpleQueue, table: PhraseTable,
             tick: float = 0.1) -> None:
    """Drive the session in real time until it ends. The inbox carries ("text", words), ("intent", Intent),
    ("lost", what), ("back", what), ("voice", reply) and ("end", reason) from input threads, the voice and
    signal handlers, and
    ("input ended",) when nobody can answer any more (typed input piped in and used up): the steps still
    run, but a question then ends the session, which would otherwise wait for ever."""
    engine = session.engine
    session.start(clock())
    answerable = True
    while not engine.finished:
        if not answerable and engine.asking is not None:
            session.feed(EndRequested("typed input ended", clock(), ratings=False))
            break
        try:
            item = inbox.get(timeout=tick)
        except queue.Empty:
            now = clock()
            _catch_up(session, now)
            session.feed(Tick(now))
            continue
        now = clock()
        _catch_up(session, now)
        kind = item[0]
        if kind == "input ended":
            answerable = False
        elif kind == "text":
            session.feed(Heard(understand(table, item[1], engine.listening), now))
        elif kind == "intent":
            session.feed(Heard(item[1], now))
        elif kind == "lost":
            session.feed(DeviceLost(item[1], now))
        elif kind == "back":
            session.feed(DeviceBack(item[1], now))
        elif kind == "voice":
            session.feed(VoiceChanged(item[1], now))
        elif kind == "end":
            session.feed(EndRequested(item[1], now, ratings=item[2] if len(item) > 2 else True))
