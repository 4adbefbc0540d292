"""Listening soak: the live listening loop on the virtual audio devices for a long time, with noise and
speech playing into the microphone, reporting memory, CPU, threads and open files as it goes.

    AUDIO_BUS_DIR=$(mktemp -d) scripts/audio-bus start && eval "$(AUDIO_BUS_DIR=… scripts/audio-bus env)"
    .venv/bin/python scripts/soak.py --minutes 120 [--engine auto]

Prints a row every --every minutes and a summary; exits 1 if memory grew by more than --max-growth MB or
threads / file descriptors leaked.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from companion.audio.capture import Microphone
from companion.speech.engines import open_recognizer
from companion.speech.listener import Listener
from companion.speech.wav import to_pcm16, write_wav

PHRASES = ["pause", "more time", "where am i", "the weather is nice today", "resume", "left foot arch"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def make_clips(folder: Path) -> list[Path]:
    """Speech over room noise, and noise alone, as 16 kHz WAVs to play into the microphone."""
    rng = np.random.default_rng(7)
    clips = []
    for i, text in enumerate(PHRASES):
        raw = folder / f"raw{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), text], check=True)
        clips.append(raw)
    noise = (rng.standard_normal(16000 * 3) * 10 ** (-35 / 20)).astype(np.float32)
    write_wav(folder / "noise.wav", to_pcm16(noise))
    clips.append(folder / "noise.wav")
    return clips


def play_forever(clips: list[Path], stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        subprocess.run(["paplay", "--device=mouth", str(clips[i % len(clips)])], check=False)
        i += 1
        stop.wait(2.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--every", type=float, default=5, help="minutes between report rows")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--max-growth", type=float, default=50, help="MB of RSS growth allowed after warm-up")
    args = parser.parse_args()

    recognizer, description = open_recognizer(args.engine, "en")
    heard = {"intents": 0, "rejected": 0}

    def on_recognition(rec) -> None:
        heard["intents" if rec.intent else "rejected"] += 1

    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp))
        player = threading.Thread(target=play_forever, args=(clips, stop), daemon=True)
        listener = Listener(recognizer, lambda: Microphone(), on_recognition).start()
        player.start()
        print(f"soak: {description}; {args.minutes:g} minutes")
        print("| minute | RSS MB | CPU % of one core | threads | fds | intents | rejected |")
        print("|---|---|---|---|---|---|---|")
        start, cpu0 = time.monotonic(), cpu_seconds()
        rows = []
        last_cpu, last_t = cpu0, start
        while True:
            time.sleep(min(args.every * 60, max(0.0, start + args.minutes * 60 - time.monotonic())))
            now, cpu = time.monotonic(), cpu_seconds()
            row = ((now - start) / 60, rss_mb(), 100 * (cpu - last_cpu) / max(now - last_t, 1e-9),
                   threading.active_count(), open_fds())
            rows.append(row)
            last_cpu, last_t = cpu, now
            print(f"| {row[0]:.1f} | {row[1]:.0f} | {row[2]:.1f} | {row[3]} | {row[4]} | {heard['intents']} | {heard['rejected']} |",
                  flush=True)
            if now - start >= args.minutes * 60:
                break
        stop.set()
        listener.stop()
        player.join(timeout=10)
    first, last = rows[0], rows[-1]
    growth = last[1] - first[1]
    print(f"RSS {first[1]:.0f} MB after the first interval, {last[1]:.0f} MB at the end ({growth:+.0f} MB); "
          f"threads {first[3]} → {last[3]}; fds {first[4]} → {last[4]}; "
          f"CPU {100 * (cpu_seconds() - cpu0) / (time.monotonic() - start):.1f} % of one core overall")
    leaked = growth > args.max_growth or last[3] > first[3] or last[4] > first[4] + 2
    return 1 if leaked else 0


if __name__ == "__main__":
    raise SystemExit(main())
