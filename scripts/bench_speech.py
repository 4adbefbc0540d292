#!/usr/bin/env python3
"""Time to first audio of routine announcements, per engine: cold (synthesised on demand) and warm
(prepared ahead into the speech cache). Prints a table of p50/p95 in milliseconds.

Time to first audio = from Speaker.say() to the first sentence handed to the player; the output
device adds its own latency on top (≈ 20 ms with the player's low-latency stream). "load" is the
engine start (pyttsx3) or voice load (Piper), paid once per process.
Usage: .venv/bin/python scripts/bench_speech.py [--count 20]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from companion.speech.speaker import Speaker
from companion.speech.speech_cache import SpeechCache, cache_key
from companion.speech.synth import open_synthesizer, split_sentences
from companion.errors import UserError
from companion.speech.voices import VoiceProfile, load_voice

FEET = ("Left foot", "Right foot")
AREAS = ("arch", "heel", "toes", "ball of the foot", "ankle")
STROKES = (
    "Fingertip friction in very small circles, light pressure",
    "Slow thumb strokes toward the ankle, medium pressure",
    "Gentle squeeze and release, light pressure",
    "Knuckle glides along the sole, firm pressure",
)
DURATIONS = ("twenty seconds", "thirty seconds", "forty five seconds", "one minute")


def announcements(count: int) -> list[str]:
    combos = itertools.product(FEET, AREAS, STROKES, DURATIONS)
    return [f"{foot}, {area}. {stroke}, {duration}." for foot, area, stroke, duration in itertools.islice(combos, count)]


class FirstClipTimer:
    """A Player stand-in that notes when the first clip arrives after `arm()`."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.arrived = threading.Event()

    def arm(self) -> None:
        self.first = None
        self.arrived.clear()

    def play(self, samples: np.ndarray, rate: int, tag: str = "") -> None:
        if self.first is None:
            self.first = time.perf_counter()
            self.arrived.set()

    def stop(self) -> None: ...
    def is_playing(self) -> bool:
        return False

    def current_tag(self) -> str | None:
        return None

    def wait(self, timeout: float | None = None) -> bool:
        return True


def measure(profile: VoiceProfile, texts: list[str], warm: bool) -> list[float]:
    player = FirstClipTimer()
    with tempfile.TemporaryDirectory() as folder:
        cache = SpeechCache(Path(folder))
        speaker = Speaker(profile, player, cache=cache)
        times = []
        for n, text in enumerate(texts):
            if not warm:  # nothing cached: announcements share sentences ("Left foot, arch.")
                speaker.close()
                speaker = Speaker(profile, player, cache=SpeechCache(Path(folder) / str(n)))
            if warm:
                speaker.prepare(text)
                keys = [cache_key(profile.engine, profile.voice, profile.rate, profile.volume, s)
                        for s in split_sentences(text)]
                while not all(cache.get(k) for k in keys):
                    time.sleep(0.005)
            player.arm()
            start = time.perf_counter()
            speaker.say(text)
            player.arrived.wait(30)
            assert player.first is not None
            times.append((player.first - start) * 1000)
            speaker.wait(30)
        speaker.close()
    return times


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    texts = announcements(args.count)
    rows = []
    for name in ("calm", "calm-piper"):
        profile = load_voice(name)
        start = time.perf_counter()
        try:
            open_synthesizer(profile.engine, profile.voice)  # engine start / voice load, once per process
        except UserError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        load_ms = (time.perf_counter() - start) * 1000
        measure(profile, texts[:2], warm=False)  # first inferences are slower (allocation): not counted
        cold = measure(profile, texts, warm=False)
        warm = measure(profile, texts, warm=True)
        rows.append((name, profile.engine, load_ms, cold, warm))
    print(f"time to first audio, {len(texts)} routine announcements (ms; engine load is once per process)")
    print(f"{'profile':<12} {'engine':<8} {'load':>6} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}")
    for name, engine, load_ms, cold, warm in rows:
        print(
            f"{name:<12} {engine:<8} {load_ms:>6.0f} {statistics.median(cold):>9.1f} {percentile(cold, 95):>9.1f} "
            f"{statistics.median(warm):>9.1f} {percentile(warm, 95):>9.1f}"
        )


if __name__ == "__main__":
    main()
