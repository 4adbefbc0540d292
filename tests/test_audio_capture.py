"""The microphone on the virtual devices: what a user says into `mouth` comes out of read()."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from audio_bus import correlate, play_into_mouth, speech

from companion.audio import devices
from companion.audio.capture import Microphone
from companion.errors import AudioDeviceError

pytestmark = pytest.mark.audio


def capture_while(mic: Microphone, action, settle: float = 0.3) -> np.ndarray:
    """Read the microphone while `action` runs in another thread, and `settle` seconds after."""
    done = threading.Event()
    worker = threading.Thread(target=lambda: (action(), done.set()))
    blocks = []
    worker.start()
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        block = mic.read(timeout=1.0)
        assert block is not None, "the microphone delivered nothing for 1 s"
        blocks.append(block)
        if done.is_set() and deadline is None:
            deadline = time.monotonic() + settle
    worker.join()
    return np.frombuffer(b"".join(blocks), dtype="<i2").astype(np.float32) / 32768.0


def test_captures_what_is_said_into_mouth(audio_bus) -> None:
    clip, rate = speech("stop")
    with Microphone() as mic:
        assert mic.device_rate == 16000
        heard = capture_while(mic, lambda: play_into_mouth(clip, rate))
    r = correlate(clip, heard)
    print(f"capture correlation: {r:.4f}")
    assert r >= 0.9


def test_blocks_are_20_ms_of_16_bit_mono(audio_bus) -> None:
    with Microphone(block_ms=20) as mic:
        sizes = {len(mic.read(timeout=1.0)) for _ in range(10)}
    assert sizes == {320 * 2}


def test_device_that_rejects_16k_is_opened_at_its_rate_and_converted(audio_bus, monkeypatch) -> None:
    sd = devices.sounddevice()
    real = sd.RawInputStream

    def only_native_rate(**kwargs):
        if kwargs["samplerate"] != 44100:
            raise sd.PortAudioError("Invalid sample rate")
        return real(**kwargs)

    monkeypatch.setattr(sd, "RawInputStream", only_native_rate)
    clip, rate = speech("go", 1)
    with Microphone() as mic:
        assert mic.device_rate == 44100
        heard = capture_while(mic, lambda: play_into_mouth(clip, rate))
    r = correlate(clip, heard)
    print(f"capture correlation via 44.1 kHz: {r:.4f}")
    assert r >= 0.9


def test_unknown_input_device(audio_bus) -> None:
    with pytest.raises(AudioDeviceError, match="No microphone matches 'usb mic'"):
        Microphone(device="usb mic").open()


def test_device_lost_raises_then_reopens(audio_bus) -> None:
    mic = Microphone()
    mic.open()
    try:
        assert mic.read(timeout=1.0) is not None
        try:
            audio_bus.unload_sinks()
            with pytest.raises(AudioDeviceError, match="microphone .* stopped working; reconnect it"):
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    mic.read(timeout=0.5)
            with pytest.raises(AudioDeviceError):  # stays lost until reopened
                mic.read(timeout=0.1)
        finally:
            audio_bus.restore_sinks()
        mic.open()
        clip, rate = speech("no")
        heard = capture_while(mic, lambda: play_into_mouth(clip, rate))
        assert correlate(clip, heard) >= 0.9
    finally:
        mic.close()
