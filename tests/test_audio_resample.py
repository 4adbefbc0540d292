"""Rate conversion used when a device will not open at the rate we need."""

from __future__ import annotations

import numpy as np
import pytest

from companion.audio.resample import StreamResampler, resample


def sine(freq: float, rate: int, seconds: float = 1.0, delay: float = 0.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate - delay
    return np.sin(2 * np.pi * freq * t).astype(np.float32)


@pytest.mark.parametrize(("src", "dst"), [(44100, 16000), (48000, 16000), (16000, 22050), (22050, 48000)])
def test_whole_clip_keeps_length_and_waveform(src: int, dst: int) -> None:
    out = resample(sine(440, src), src, dst)
    assert abs(out.size - dst) <= 1
    assert np.max(np.abs(out - sine(440, dst)[: out.size])[50:-50]) < 0.01


def test_same_rate_is_untouched() -> None:
    samples = sine(440, 16000)
    assert resample(samples, 16000, 16000) is samples


@pytest.mark.parametrize("block", [1, 441, 882, 1000])
def test_streamed_blocks_join_without_seams(block: int) -> None:
    src, dst = 44100, 16000
    stream = StreamResampler(src, dst)
    samples = sine(440, src)
    out = np.concatenate([stream.process(samples[i : i + block]) for i in range(0, samples.size, block)])
    assert abs(out.size - dst) <= 1
    delay = 15 / src  # the low-pass filter's group delay
    expected = sine(440, dst, delay=delay)[: out.size]
    assert np.max(np.abs(out - expected)[50:]) < 0.01


def test_downsampling_removes_what_the_new_rate_cannot_hold() -> None:
    out = resample(sine(12000, 48000), 48000, 16000)  # above 8 kHz: would alias to 4 kHz
    assert np.sqrt(np.mean(out[100:-100] ** 2)) < 0.05
