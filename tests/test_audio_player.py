"""The interruptible player on the virtual speaker (`ears`), recorded from ears.monitor."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from audio_bus import Recorder, correlate, sound_bounds, speech

from companion.audio import earcons
from companion.audio.player import Player
from companion.errors import AudioDeviceError

pytestmark = pytest.mark.audio


def tone(seconds: float, freq: float = 440.0, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def player(audio_bus):
    errors: list[Exception] = []
    with Player(on_error=errors.append, retry_interval=0.2) as p:
        p.errors = errors
        yield p


def test_speech_reaches_the_speaker(player: Player) -> None:
    clip, rate = speech("go")
    with Recorder() as recorder:
        player.play(clip, rate, tag="go")
        assert player.wait(5)
        time.sleep(0.2)
        heard = recorder.stop()
    assert correlate(clip, heard) >= 0.9


def test_clips_play_in_order_and_report_their_tag(player: Player) -> None:
    first, second = earcons.step(), tone(0.4, 880)
    with Recorder() as recorder:
        player.play(first, earcons.RATE, tag="chime")
        player.play(second, 22050, tag="Rub the arch slowly.")
        assert player.is_playing()
        assert player.current_tag() in ("chime", None)  # None until the stream's next callback
        time.sleep(first.size / earcons.RATE + 0.15)
        assert player.current_tag() == "Rub the arch slowly."
        assert player.wait(5)
        assert not player.is_playing() and player.current_tag() is None
        time.sleep(0.2)
        heard = recorder.stop()
    start, end = sound_bounds(heard)
    expected = (first.size / earcons.RATE + second.size / 22050) * 16000
    assert abs((end - start) - expected) < 0.03 * 16000  # back to back, nothing lost, nothing doubled


def test_clip_right_after_opening_or_stopping_is_heard_whole(audio_bus) -> None:
    """Regression: with a 30 ms buffer a fresh stream could spin in underruns and lose the clip."""
    clip = tone(0.4)
    for _ in range(3):
        with Player() as fresh, Recorder() as recorder:
            fresh.play(clip, 22050)
            fresh.wait(3)
            fresh.stop()
            fresh.play(clip, 22050)
            fresh.wait(3)
            time.sleep(0.2)
            heard = recorder.stop()
        loud = np.abs(heard) > 0.01
        assert 2 * 0.4 - 0.03 < loud.sum() / 16000 < 2 * 0.4 + 0.01


def test_rates_other_than_the_stream_rate_are_converted(player: Player) -> None:
    clip, rate = speech("yes")  # 16 kHz into a 22.05 kHz stream
    assert rate != player.rate
    with Recorder() as recorder:
        player.play(clip, rate)
        player.wait(5)
        time.sleep(0.2)
        heard = recorder.stop()
    assert correlate(clip, heard) >= 0.9


def test_stop_silences_within_50_ms(player: Player) -> None:
    latencies = []
    for _ in range(3):
        with Recorder() as recorder:
            player.play(tone(3.0), 22050, tag="long")
            player.play(tone(1.0, 660), 22050, tag="queued")
            time.sleep(0.5)
            stopped_at = time.monotonic()
            player.stop()
            assert not player.is_playing() and player.wait(0)
            time.sleep(0.3)
            heard = recorder.stop()
        _, end = sound_bounds(heard)
        latencies.append(recorder.wall_time_of(end) - stopped_at)
    print(f"stop latency (±10 ms): {[round(x * 1000, 1) for x in latencies]} ms")
    assert max(latencies) < 0.050


def test_wait_times_out_while_playing(player: Player) -> None:
    player.play(tone(1.0), 22050)
    assert player.wait(0.1) is False
    player.stop()


def test_device_lost_is_reported_then_recovered(audio_bus, player: Player) -> None:
    called = threading.Event()
    player._on_error = lambda exc: (player.errors.append(exc), called.set())
    player.play(tone(5.0), 22050, tag="long")
    time.sleep(0.2)
    try:
        audio_bus.unload_sinks()
        assert called.wait(3), "on_error was not called"
        assert not player.ok() and not player.is_playing()
        assert isinstance(player.errors[0], AudioDeviceError)
        assert "stopped working; reconnect it" in str(player.errors[0])
        player.play(tone(0.2), 22050)  # dropped, does not raise
        assert player.wait(0)
    finally:
        audio_bus.restore_sinks()
    deadline = time.monotonic() + 5
    while not player.ok() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert player.ok(), "the player did not reopen the device"
    clip, rate = speech("go")
    with Recorder() as recorder:
        player.play(clip, rate)
        player.wait(5)
        time.sleep(0.2)
        heard = recorder.stop()
    assert correlate(clip, heard) >= 0.9
    assert len(player.errors) == 1


def test_unknown_output_device_fails_at_construction(audio_bus) -> None:
    with pytest.raises(AudioDeviceError, match="No speaker matches 'bluetooth'"):
        Player(device="bluetooth")
