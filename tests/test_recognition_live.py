"""Spoken commands through a real microphone stream (the virtual bus) into pocketsphinx, as in a session."""

import threading
import time

import numpy as np
import pytest

from audio_bus import play_into_mouth
from companion.audio.capture import Microphone
from companion.speech.listener import Listener
from companion.speech.pocketsphinx_engine import PocketsphinxRecognizer
from speech_fixtures import speech_pcm

pytestmark = pytest.mark.audio


def test_commands_spoken_into_the_microphone_become_intents(audio_bus):
    heard, got = [], threading.Event()

    def on_recognition(rec) -> None:
        if rec.intent is not None:
            heard.append(rec.intent.name)
            got.set()

    listener = Listener(PocketsphinxRecognizer("en"), lambda: Microphone(), on_recognition).start()
    try:
        time.sleep(1.0)
        for words in ("pause", "where am i", "resume"):
            got.clear()
            play_into_mouth(np.frombuffer(speech_pcm(words), "<i2") / 32768.0, 16000)
            assert got.wait(10), f"nothing recognised for {words!r}"
            time.sleep(0.5)
    finally:
        listener.stop()
    assert heard == ["pause", "where", "resume"]
