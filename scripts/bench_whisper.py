#!/usr/bin/env python3
"""Benchmark the Whisper engine on real recordings (Speech Commands, 16 kHz, 1 s each).

Prints in-vocabulary accuracy (the intent, and its value for numbers and feet), out-of-vocabulary
false accepts, per-clip processing latency p50/p95 (gate + decode, after the audio is in; a live user
also waits the gate's 0.3 s of trailing silence), CPU time and peak RSS.

    .venv/bin/python scripts/bench_whisper.py [--data DIR] [--per-word N] [--verbose]

``measure()`` is the function a wider recognition benchmark can call with any Recognizer factory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.audio.resample import resample
from companion.speech.recognizer import SAMPLE_RATE, Recognizer
from companion.speech.vad import FRAME, frame_db
from companion.speech.wav import read_samples, to_pcm16

from bench_recognition import DATA, IN_VOCABULARY, OUT_OF_VOCABULARY  # noqa: E402  (the same word lists)


def load_clip(path: Path, lead_in: float = 0.3, seed: int = 0) -> bytes:
    """A recording as a microphone stream delivers it: int16 PCM preceded by ``lead_in`` s of room tone
    (white noise at the clip's own quiet level), since many clips start with the word itself."""
    samples, rate = read_samples(path)
    samples = resample(samples, rate, SAMPLE_RATE)
    frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME)
    quiet_db = float(np.percentile([frame_db(f) for f in frames], 10))
    tone = np.random.default_rng(seed).standard_normal(int(lead_in * SAMPLE_RATE)) * 10 ** (quiet_db / 20)
    return to_pcm16(np.concatenate([tone, samples]))


@dataclass
class Result:
    correct: int = 0
    spoken: int = 0
    false_accepts: int = 0
    rejected_total: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    load_seconds: float = 0.0
    misses: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lat = np.array(self.latencies) * 1000
        return "\n".join([
            f"model load                 {self.load_seconds:.2f} s",
            f"in-vocabulary accuracy     {self.correct}/{self.spoken} = {self.correct / max(1, self.spoken):.1%}",
            f"out-of-vocabulary accepted {self.false_accepts}/{self.rejected_total} = "
            f"{self.false_accepts / max(1, self.rejected_total):.1%}",
            f"latency per clip           p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms",
            f"CPU time                   {self.cpu_seconds:.1f} s for {len(lat)} clips "
            f"({self.cpu_seconds / max(1, len(lat)) * 1000:.0f} ms per clip)",
            f"peak RSS                   {peak_rss_mb():.0f} MB",
        ])


def measure(make: Callable[[], Recognizer], data: Path = DATA, per_word: int = 10, chunk_ms: int = 20) -> Result:
    """Run every clip through a fresh stream of one recogniser (reset between clips)."""
    result = Result()
    started = time.perf_counter()
    recognizer = make()
    result.load_seconds = time.perf_counter() - started
    chunk = SAMPLE_RATE * 2 * chunk_ms // 1000
    cpu_start = time.process_time()
    for word in [*IN_VOCABULARY, *OUT_OF_VOCABULARY]:
        for path in sorted((data / word).glob("*.wav"))[:per_word]:
            pcm = load_clip(path)
            recognizer.reset()
            began = time.perf_counter()
            found = [r for i in range(0, len(pcm), chunk) for r in recognizer.accept(pcm[i : i + chunk])]
            found += recognizer.flush()
            result.latencies.append(time.perf_counter() - began)
            intents = [(r.intent.name, r.intent.value) for r in found if r.intent is not None]
            heard = " | ".join(r.text for r in found) or "-"
            if word in IN_VOCABULARY:
                result.spoken += 1
                if IN_VOCABULARY[word] in intents:
                    result.correct += 1
                else:
                    result.misses.append(f"miss  {word:7} heard {heard!r} → {intents}")
            else:
                result.rejected_total += 1
                if intents:
                    result.false_accepts += 1
                    result.misses.append(f"false {word:7} heard {heard!r} → {intents}")
    result.cpu_seconds = time.process_time() - cpu_start
    return result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="Speech Commands folders (<word>/*.wav)")
    parser.add_argument("--per-word", type=int, default=10)
    parser.add_argument("--model", help="a faster-whisper model directory (default: the usual search)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every miss and false accept")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"bench_whisper: no recordings in {args.data}; pass --data", file=sys.stderr)
        return 2
    from companion.speech.whisper_engine import WhisperRecognizer

    result = measure(lambda: WhisperRecognizer(model_dir=args.model), args.data, args.per_word)
    if args.verbose:
        print("\n".join(result.misses))
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
