"""The live loop: microphone blocks to recognitions at once; a lost device is reported and retried."""

from __future__ import annotations

import threading
import time

import pytest

from companion.errors import AudioDeviceError
from companion.speech.listener import Listener
from companion.speech.pocketsphinx_engine import PocketsphinxRecognizer
from speech_fixtures import chunks, speech_pcm


class WavMicrophone:
    """A microphone that delivers prepared audio in 20 ms blocks, then nothing (or loses the device)."""

    def __init__(self, pcm: bytes, lose_after: bool = False, real_time: bool = False) -> None:
        self.blocks = chunks(pcm, 20)
        self.lose_after = lose_after
        self.real_time = real_time  # one block each 20 ms, as a microphone delivers them
        self.started: float | None = None
        self.given = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def read(self, timeout: float) -> bytes | None:
        if self.blocks:
            if self.real_time:
                self.started = self.started or time.monotonic()
                self.given += 1
                time.sleep(max(0.0, self.started + self.given * 0.02 - time.monotonic()))
            return self.blocks.pop(0)
        if self.lose_after:
            raise AudioDeviceError("microphone lost")
        time.sleep(min(timeout, 0.01))
        return None


@pytest.fixture(scope="module")
def recognizer():
    return PocketsphinxRecognizer("en")


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_recognitions_arrive_while_listening(recognizer):
    recognizer.reset()
    got = []
    audio = speech_pcm("pause", pad=0.8) + speech_pcm("stop", pad=0.8, seed=4)
    with Listener(recognizer, lambda: WavMicrophone(audio), got.append):
        assert wait_for(lambda: len([r for r in got if r.intent]) >= 2)
    assert [r.intent.name for r in got if r.intent] == ["pause", "stop"]


def test_each_recognition_carries_the_clock_time_it_was_said(recognizer):
    """The echo gate judges words by when they were said: the loop stamps them on time.monotonic()."""
    recognizer.reset()
    got = []
    mic = WavMicrophone(speech_pcm("pause", pad=1.0), real_time=True)
    with Listener(recognizer, lambda: mic, got.append):
        assert wait_for(lambda: any(r.intent for r in got))
    [pause] = [r for r in got if r.intent]
    assert mic.started is not None
    assert pause.said_from == pytest.approx(mic.started + pause.start, abs=0.25)
    assert pause.said_until == pytest.approx(mic.started + pause.end, abs=0.25)
    assert 0.9 < pause.start < pause.end < 1.8


def test_device_lost_is_reported_retried_and_back(recognizer):
    recognizer.reset()
    events = []
    opened = []

    def factory():
        opened.append(time.monotonic())
        if len(opened) == 1:
            return WavMicrophone(speech_pcm("pause", pad=0.8), lose_after=True)
        if len(opened) == 2:
            raise AudioDeviceError("no microphone")
        return WavMicrophone(speech_pcm("stop", pad=0.8))

    listener = Listener(recognizer, factory, lambda r: events.append(r.intent.name if r.intent else None),
                        on_device_lost=lambda exc: events.append("lost"),
                        on_device_back=lambda: events.append("back"), retry_s=0.1)
    with listener:
        assert wait_for(lambda: "stop" in events)
    assert events.count("lost") == 1 and events.count("back") == 1
    assert events.index("pause") < events.index("lost") < events.index("back") < events.index("stop")
    assert len(opened) == 3


def test_stop_returns_promptly_while_waiting_to_retry(recognizer):
    def factory():
        raise AudioDeviceError("no microphone")

    listener = Listener(recognizer, factory, lambda r: None, retry_s=30).start()
    time.sleep(0.1)
    started = time.monotonic()
    listener.stop()
    assert time.monotonic() - started < 1.0
    assert not any(t.name == "listener" and t.is_alive() for t in threading.enumerate())
