"""Sample-rate conversion: whole clips (speech to a speaker, WAV files to a recogniser) and streams (a
microphone that will not open at 16 kHz).

A whole clip is resampled band-limited, through its spectrum. A stream is converted block by block by
linear interpolation, preceded by a short windowed-sinc low-pass when the rate goes down (so that
44.1/48 kHz microphone audio does not alias into the 16 kHz band speech recognisers listen to).
"""

from __future__ import annotations

import numpy as np

_TAPS = 31


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """A whole mono float clip at `dst_rate`, band-limited (FFT), so downsampling does not alias; float32
    stays float32."""
    if src_rate == dst_rate or len(samples) == 0:
        return samples
    n_out = max(1, round(len(samples) * dst_rate / src_rate))
    spectrum = np.fft.rfft(samples)
    keep = min(len(spectrum), n_out // 2 + 1)
    return (np.fft.irfft(spectrum[:keep], n_out) * (n_out / len(samples))).astype(samples.dtype, copy=False)


class StreamResampler:
    """Converts consecutive blocks of one mono stream without seams between blocks."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._step = src_rate / dst_rate
        self._lowpass = _lowpass(0.45 * dst_rate / src_rate) if dst_rate < src_rate else None
        self._history = np.zeros(_TAPS - 1, dtype=np.float32)
        self._tail = np.zeros(0, dtype=np.float32)  # last input sample of the previous block
        self._pos = 0.0  # position of the next output sample, in samples of (tail + block)

    def process(self, block: np.ndarray, final: bool = False) -> np.ndarray:
        """Feed one block (float32 mono at src_rate); returns what is ready at dst_rate.
        `final` flushes the low-pass filter's delay (use it for a whole clip)."""
        block = np.asarray(block, dtype=np.float32)
        if self._lowpass is not None:
            if final:
                block = np.concatenate([block, np.zeros(_TAPS // 2, dtype=np.float32)])
            padded = np.concatenate([self._history, block])
            self._history = padded[len(padded) - (_TAPS - 1) :]
            block = np.convolve(padded, self._lowpass, mode="valid").astype(np.float32)
            if final and self._pos == 0.0 and self._tail.size == 0:
                block = block[_TAPS // 2 :]  # whole clip: drop the filter's start-up delay
        data = np.concatenate([self._tail, block])
        if data.size == 0:
            return data
        last = data.size - 1
        count = int(np.floor((last - self._pos) / self._step)) + 1 if last >= self._pos else 0
        positions = self._pos + self._step * np.arange(count)
        out = np.interp(positions, np.arange(data.size), data).astype(np.float32)
        self._pos = self._pos + self._step * count - last
        self._tail = data[last:]
        return out


def _lowpass(cutoff: float) -> np.ndarray:
    """Windowed-sinc low-pass taps; `cutoff` as a fraction of the sample rate."""
    n = np.arange(_TAPS) - (_TAPS - 1) / 2
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(_TAPS)
    return (taps / taps.sum()).astype(np.float32)
