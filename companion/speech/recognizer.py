"""The one interface every listening engine implements (pocketsphinx, vosk, whisper, text).

An engine consumes 16 kHz mono 16-bit PCM as it arrives and returns what it recognised; the words are
mapped to intents with the language's phrase table, so every engine shares one matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from companion.session.intents import Intent

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Recognition:
    text: str  # words heard, lowercase; "" when nothing
    intent: Intent | None  # None when what was heard is not a command (rejected)
    confidence: float  # 0..1
    start: float  # seconds since the stream began
    end: float
    partial: bool = False  # an early detection from a partial result (safety words)
    # When it was said, on time.monotonic()'s clock (the listening loop stamps it; None: not known).
    said_from: float | None = None
    said_until: float | None = None


class Recognizer(Protocol):
    name: str
    language: str

    def accept(self, pcm: bytes) -> list[Recognition]:
        """Feed int16 mono PCM at SAMPLE_RATE; return recognitions completed by it (often none)."""
        ...

    def flush(self) -> list[Recognition]:
        """End of stream: return whatever is still pending."""
        ...

    def reset(self) -> None:
        """Forget the current utterance (e.g. after the companion spoke)."""
        ...

    def expect(self, intents: frozenset[str] | None) -> None:
        """Listen only for these intents from the next utterance on (None: every command), as the session's
        Listen action says. Called from the session's thread while the recogniser runs on the listener's."""
        ...
