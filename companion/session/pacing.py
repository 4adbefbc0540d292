"""How long the voice takes to say something, estimated from the text: pure arithmetic, no synthesis.

The engine uses it to keep a step's announcement inside the step (see ``Engine._announcement``). Fitted to
the voices in voices/ (espeak-ng and Piper, 92 sentences of the routine): a word takes about as long as 5.3
letters, and a comma as long as a word; that put every sentence within two words of its real length
(it was seven, counting words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LETTERS_PER_WORD = 5.3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class SpeechPace:
    """How the announcements are spoken: ``words_per_minute`` (the voice's rate as the speaker uses it for
    announcements) and the silence between two sentences."""

    words_per_minute: float
    sentence_pause: float = 0.0


def spoken_seconds(text: str, pace: SpeechPace) -> float:
    """About how long ``text`` takes to say at ``pace``, the pauses between its sentences included."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    words = sum(sum(c.isalpha() for c in s) / LETTERS_PER_WORD + s.count(",") for s in sentences)
    return words * 60.0 / pace.words_per_minute + pace.sentence_pause * max(0, len(sentences) - 1)
