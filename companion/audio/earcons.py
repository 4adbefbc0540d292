"""Short generated tones that say what happened without words (useful with oily hands or low vision).

Soft sine notes with a touch of second harmonic, smooth attack and a release that reaches exactly
zero, so they never click; all peak at PEAK, well below speech, to stay calm.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

RATE = 22050
PEAK = 0.25
_ATTACK_S = 0.012


def step(rate: int = RATE) -> np.ndarray:
    """A new step begins: a soft rising two-note chime (E5, A5) that rings out."""
    return _mix(rate, [(0.0, 659.25, 0.35), (0.14, 880.0, 0.45)])


def paused(rate: int = RATE) -> np.ndarray:
    """The session paused: two falling notes (A4, E4)."""
    return _mix(rate, [(0.0, 440.0, 0.22), (0.16, 329.63, 0.32)])


def understood(rate: int = RATE) -> np.ndarray:
    """A command was understood: one short bright note pair going up quickly (C6, G6)."""
    return _mix(rate, [(0.0, 1046.5, 0.08), (0.06, 1568.0, 0.12)])


def not_understood(rate: int = RATE) -> np.ndarray:
    """Speech was heard but not understood: two low notes on the same pitch ("uh-uh")."""
    return _mix(rate, [(0.0, 293.66, 0.12), (0.17, 277.18, 0.14)])


EARCONS: dict[str, Callable[[int], np.ndarray]] = {
    "step": step,
    "paused": paused,
    "understood": understood,
    "not_understood": not_understood,
}


def earcon(name: str, rate: int = RATE) -> np.ndarray:
    """The earcon called `name` (a key of EARCONS) as float32 mono samples at `rate`."""
    return EARCONS[name](rate)


def _mix(rate: int, notes: list[tuple[float, float, float]]) -> np.ndarray:
    """Notes given as (start s, frequency Hz, length s), summed and scaled to PEAK."""
    length = max(start + duration for start, _, duration in notes)
    out = np.zeros(int(round(length * rate)) + 1, dtype=np.float64)
    for start, freq, duration in notes:
        note = _note(rate, freq, duration)
        offset = int(round(start * rate))
        out[offset : offset + note.size] += note
    return (out * (PEAK / np.max(np.abs(out)))).astype(np.float32)


def _note(rate: int, freq: float, duration: float) -> np.ndarray:
    t = np.arange(int(round(duration * rate))) / rate
    tone = np.sin(2 * np.pi * freq * t) + 0.15 * np.sin(4 * np.pi * freq * t)
    attack = np.minimum(t / _ATTACK_S, 1.0)
    attack = 0.5 - 0.5 * np.cos(np.pi * attack)  # raised cosine: no step at the start
    decay = np.exp(-4.0 * t / duration)
    release = np.cos(0.5 * np.pi * t / duration) ** 2  # reaches zero at the note's end
    return tone * attack * decay * release
