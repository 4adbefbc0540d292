"""WAV files in and out: any PCM or float WAV becomes 16 kHz mono int16, the recognisers' input.

The RIFF reader is our own (not ``wave``) so float and WAVE_FORMAT_EXTENSIBLE files, which ``wave``
rejects, are read too.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from companion.audio.resample import resample
from companion.errors import UserError
from companion.speech.recognizer import SAMPLE_RATE

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def read_wav(path: str | Path) -> bytes:
    """The audio of ``path`` as int16 LE mono PCM at 16 kHz; UserError when it cannot be used."""
    samples, rate = read_samples(path)
    return to_pcm16(resample(samples, rate, SAMPLE_RATE))


def read_samples(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float samples in -1..1 and the file's sample rate."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}; check the file name") from None
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise UserError(f"{path} is not a WAV file; convert it, e.g.: sox {path.name} -r 16000 -c 1 out.wav")
    fmt, body = _chunks(data)
    if fmt is None or body is None or len(fmt) < 16:
        raise UserError(f"{path} is a broken WAV file (no fmt or data chunk); re-record or re-export it")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if channels < 1 or rate < 1000 or (tag, bits) not in _DECODERS:
        raise UserError(
            f"{path}: unsupported WAV encoding (format {tag}, {bits} bit); use PCM 8/16/24/32-bit or float"
        )
    frame = channels * bits // 8
    body = body[: len(body) - len(body) % frame]
    if not body:
        raise UserError(f"{path} holds no audio; record it again")
    samples = _DECODERS[(tag, bits)](body).reshape(-1, channels).mean(axis=1)
    return samples.astype(np.float64), rate


def _chunks(data: bytes) -> tuple[bytes | None, bytes | None]:
    fmt = body = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunk = data[pos + 8 : pos + 8 + size]  # a truncated data chunk is read as far as it goes
        if cid == b"fmt ":
            fmt = chunk
        elif cid == b"data":
            body = chunk
        pos += 8 + size + (size & 1)
    return fmt, body


def _int24(raw: bytes) -> np.ndarray:
    b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    return np.where(v & 0x800000, v - 0x1000000, v) / 8388608.0


_DECODERS = {
    (_PCM, 8): lambda raw: (np.frombuffer(raw, np.uint8).astype(np.float64) - 128) / 128.0,
    (_PCM, 16): lambda raw: np.frombuffer(raw, "<i2") / 32768.0,
    (_PCM, 24): _int24,
    (_PCM, 32): lambda raw: np.frombuffer(raw, "<i4") / 2147483648.0,
    (_FLOAT, 32): lambda raw: np.frombuffer(raw, "<f4").astype(np.float64),
    (_FLOAT, 64): lambda raw: np.frombuffer(raw, "<f8").copy(),
}


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in -1..1 as int16 LE bytes (clipped)."""
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768).round().astype("<i2").tobytes()


def write_wav(path: str | Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """Write int16 LE mono ``pcm`` as a WAV file."""
    Path(path).write_bytes(wav_bytes(pcm, rate))


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """int16 LE mono ``pcm`` as the bytes of a WAV file."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, _PCM, 1, rate, rate * 2, 2, 16, b"data", len(pcm),
    )
    return header + pcm
