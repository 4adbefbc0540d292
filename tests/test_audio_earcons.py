"""Earcons: short, quiet, and free of clicks at their ends."""

from __future__ import annotations

import numpy as np
import pytest

from companion.audio import earcons
from companion.audio.earcons import EARCONS, earcon

RATES = [16000, 22050, 48000]


@pytest.mark.parametrize("name", sorted(EARCONS))
@pytest.mark.parametrize("rate", RATES)
def test_earcon_is_short_quiet_float32_mono(name: str, rate: int) -> None:
    samples = earcon(name, rate)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 0.1 <= samples.size / rate <= 0.7
    assert 0.2 <= np.max(np.abs(samples)) <= 0.3


@pytest.mark.parametrize("name", sorted(EARCONS))
def test_earcon_starts_and_ends_without_a_click(name: str) -> None:
    rate = 22050
    samples = earcon(name, rate)
    edge = rate // 1000  # the first and last millisecond
    assert np.max(np.abs(samples[:edge])) < 0.02
    assert np.max(np.abs(samples[-edge:])) < 0.005
    # nowhere a jump larger than a 2 kHz sine at full earcon level could make
    assert np.max(np.abs(np.diff(samples))) < 2 * np.pi * 2000 / rate * earcons.PEAK


def test_earcons_sound_different() -> None:
    spectra = {}
    for name in EARCONS:
        samples = earcon(name)
        spectrum = np.abs(np.fft.rfft(samples, 1 << 15))
        spectra[name] = np.argmax(spectrum)
    assert len(set(spectra.values())) == len(EARCONS)


def test_unknown_earcon_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        earcon("fanfare")
