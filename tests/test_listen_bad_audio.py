"""Audio that is not clean speech through `companion listen --from-wav`: converted or refused with a clear
one-line message, never a crash or a hang (issue 6)."""

import json
import struct
import subprocess
import sys

import numpy as np
import pytest

from companion.speech.wav import read_wav, to_pcm16, write_wav
from speech_fixtures import speech_pcm

RATE = 16000


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, channels, rate,
                       rate * 2 * channels, 2 * channels, 16, b"data", len(pcm)) + pcm


def listen(files, engine="auto", timeout=300):
    done = subprocess.run([sys.executable, "-m", "companion", "listen", "--json", "--engine", engine, "--from-wav",
                           *map(str, files)], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    return done, {json.loads(line)["file"]: json.loads(line) for line in done.stdout.splitlines()}


def test_odd_recordings_are_converted_or_refused_in_one_line(tmp_path):
    stop = np.frombuffer(speech_pcm("stop"), "<i2") / 32768.0  # over a realistic noise floor
    rng = np.random.default_rng(3)
    files = {
        "clipped.wav": wav_bytes(np.clip(stop * 20, -1, 1), RATE),
        "dc-offset.wav": wav_bytes(stop * 0.5 + 0.4, RATE),
        "8khz.wav": wav_bytes(stop[::2], 8000),
        "stereo-44k.wav": wav_bytes(np.repeat(np.interp(np.arange(0, len(stop), RATE / 44100), np.arange(len(stop)),
                                                        stop), 2), 44100, channels=2),
        "noise.wav": wav_bytes(rng.standard_normal(RATE * 3) * 0.3, RATE),
        "empty.wav": b"",
        "header-only.wav": wav_bytes(np.zeros(0), RATE),
        "not-a-wav.wav": b"ID3 this is an mp3, really",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    done, lines = listen([tmp_path / name for name in files])
    assert done.returncode == 2  # some files were refused; the others were decoded
    for name in ("clipped.wav", "dc-offset.wav", "8khz.wav", "stereo-44k.wav", "noise.wav"):
        assert "error" not in lines[str(tmp_path / name)], name
    for name in ("8khz.wav", "stereo-44k.wav"):  # converted to 16 kHz mono faithfully
        converted = np.frombuffer(read_wav(tmp_path / name), "<i2") / 32768.0
        n = min(len(converted), len(stop))
        assert abs(len(converted) - len(stop)) < 20 and np.corrcoef(converted[:n], stop[:n])[0, 1] > 0.9, name
    assert lines[str(tmp_path / "noise.wav")]["intent"] is None
    errors = [line for line in done.stderr.splitlines() if line.startswith("companion:")]
    assert len(errors) == 3 and all(len(line) < 200 for line in errors)
    assert "is not a WAV file" in done.stderr and "holds no audio" in done.stderr


def test_ten_minutes_of_silence_gives_nothing(tmp_path):
    path = tmp_path / "silence.wav"
    write_wav(path, to_pcm16(np.random.default_rng(1).standard_normal(RATE * 600) * 10 ** (-60 / 20)))
    done, lines = listen([path])
    assert done.returncode == 0 and lines[str(path)]["intent"] is None


@pytest.mark.slow
def test_two_hours_of_silence_neither_crashes_nor_hangs(tmp_path):
    path = tmp_path / "two-hours.wav"
    path.write_bytes(wav_bytes(np.zeros(8000 * 7200), 8000))
    done, lines = listen([path], timeout=3600)
    assert done.returncode == 0 and lines[str(path)]["intent"] is None
