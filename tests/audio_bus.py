"""Test helpers around scripts/audio-bus: start/stop a bus, speak into `mouth`, record `ears`, correlate."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "audio-bus"
SPEECH = Path("/work/shared/data/speech_commands")
SINKS = ("mouth", "ears")


class AudioBus:
    """One private PulseAudio instance in `directory` (see scripts/audio-bus)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _run(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SCRIPT), command],
            env={**os.environ, "AUDIO_BUS_DIR": str(self.directory)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> None:
        result = self._run("start")
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"audio-bus start failed: {result.stderr.strip()}")

    def stop(self) -> None:
        self._run("stop")

    def running(self) -> bool:
        return self._run("status").returncode == 0

    def env(self) -> dict[str, str]:
        """PULSE_SERVER, PULSE_CLIENTCONFIG, XDG_RUNTIME_DIR for clients of this bus."""
        words = shlex.split(self._run("env").stdout)
        return dict(word.split("=", 1) for word in words if word != "export")

    def pactl(self, *args: str) -> str:
        result = subprocess.run(
            ["pactl", *args], env={**os.environ, **self.env()}, capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def unload_sinks(self) -> None:
        """Pull both virtual devices out. (PulseAudio moves a stream whose sink vanishes to another sink,
        so only removing both makes open streams fail, as unplugging the only headset does.)"""
        for line in self.pactl("list", "short", "modules").splitlines():
            if "module-null-sink" in line:
                self.pactl("unload-module", line.split()[0])

    def restore_sinks(self) -> None:
        present = self.pactl("list", "short", "sinks")
        for name in SINKS:
            if f"\t{name}\t" not in present:
                self.pactl(
                    "load-module", "module-null-sink", f"sink_name={name}",
                    f"sink_properties=device.description={name}",
                )
        self.pactl("set-default-sink", "ears")
        self.pactl("set-default-source", "mouth.monitor")
        self.start()  # the keep-alive readers died with the sinks: restart them, wait until ready


# --- sound in and out of the bus --------------------------------------------------------------------


def load_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV as float32."""
    with wave.open(str(path)) as wav:
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, wav.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = (np.clip(samples, -1.0, 32767 / 32768) * 32768).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def speech(word: str = "go", index: int = 0) -> tuple[np.ndarray, int]:
    """A real recording of `word` (16 kHz) with 100 ms of quiet noise before it (a paplay stream's first
    milliseconds can be clipped) and a realistic noise floor instead of digital silence."""
    samples, rate = load_wav(sorted((SPEECH / word).glob("*.wav"))[index])
    lead = np.zeros(rate // 10, dtype=np.float32)
    padded = np.concatenate([lead, samples, lead])
    noise = np.random.default_rng(index).normal(0, 10 ** (-60 / 20), padded.size).astype(np.float32)
    return padded + noise, rate


def play_into_mouth(samples: np.ndarray, rate: int) -> None:
    """What a user says: play the clip into the `mouth` sink (the program's microphone); blocks."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        write_wav(path, samples, rate)
        subprocess.run(["paplay", "--device=mouth", str(path)], check=True, timeout=30)


class Recorder:
    """Records a PulseAudio source (default: ears.monitor = what the program played) with parecord.

    `chunks` keeps (wall time received, samples so far), so a moment in the recording can be put
    on the wall clock: see `wall_time_of`."""

    def __init__(self, device: str = "ears.monitor", rate: int = 16000) -> None:
        self.rate = rate
        self._process = subprocess.Popen(
            ["parecord", "--raw", "--format=float32le", "--channels=1", f"--rate={rate}",
             "--latency-msec=10", f"--device={device}"],
            stdout=subprocess.PIPE,
        )
        self._data = bytearray()
        self.chunks: list[tuple[float, int]] = []
        self._first = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._first.wait(10):
            self.stop()
            raise RuntimeError(f"parecord on {device} delivered nothing")

    def _read(self) -> None:
        assert self._process.stdout is not None
        while chunk := self._process.stdout.read1(4096):
            self._data += chunk
            self.chunks.append((time.monotonic(), len(self._data) // 4))
            self._first.set()

    def stop(self) -> np.ndarray:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)
        usable = len(self._data) // 4 * 4
        return np.frombuffer(bytes(self._data[:usable]), dtype="<f4").copy()

    def wall_time_of(self, sample: int) -> float:
        """When `sample` was captured, on time.monotonic()'s clock: the earliest estimate that every
        chunk's arrival allows. Accurate to about ±10 ms (the null sink renders in small blocks)."""
        return min(received - (total - sample) / self.rate for received, total in self.chunks if total > sample)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.poll() is None:
            self.stop()


def record_ears(seconds: float, rate: int = 16000) -> np.ndarray:
    recorder = Recorder(rate=rate)
    time.sleep(seconds)
    return recorder.stop()


# --- comparing -----------------------------------------------------------------------------------------


def correlate(reference: np.ndarray, recording: np.ndarray) -> float:
    """Pearson correlation of `reference` with the part of `recording` it lines up with best. The
    recording may have started a little after the reference (its first samples missing)."""
    reference = np.asarray(reference, dtype=np.float64)
    recording = np.asarray(recording, dtype=np.float64)
    n = reference.size
    padded = np.concatenate([np.zeros(n), recording, np.zeros(n)])
    size = 1 << int(np.ceil(np.log2(padded.size + n)))
    cross = np.fft.irfft(np.fft.rfft(padded, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(cross[: padded.size - n + 1])) - n  # where reference[0] falls in recording
    start, stop = max(0, -lag), min(n, recording.size - lag)
    if stop - start < n // 2:
        return 0.0
    return float(np.corrcoef(reference[start:stop], recording[lag + start : lag + stop])[0, 1])


def sound_bounds(recording: np.ndarray, threshold: float = 0.01) -> tuple[int, int]:
    """First and one-past-last sample whose level exceeds `threshold`."""
    loud = np.flatnonzero(np.abs(recording) > threshold)
    if loud.size == 0:
        raise AssertionError("the recording is silent")
    return int(loud[0]), int(loud[-1]) + 1
