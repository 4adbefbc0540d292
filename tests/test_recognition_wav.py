"""WAV files of any rate, width and channel count become 16 kHz mono int16."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from companion.errors import UserError
from companion.speech.wav import read_wav, write_wav


def _wav(path, samples: np.ndarray, rate: int, fmt: int, bits: int, channels: int = 1) -> None:
    inter = np.repeat(samples[:, None], channels, axis=1).ravel()
    if fmt == 3:
        raw = inter.astype("<f4").tobytes()
    elif bits == 8:
        raw = (inter * 127 + 128).astype(np.uint8).tobytes()
    elif bits == 24:
        v = (inter * 8388607).astype("<i4").tobytes()
        raw = b"".join(v[i : i + 3] for i in range(0, len(v), 4))
    else:
        raw = (inter * (2 ** (bits - 1) - 1)).astype(f"<i{bits // 8}").tobytes()
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + struct.pack("<I", len(raw)) + raw
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize(
    "rate,fmt,bits,channels",
    [(16000, 1, 16, 1), (44100, 1, 16, 2), (8000, 1, 8, 1), (48000, 1, 24, 2), (22050, 3, 32, 1), (32000, 1, 32, 1)],
)
def test_any_wav_becomes_16k_mono_with_the_same_tone(tmp_path, rate, fmt, bits, channels):
    t = np.arange(rate) / rate  # one second of 440 Hz at half scale
    _wav(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate, fmt, bits, channels)
    out = np.frombuffer(read_wav(tmp_path / "a.wav"), "<i2") / 32768
    assert abs(len(out) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440) < 3
    assert 0.3 < np.sqrt(np.mean(out**2)) < 0.4  # 0.5/sqrt(2), within 8-bit/resampling error


def test_round_trip(tmp_path):
    pcm = (np.arange(1600) % 200 - 100).astype("<i2").tobytes()
    write_wav(tmp_path / "b.wav", pcm)
    assert read_wav(tmp_path / "b.wav") == pcm


@pytest.mark.parametrize("content", [b"", b"hello world, not audio", b"RIFF\x04\x00\x00\x00WAVE"])
def test_unusable_files_are_one_line_user_errors(tmp_path, content):
    (tmp_path / "bad.wav").write_bytes(content)
    with pytest.raises(UserError) as err:
        read_wav(tmp_path / "bad.wav")
    assert "\n" not in str(err.value)


def test_empty_data_chunk_says_no_audio(tmp_path):
    write_wav(tmp_path / "empty.wav", b"")
    with pytest.raises(UserError, match="no audio"):
        read_wav(tmp_path / "empty.wav")


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        read_wav(tmp_path / "nope.wav")
