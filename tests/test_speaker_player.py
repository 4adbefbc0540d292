"""The Speaker with the real Player on the virtual audio devices: the voice is heard, and stop() cuts it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from audio_bus import Recorder, correlate, sound_bounds
from companion.speech.speaker import Speaker
from companion.speech.speech_cache import SpeechCache, cache_key
from companion.speech.voices import load_voice

pytestmark = pytest.mark.audio
TEXT = "Left foot, arch. Fingertip friction in very small circles, light pressure, thirty seconds."


@pytest.fixture()
def player(audio_bus):
    from companion.audio.player import Player

    with Player() as p:
        yield p


def test_the_spoken_sentence_reaches_the_speaker(player, tmp_path: Path) -> None:
    profile = load_voice("calm")
    cache = SpeechCache(tmp_path)
    speaker = Speaker(profile, player, cache=cache)
    with Recorder(rate=22050) as recorder:
        speaker.say("Left foot, arch.")
        assert speaker.wait(10)
        time.sleep(0.3)
        heard = recorder.stop()
    speaker.close()
    # espeak-ng varies slightly from run to run: compare with exactly what was synthesised (cached)
    expected = cache.get(cache_key(profile.engine, profile.voice, profile.rate, profile.volume, "Left foot, arch."))
    assert expected is not None
    assert correlate(expected.samples, heard) > 0.95


def test_stop_cuts_the_voice_at_once(player, tmp_path: Path) -> None:
    speaker = Speaker(load_voice("calm"), player, cache=SpeechCache(tmp_path))
    with Recorder(rate=16000) as recorder:
        speaker.say(TEXT)
        time.sleep(1.5)
        assert speaker.is_speaking() and speaker.current_text() == TEXT
        stopped = time.monotonic()
        speaker.stop()
        assert not speaker.is_speaking()
        time.sleep(1.0)
        heard = recorder.stop()
    speaker.close()
    _, end = sound_bounds(heard)
    assert recorder.wall_time_of(end - 1) - stopped < 0.1  # the last sound within 100 ms of stop()
    assert np.abs(heard[end + 1600:]).max(initial=0) < 0.01  # and silence after
