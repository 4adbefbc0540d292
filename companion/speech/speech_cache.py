"""Synthesised phrases kept on disk and in memory, so a routine's announcements start at once.

Entries are keyed by a hash of (engine, voice, rate, volume, text) and stored as float32 WAV files under
``cache_dir()/"speech"`` (lossless, and playable by any tool). Files are written to a temporary name
and renamed, so a crash or a second process never leaves a half-written entry. A broken entry is
treated as missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from companion.paths import cache_dir
from companion.speech.synth import Audio, Synthesizer

_FLOAT = 3


def cache_key(engine: str, voice: str, rate: float, volume: float, text: str) -> str:
    """The hash naming an entry; rate and volume are rounded so float noise does not miss the cache."""
    ident = "\x1f".join([engine, voice, f"{rate:.2f}", f"{volume:.3f}", text])
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


class SpeechCache:
    """A disk cache with an in-memory LRU in front; safe to use from several threads."""

    def __init__(self, directory: Path | None = None, memory_items: int = 128) -> None:
        self.directory = directory if directory is not None else cache_dir() / "speech"
        self._memory: OrderedDict[str, Audio] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()

    def get(self, key: str) -> Audio | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        audio = self._read(key)
        if audio is not None:
            self._remember(key, audio)
        return audio

    def put(self, key: str, audio: Audio) -> None:
        self._remember(key, audio)
        self._write(key, audio)

    def _remember(self, key: str, audio: Audio) -> None:
        with self._lock:
            self._memory[key] = audio
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.wav"

    def _read(self, key: str) -> Audio | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:  # absent, or a cache folder that cannot be used
            return None
        try:
            return decode_float_wav(raw)
        except ValueError:
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def _write(self, key: str, audio: Audio) -> None:
        """Best effort: a cache that cannot be written (full disk, read-only home) only costs speed."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(encode_float_wav(audio))
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass


class CachedSynthesizer:
    """A Synthesizer that asks ``cache`` first; ``misses`` counts real syntheses."""

    def __init__(self, synthesizer: Synthesizer, cache: SpeechCache) -> None:
        self.inner = synthesizer
        self.engine = synthesizer.engine
        self.voice = synthesizer.voice
        self.cache = cache
        self.hits = 0
        self.misses = 0

    def synthesize(self, text: str, rate: float, volume: float) -> Audio:
        key = cache_key(self.engine, self.voice, rate, volume, text)
        audio = self.cache.get(key)
        if audio is not None:
            self.hits += 1
            return audio
        self.misses += 1
        audio = self.inner.synthesize(text, rate, volume)
        self.cache.put(key, audio)
        return audio


def encode_float_wav(audio: Audio) -> bytes:
    data = np.asarray(audio.samples, "<f4").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, _FLOAT, 1, audio.rate, audio.rate * 4, 4, 32,
        b"data", len(data),
    )
    return header + data


def decode_float_wav(raw: bytes) -> Audio:
    """Read what :func:`encode_float_wav` wrote; ValueError for anything else or a truncated file."""
    if len(raw) < 44 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE" or raw[36:40] != b"data":
        raise ValueError("not a speech cache entry")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", raw[20:36])
    size = struct.unpack("<I", raw[40:44])[0]
    if (tag, channels, bits) != (_FLOAT, 1, 32) or len(raw) - 44 != size:
        raise ValueError("not a speech cache entry, or a truncated one")
    return Audio(np.frombuffer(raw[44:], "<f4").astype(np.float32), rate)
