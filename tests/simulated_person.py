"""A simulated person for end-to-end voice tests: hears the companion, answers it out loud.

It listens to the companion's speaker (``ears.monitor`` of the virtual audio bus), cuts what it hears
into utterances at silences, transcribes each with faster-whisper tiny.en (the announcements are English
in every language), and speaks its replies with espeak-ng into the companion's microphone (the ``mouth``
sink), padded and over a quiet-room noise floor. It answers questions only once the companion has
fallen silent (as a person would, and as the companion's echo gate expects), and barges in with safety
words ("pause") mid-sentence when its script says so.

What it does is a :class:`Script`: standing answers to the companion's questions, and ordered beats
(hear this → say that). Everything it heard and said is kept with monotonic timestamps, and both
devices are recorded whole, for the test's assertions.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from speech_fixtures import speech_wav

RATE = 16000
FRAME = 320  # 20 ms
LOUD = 10 ** (-50 / 20)  # RMS of a frame that counts as sound on the speaker (it is digital silence otherwise)
SPEECH_LOUD = 10 ** (-40 / 20)  # RMS of a frame of the person's speech (over its -60 dBFS noise floor)
UTTERANCE_GAP = 0.35  # seconds of silence that end an utterance (sentences are ~0.6 s apart)
SHORTEST_SPEECH = 0.35  # shorter sounds are earcons: not transcribed
QUIET_BEFORE_REPLY = 0.6  # a person waits for the companion to fall silent before answering
ANSWER_WITHIN = 5.0  # seconds: an answer not given this long after the question was heard is not given


# --- recording a device ------------------------------------------------------------------------------


class DeviceRecording:
    """Records a PulseAudio source with parecord from now on, and maps samples to time.monotonic()."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._process = subprocess.Popen(
            ["parecord", "--raw", "--format=float32le", "--channels=1", f"--rate={RATE}", "--latency-msec=10",
             f"--device={device}"], stdout=subprocess.PIPE)
        self._data = bytearray()
        self._arrivals: list[tuple[float, int]] = []  # (monotonic time received, samples so far)
        self._lock = threading.Lock()
        self._first = threading.Event()
        self._reader = threading.Thread(target=self._read, name=f"record-{device}", daemon=True)
        self._reader.start()
        if not self._first.wait(10):
            self.stop()
            raise RuntimeError(f"parecord on {device} delivered nothing: is the audio bus running?")

    def _read(self) -> None:
        assert self._process.stdout is not None
        while chunk := self._process.stdout.read1(4096):
            with self._lock:
                self._data += chunk
                self._arrivals.append((time.monotonic(), len(self._data) // 4))
            self._first.set()

    def size(self) -> int:
        with self._lock:
            return len(self._data) // 4

    def samples(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        with self._lock:
            end = len(self._data) // 4 if stop is None else stop
            return np.frombuffer(bytes(self._data[start * 4 : end * 4]), dtype="<f4").copy()

    def time_of(self, sample: int) -> float:
        """When ``sample`` was captured (monotonic clock), from the arrival of the chunk that carried it."""
        with self._lock:
            arrivals = list(self._arrivals)
        later = [received - (total - sample) / RATE for received, total in arrivals if total > sample]
        if later:
            return min(later)
        received, total = arrivals[-1]
        return received + (sample - total) / RATE

    def sample_at(self, moment: float) -> int:
        """The sample captured at ``moment`` (monotonic clock), clipped to the recording."""
        with self._lock:
            received, total = self._arrivals[-1]
        return int(min(max(0, total - (received - moment) * RATE), total))

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._reader.join(timeout=10)


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """RMS level of each 20 ms frame."""
    n = samples.size // FRAME
    return np.sqrt(np.mean(samples[: n * FRAME].reshape(n, FRAME) ** 2, axis=1)) if n else np.zeros(0)


# --- what was heard and said --------------------------------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """One utterance of the companion, as the person heard it (monotonic start and end of the sound)."""

    start: float
    end: float
    text: str  # normalised: lowercase, no punctuation


@dataclass(frozen=True)
class Said:
    """One utterance of the person: the words, the intent the companion should take from them, and when the
    words were on the microphone (monotonic, padding excluded)."""

    words: str
    intent: str
    value: int | str | None
    start: float
    end: float


@dataclass(frozen=True)
class Line:
    """Something the person says: its words and the intent (and value) they mean."""

    words: str
    intent: str
    value: int | str | None = None


@dataclass
class Beat:
    """Once ``trigger`` (a regular expression) is heard, say ``line``: at once if ``barge_in``, otherwise
    when the companion is silent, and not sooner than ``delay`` seconds after the previous beat was said.
    ``ack`` is what the companion says when it obeyed; without it the person says the line again."""

    trigger: str
    line: Line
    ack: str
    barge_in: bool = False
    delay: float = 0.0


@dataclass
class Script:
    """Standing answers (question pattern → line; patterns for the end-of-session ratings apply only
    once ``closing`` has been heard), beats that happen once each, in order, and what the person says
    to get going again when the companion paused without being asked (``unpause``: pattern, line)."""

    answers: list[tuple[str, Line]]
    closing: str
    closing_answers: list[tuple[str, Line]]
    beats: list[Beat] = field(default_factory=list)
    unpause: tuple[str, Line] | None = None


@dataclass(frozen=True)
class Phrasebook:
    """The person's words in one language, and the espeak-ng voice (and words a minute) that says them."""

    voice: str
    no: Line
    yes: Line
    baseline: Line
    final: Line
    pause: Line
    resume: Line
    where: Line
    more_pressure: Line
    pain: Line
    foot: dict[str, Line] = field(default_factory=dict)
    area: dict[str, Line] = field(default_factory=dict)
    speed: int = 160


ENGLISH = Phrasebook(
    voice="en-us", no=Line("no", "no"), yes=Line("yes", "yes"), baseline=Line("three", "number", 3),
    final=Line("four", "number", 4), pause=Line("pause", "pause"), resume=Line("resume", "resume"),
    where=Line("where am I", "where"), more_pressure=Line("more pressure here", "more_pressure"),
    pain=Line("pain", "pain"),
    foot={"left": Line("left", "foot", "left"), "right": Line("right", "foot", "right")},
    area={"toes": Line("toes", "area", "toes"), "arch": Line("arch", "area", "arch")},
)
# A voice, a pace and words at which the Korean vosk model hears espeak-ng's rough Korean right (measured
# offline on every line: tests/test_recognition_vosk.py): its female variant at 130 words a minute;
# 아니요 rather than 아니 (heard as 아프다); 넷 and 다섯 for the ratings (its 셋, three, is heard as "잠깐 다시",
# 둘, two, as 도움말).
KOREAN = Phrasebook(
    voice="ko+f3", speed=130, no=Line("아니요", "no"), yes=Line("네", "yes"), baseline=Line("넷", "number", 4),
    final=Line("다섯", "number", 5), pause=Line("멈춰", "pause"), resume=Line("계속해", "resume"),
    where=Line("어디", "where"), more_pressure=Line("더 세게", "more_pressure"), pain=Line("아프다", "pain"),
    foot={"left": Line("왼쪽", "foot", "left"), "right": Line("오른쪽", "foot", "right")},
    area={"toes": Line("발가락", "area", "toes"), "heel": Line("뒤꿈치", "area", "heel")},
)


def massage_script(book: Phrasebook, sore_spot: tuple[str, str] | None = None, pause_for: float = 4.0,
                   talk: bool = True) -> Script:
    """The person of the end-to-end test: "no" to every safety question (or a sore ``sore_spot`` = (foot,
    area)), "three" for every baseline, "pause" in the middle of the first step's announcement and "resume"
    ``pause_for`` seconds later, then (when ``talk``) "where am I" and "more pressure here" during that
    stroke, "pain" during the heel work, and "four" for every end-of-session rating."""
    spot = [(r"which foot", book.foot[sore_spot[0]]), (r"which area", book.area[sore_spot[1]])] if sore_spot else []
    answers = [
        (r"circulation|blood clot|diabetes", book.no),
        # not "wound" alone: tiny.en once heard "say resume when you are ready" as "same with wound you are
        # ready", and the person answered "no" instead of saying resume
        (r"open wound|skin condition|infection", book.no),
        (r"swelling|dwelling|feet or ankles", book.no),
        (r"painful|heel spur", book.yes if sore_spot else book.no),
        *spot,
        (r"rate the (warmth|comfort)", book.baseline),
    ]
    # Triggers are loose: tiny.en hears espeak's "Now the left foot." as "the outer left foot", "Focused" as "focus".
    beats = [Beat(r"(the|outer|upper) left foot|\bstrokes?\b", book.pause, ack=r"paused", barge_in=True),
             Beat(r"\bpaused\b|say re|when you are ready", book.resume, ack=r"resum", delay=pause_for)]
    if talk:
        beats += [Beat(r"resum|left in th", book.where, ack=r"left in th"),
                  Beat(r"left in th|long strokes", book.more_pressure, ack=r"firmer|pressure on|keep it light")]
    beats.append(Beat(r"focus", book.pain, ack=r"ease off|heel light|point work", barge_in=True))
    return Script(answers=answers, closing=r"massage is complete|stop the massage|rest the feet",
                  closing_answers=[(r"\b(warm|comfort)\w*$", book.final)], beats=beats,
                  unpause=(r"say re\w* when you are ready", book.resume))


# --- hearing -----------------------------------------------------------------------------------------


# What a person who has had this massage before expects to hear: the prompt steers tiny.en's spelling
# (without it, espeak's "swelling" came out as "dwelling" and "a painful spot" as "a painful part").
CONTEXT = ("Safety check: circulation disorder, blood clot, diabetes, open wound, skin condition, infection, "
           "swelling in the feet or ankles, a painful spot such as a heel spur. Rate the warmth, the comfort. "
           "Now the left foot. Long strokes, small circles around the heel, broad circles. Paused. Resuming. "
           "Halfway. Ten seconds left. Firmer pressure. Ease off now. The massage is complete.")


def whisper_transcriber(prompt: str = CONTEXT) -> Callable[[np.ndarray], str]:
    """faster-whisper tiny.en, loaded the way the companion loads it (offline, from an installed package)."""
    from companion.speech.whisper_engine import find_model, load_model

    model = load_model(find_model())

    def transcribe(audio: np.ndarray) -> str:
        segments, _ = model.transcribe(audio.astype(np.float32), language="en", beam_size=1, initial_prompt=prompt,
                                       without_timestamps=True, condition_on_previous_text=False, temperature=0.0)
        return " ".join(s.text.strip() for s in segments)

    return transcribe


def normalise(text: str) -> str:
    text = re.sub(r"[^\w\s]", " ", text.lower().replace("'", ""))
    return " ".join(text.split())


class Utterances:
    """Cuts a growing recording into sounds separated by at least UTTERANCE_GAP of silence."""

    def __init__(self) -> None:
        self.frame = 0  # next frame to look at
        self.start: int | None = None  # frame where the current sound began
        self.last_loud = -1  # last loud frame

    def feed(self, levels: np.ndarray) -> list[tuple[int, int]]:
        """Levels of the frames from ``self.frame`` on; returns the (start, end) frames of sounds that ended."""
        done = []
        gap = round(UTTERANCE_GAP * RATE / FRAME)
        for level in levels:
            if level > LOUD:
                if self.start is None:
                    self.start = self.frame
                self.last_loud = self.frame
            elif self.start is not None and self.frame - self.last_loud >= gap:
                done.append((self.start, self.last_loud + 1))
                self.start = None
            self.frame += 1
        return done


# --- the person ----------------------------------------------------------------------------------------


class RoomNoise:
    """A quiet room on the microphone: white noise at ``dbfs`` played into ``mouth`` without a break, so the
    companion's voice detectors hear a noise floor between the person's words, not digital silence."""

    def __init__(self, dbfs: float = -60.0) -> None:
        self._process = subprocess.Popen(
            ["pacat", "--playback", "--device=mouth", "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--latency-msec=100"], stdin=subprocess.PIPE)
        self._level = 10 ** (dbfs / 20) * 32768
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._play, name="room-noise", daemon=True)
        self._thread.start()

    def _play(self) -> None:
        assert self._process.stdin is not None
        rng = np.random.default_rng(7)
        while not self._stopping.is_set():
            block = (rng.standard_normal(RATE // 10) * self._level).astype("<i2").tobytes()
            try:
                self._process.stdin.write(block)  # blocks while pacat's buffer is full: paced in real time
            except (BrokenPipeError, ValueError):
                return

    def stop(self) -> None:
        self._stopping.set()
        self._process.terminate()
        self._process.wait(timeout=10)
        self._thread.join(timeout=5)


@dataclass
class _Awaiting:
    """A line said, waiting for the companion to show it was understood."""

    line: Line
    ack: str | None  # None: any words of the companion will do (the next question, "sorry, ...")
    said_end: float
    tries: int = 1


class SimulatedPerson:
    """Runs a :class:`Script` on its own thread between :meth:`start` and :meth:`stop`.

    Like a person, it says a line again when the companion does not react to it within ``patience``
    seconds (at most twice again); every repetition is kept in ``repeated``, so a test can tell a
    companion that obeys from one that obeys the second time."""

    def __init__(self, script: Script, book: Phrasebook, transcribe: Callable[[np.ndarray], str],
                 workdir: Path, log: Callable[[str], None] = lambda line: None, patience: float = 10.0) -> None:
        self.script = script
        self.book = book
        self.transcribe = transcribe
        self.workdir = Path(workdir)
        self.log = log
        self.patience = patience
        self.heard: list[Heard] = []
        self.said: list[Said] = []
        self.repeated: list[Said] = []
        self.ears: DeviceRecording | None = None
        self.mouth: DeviceRecording | None = None
        self.failure: BaseException | None = None
        self._noise: RoomNoise | None = None
        self._closing = False
        self._beat = 0  # beats done
        self._last_beat_end = float("-inf")
        self._pending: tuple[Line, float, Beat | None] | None = None  # (line, not before, its beat)
        self._awaiting: _Awaiting | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated-person", daemon=True)
        self._cut = Utterances()
        self._clips: dict[str, Path] = {}

    def start(self) -> SimulatedPerson:
        self._noise = RoomNoise()
        self.ears = DeviceRecording("ears.monitor")
        self.mouth = DeviceRecording("mouth.monitor")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
        for part in (self.ears, self.mouth, self._noise):
            if part is not None:
                part.stop()

    @property
    def beats_done(self) -> int:
        return self._beat

    # -- the loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.wait(0.05):
                self._listen()
                self._maybe_reply()
        except Exception as exc:  # noqa: BLE001 - any failure of the person is the test's to report
            self.failure = exc
            self.log(f"person: failed: {exc!r}")

    def _listen(self) -> None:
        assert self.ears is not None
        first = self._cut.frame
        available = self.ears.size() // FRAME
        if available <= first:
            return
        levels = frame_levels(self.ears.samples(first * FRAME, available * FRAME))
        for start, end in self._cut.feed(levels):
            if (end - start) * FRAME / RATE < SHORTEST_SPEECH:
                continue  # an earcon
            audio = self.ears.samples(start * FRAME, end * FRAME)
            text = normalise(self.transcribe(audio))
            heard = Heard(self.ears.time_of(start * FRAME), self.ears.time_of(end * FRAME), text)
            self.heard.append(heard)
            self.log(f"person heard: {text}")
            self._react(heard)

    def _react(self, heard: Heard) -> None:
        text = heard.text
        waiting = self._awaiting
        if waiting is not None and heard.end > waiting.said_end and (waiting.ack is None or re.search(waiting.ack, text)):
            self._awaiting = None
        if not self._closing and re.search(self.script.closing, text):
            self._closing = True
        unpause = self.script.unpause
        if unpause and re.search(unpause[0], text) and not (self.said and self.said[-1].intent == "pause"):
            self.log("person: the companion paused by itself; saying resume")
            self._pending = (unpause[1], time.monotonic() - ANSWER_WITHIN, None)
            return
        answers = self.script.closing_answers if self._closing else self.script.answers
        for pattern, line in answers:
            if re.search(pattern, text):
                self._pending = (line, time.monotonic() - ANSWER_WITHIN, None)
                return
        beats = self.script.beats
        busy = self._pending is not None or (self._awaiting is not None and self._awaiting.ack is not None)
        if busy or self._beat >= len(beats) or heard.end <= self._last_beat_end:
            return
        beat = beats[self._beat]
        if re.search(beat.trigger, text):
            self._beat += 1
            if beat.barge_in:
                self._said(self._say(beat.line), beat)
            else:
                self._pending = (beat.line, self._last_beat_end + beat.delay, beat)

    def _quiet(self) -> bool:
        """Whether the companion has said nothing for QUIET_BEFORE_REPLY seconds, up to now."""
        assert self.ears is not None
        now = self.ears.size()
        tail = self.ears.samples(max(0, now - int(QUIET_BEFORE_REPLY * RATE)), now)
        return tail.size > 0 and bool(np.all(frame_levels(tail) <= LOUD))

    def _maybe_reply(self) -> None:
        if self._pending is not None:
            line, not_before, beat = self._pending
            if beat is None and time.monotonic() > not_before + 2 * ANSWER_WITHIN:
                self._pending = None  # the moment has passed (the companion moved on while it was heard)
                return
            if time.monotonic() >= not_before and self._quiet():
                self._pending = None
                self._said(self._say(line), beat)
            return
        waiting = self._awaiting
        if waiting is not None and time.monotonic() - waiting.said_end > self.patience and self._quiet():
            if waiting.tries > 2:
                self._awaiting = None
                return
            said = self._say(waiting.line)
            self.repeated.append(said)
            self._awaiting = _Awaiting(waiting.line, waiting.ack, said.end, waiting.tries + 1)

    def _said(self, said: Said, beat: Beat | None) -> None:
        self._awaiting = _Awaiting(said_line(said), beat.ack if beat else None, said.end)
        if beat is not None:
            self._last_beat_end = said.end

    # -- speaking ----------------------------------------------------------------------------------

    def _clip(self, words: str) -> Path:
        if words not in self._clips:
            path = self.workdir / f"say-{len(self._clips)}.wav"
            # No noise of its own: RoomNoise is the floor (a second floor under the words would be a step
            # in the room's noise, which voice detectors take for speech).
            self._clips[words] = speech_wav(path, words, voice=self.book.voice, speed=self.book.speed, pad=0.3,
                                            floor_dbfs=-120.0)
        return self._clips[words]

    def _say(self, line: Line) -> Said:
        """Play ``line`` into the microphone (blocks while it plays) and note when the words sounded."""
        assert self.mouth is not None
        clip = self._clip(line.words)
        first = self.mouth.size()
        started = time.monotonic()
        subprocess.run(["paplay", "--device=mouth", str(clip)], check=True, timeout=30)
        time.sleep(0.1)  # the monitor's last block
        start, end = self._speech_bounds(first, started)
        said = Said(line.words, line.intent, line.value, start, end)
        self.said.append(said)
        self.log(f"person said: {line.words}")
        return said

    def _speech_bounds(self, first: int, started: float) -> tuple[float, float]:
        """When the words were on the microphone: the loud frames recorded since sample ``first``."""
        assert self.mouth is not None
        levels = frame_levels(self.mouth.samples(first))
        loud = np.flatnonzero(levels > SPEECH_LOUD)
        if loud.size == 0:
            return started, time.monotonic()
        return (self.mouth.time_of(first + int(loud[0]) * FRAME),
                self.mouth.time_of(first + (int(loud[-1]) + 1) * FRAME))


def said_line(said: Said) -> Line:
    return Line(said.words, said.intent, said.value)


def start_person(script: Script, book: Phrasebook, workdir: Path, log: Callable[[str], None]) -> SimulatedPerson:
    """A person with Whisper ears, started."""
    workdir.mkdir(parents=True, exist_ok=True)
    return SimulatedPerson(script, book, whisper_transcriber(), workdir, log).start()

