"""The engine's vocabulary: events it consumes and actions it returns. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from companion.session.intents import Intent


# --- events (what happened) -------------------------------------------------------------------------
@dataclass(frozen=True)
class Tick:
    now: float  # seconds of session time


@dataclass(frozen=True)
class Heard:
    intent: Intent
    now: float


@dataclass(frozen=True)
class EndRequested:
    """Ctrl-C, SIGTERM or a script that ran out: end the session cleanly, ratings still asked unless
    ``ratings`` is False."""

    reason: str
    now: float
    ratings: bool = True


@dataclass(frozen=True)
class DeviceLost:
    what: str  # "microphone" | "speaker"
    now: float


@dataclass(frozen=True)
class DeviceBack:
    what: str
    now: float


@dataclass(frozen=True)
class VoiceChanged:
    """What an AdjustVoice came to, as the voice adapter alone knows it ("Louder.", "That is as loud as I speak.",
    "This is the brisk voice."): said and recorded like any other reply."""

    reply: str
    now: float


Event = Union[Tick, Heard, EndRequested, DeviceLost, DeviceBack, VoiceChanged]


# --- actions (what to do) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    text: str
    kind: str = "announce"  # announce | cue | confirm | question | warning | help


@dataclass(frozen=True)
class Earcon:
    name: str  # step | paused | understood | not_understood


@dataclass(frozen=True)
class StopSpeech:
    """Cut what is being said at once (barge-in)."""


@dataclass(frozen=True)
class AdjustVoice:
    setting: str  # rate | volume | voice
    direction: int  # +1 / -1 (voice: next)


@dataclass(frozen=True)
class Prepare:
    """A hint: this text will be said soon; synthesise it now."""

    text: str


@dataclass(frozen=True)
class Listen:
    """What to listen for from now on: the intents the session acts on (an open question's answers and the
    commands that work while it is open; during the steps every command but answers), or None for all.
    Engines with a grammar narrow it, so that "four" cannot be heard as "yes" while a rating is asked."""

    intents: frozenset[str] | None


@dataclass(frozen=True)
class Record:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


Action = Union[Say, Earcon, StopSpeech, AdjustVoice, Prepare, Listen, Record]
