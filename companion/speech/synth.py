"""The one interface every speaking engine implements (pyttsx3, piper), and the audio it returns.

Engines are opened by name through :func:`open_synthesizer`, once per (engine, voice) in a process:
loading a neural voice takes a third of a second and pyttsx3 allows one engine per process.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from companion.errors import UserError

ENGINES = ("pyttsx3", "piper")


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in -1..1 at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @classmethod
    def silence(cls, seconds: float, rate: int) -> Audio:
        return cls(np.zeros(max(0, round(seconds * rate)), np.float32), rate)

    def __add__(self, other: Audio) -> Audio:
        if other.rate != self.rate:
            raise ValueError(f"cannot join audio at {self.rate} Hz and {other.rate} Hz")
        return Audio(np.concatenate([self.samples, other.samples]).astype(np.float32), self.rate)


class Synthesizer(Protocol):
    engine: str  # "pyttsx3" | "piper"
    voice: str  # the engine's voice id

    def synthesize(self, text: str, rate: float, volume: float) -> Audio:
        """Speak ``text`` at ``rate`` words per minute and ``volume`` (0..1) into trimmed audio."""
        ...


def trim_silence(audio: Audio, threshold: float = 0.004, margin: float = 0.01) -> Audio:
    """Cut leading and trailing quiet (below ``threshold`` of full scale), keeping ``margin`` seconds,
    so speech starts the moment playback starts and sentence pauses are what the profile says."""
    loud = np.flatnonzero(np.abs(audio.samples) > threshold)
    if len(loud) == 0:
        return Audio(np.zeros(0, np.float32), audio.rate)
    keep = round(margin * audio.rate)
    start = max(0, loud[0] - keep)
    end = min(len(audio.samples), loud[-1] + 1 + keep)
    return Audio(audio.samples[start:end], audio.rate)


def apply_volume(samples: np.ndarray, volume: float, peak: float = 0.9) -> np.ndarray:
    """Normalise to ``peak`` then scale by ``volume``: both engines then sound equally loud at the
    same setting, and volume is a plain linear gain the user can hear change in even steps."""
    top = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if top < 1e-6:
        return samples.astype(np.float32)
    return (samples * (peak * volume / top)).astype(np.float32)


_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (ending at . ! ? ; … followed by space, or a line break), trimmed."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


_opened: dict[tuple[str, str], Synthesizer] = {}
_opened_lock = threading.Lock()


def open_synthesizer(engine: str, voice: str) -> Synthesizer:
    """The process's synthesizer for ``engine`` and ``voice``; UserError when it cannot be used."""
    with _opened_lock:
        key = (engine, voice)
        if key not in _opened:
            _opened[key] = _open(engine, voice)
        return _opened[key]


def _open(engine: str, voice: str) -> Synthesizer:
    if engine == "pyttsx3":
        from companion.speech.pyttsx3_engine import Pyttsx3Synthesizer

        return Pyttsx3Synthesizer(voice)
    if engine == "piper":
        from companion.speech.piper_engine import PiperSynthesizer

        return PiperSynthesizer(voice)
    raise UserError(f"unknown speech engine {engine!r}; use one of: {', '.join(ENGINES)}")


def unavailable_reason(engine: str, voice: str) -> str | None:
    """Why ``voice`` of ``engine`` cannot speak here (one line saying what to do), or None if it can.
    Cheap: loads no model."""
    if engine == "pyttsx3":
        from companion.speech import pyttsx3_engine

        return pyttsx3_engine.unavailable_reason(voice)
    if engine == "piper":
        from companion.speech import piper_engine

        return piper_engine.unavailable_reason(voice)
    return f"unknown speech engine {engine!r}; use one of: {', '.join(ENGINES)}"
