"""The speech cache: a hit returns the same audio without synthesising; entries survive restarts,
are written atomically, and a broken entry is a miss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from companion.speech.speech_cache import CachedSynthesizer, SpeechCache, cache_key
from companion.speech.synth import Audio, open_synthesizer


class CountingSynth:
    engine, voice = "fake", "tone"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def synthesize(self, text: str, rate: float, volume: float) -> Audio:
        self.calls.append(text)
        t = np.arange(len(text) * 100) / 8000
        return Audio((volume * np.sin(2 * np.pi * rate * t)).astype(np.float32), 8000)


def test_hit_returns_identical_audio_from_real_pyttsx3_without_synthesising_again(tmp_path: Path) -> None:
    real = open_synthesizer("pyttsx3", "gmw/en-us")
    cached = CachedSynthesizer(real, SpeechCache(tmp_path))
    first = cached.synthesize("Left foot, arch.", 150, 0.8)
    second = cached.synthesize("Left foot, arch.", 150, 0.8)
    assert (cached.misses, cached.hits) == (1, 1)
    assert second.rate == first.rate and np.array_equal(second.samples, first.samples)


def test_entries_survive_a_restart_bit_for_bit(tmp_path: Path) -> None:
    synth = CountingSynth()
    original = CachedSynthesizer(synth, SpeechCache(tmp_path)).synthesize("Heel.", 440, 0.5)
    again = CachedSynthesizer(synth, SpeechCache(tmp_path))  # a new process: empty memory, same disk
    restored = again.synthesize("Heel.", 440, 0.5)
    assert synth.calls == ["Heel."] and again.hits == 1
    assert restored.rate == 8000 and np.array_equal(restored.samples, original.samples)


@pytest.mark.parametrize(
    "other",
    [("fake", "tone", 150, 0.8, "Toe."), ("fake", "tone", 151, 0.8, "Heel."), ("fake", "tone", 150, 0.9, "Heel."),
     ("fake", "other", 150, 0.8, "Heel."), ("piper", "tone", 150, 0.8, "Heel.")],
)
def test_every_setting_is_part_of_the_key(other: tuple) -> None:
    assert cache_key(*other) != cache_key("fake", "tone", 150, 0.8, "Heel.")


def test_float_noise_in_settings_still_hits() -> None:
    assert cache_key("e", "v", 150.0000001, 0.8000001, "x") == cache_key("e", "v", 150, 0.8, "x")


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    cached = CachedSynthesizer(CountingSynth(), SpeechCache(tmp_path))
    for word in ("One.", "Two.", "Three."):
        cached.synthesize(word, 300, 1.0)
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 3 and all(name.endswith(".wav") and not name.startswith(".tmp") for name in files)


@pytest.mark.parametrize("damage", [b"", b"RIFF junk", "truncate"])
def test_a_broken_entry_is_a_miss_and_is_replaced(tmp_path: Path, damage) -> None:
    synth = CountingSynth()
    CachedSynthesizer(synth, SpeechCache(tmp_path)).synthesize("Arch.", 300, 1.0)
    (entry,) = tmp_path.rglob("*.wav")
    entry.write_bytes(entry.read_bytes()[:-10] if damage == "truncate" else damage)
    again = CachedSynthesizer(synth, SpeechCache(tmp_path))
    assert again.synthesize("Arch.", 300, 1.0).duration == pytest.approx(0.0625)
    assert len(synth.calls) == 2
    assert CachedSynthesizer(synth, SpeechCache(tmp_path)).synthesize("Arch.", 300, 1.0) and len(synth.calls) == 2


def test_memory_keeps_only_the_most_recent(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path, memory_items=2)
    audio = Audio(np.zeros(10, np.float32), 8000)
    for key in ("a", "b", "c"):
        cache.put(key * 32, audio)
    assert list(cache._memory) == ["b" * 32, "c" * 32]
    assert cache.get("a" * 32) is not None  # still on disk


def test_unwritable_cache_only_costs_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cached = CachedSynthesizer(CountingSynth(), SpeechCache(blocker / "speech"))
    assert cached.synthesize("Toe.", 300, 1.0).duration > 0
    assert cached.synthesize("Toe.", 300, 1.0).duration > 0 and cached.hits == 1  # memory still works


def test_default_location_is_the_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    assert SpeechCache().directory == tmp_path / "speech"
