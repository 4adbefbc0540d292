"""Test speech made with espeak-ng: 16 kHz mono int16 with a realistic noise floor.

Exact digital silence around synthetic speech ruins pocketsphinx's accuracy (see the shared notes), so
every clip is padded with ~0.3 s and laid over a -60 dBFS noise floor, like a quiet room.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from companion.audio.resample import resample
from companion.speech.recognizer import SAMPLE_RATE
from companion.speech.wav import read_samples, to_pcm16, write_wav

ESPEAK = shutil.which("espeak-ng")
REAL_RECORDINGS = Path("/work/shared/data/speech_commands")


@cache
def espeak_samples(text: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """espeak-ng's rendering of ``text`` as float samples at 16 kHz (cached per text/voice/speed)."""
    if ESPEAK is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run([ESPEAK, "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
        samples, rate = read_samples(out)
    return resample(samples, rate, SAMPLE_RATE)


def noise_floor(samples: int, dbfs: float = -60.0, seed: int = 0) -> np.ndarray:
    """``samples`` of white noise at ``dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(samples) * 10 ** (dbfs / 20)


def speech_pcm(
    text: str, voice: str = "en-us", speed: int = 160, pad: float = 0.3, floor_dbfs: float = -60.0, seed: int = 0
) -> bytes:
    """``text`` spoken by espeak-ng, padded with ``pad`` s each side, over a noise floor; int16 bytes."""
    speech = espeak_samples(text, voice, speed)
    gap = np.zeros(int(pad * SAMPLE_RATE))
    clip = np.concatenate([gap, speech, gap])
    return to_pcm16(clip + noise_floor(len(clip), floor_dbfs, seed))


def speech_wav(path: Path, text: str, voice: str = "en-us", speed: int = 160, **kwargs: float) -> Path:
    """Write :func:`speech_pcm` to ``path`` and return it."""
    write_wav(path, speech_pcm(text, voice, speed, **kwargs))
    return path


def silence_pcm(seconds: float, dbfs: float = -60.0, seed: int = 1) -> bytes:
    """A quiet room: only the noise floor."""
    return to_pcm16(noise_floor(int(seconds * SAMPLE_RATE), dbfs, seed))


def chunks(pcm: bytes, ms: int = 20) -> list[bytes]:
    """``pcm`` cut in blocks of ``ms`` milliseconds, as a microphone delivers it."""
    size = SAMPLE_RATE * 2 * ms // 1000
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def real_recordings(word: str) -> list[Path]:
    """The Speech Commands recordings of ``word`` (10 speakers), sorted."""
    return sorted((REAL_RECORDINGS / word).glob("*.wav"))
