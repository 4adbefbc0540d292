"""How fast the session core runs: whole simulated sessions (20 minutes of session time) per second.

    .venv/bin/python scripts/bench_session.py [--runs 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

from companion.runner import Session, build_engine, simulate
from companion.script import parse_script
from companion.speech.phrases import load_phrases

SCRIPTS = {
    "quiet session": "> no\n> no\n> no\n> no\n> 3\n> 3\n> 3\n> 3\n> 4\n> 4\n> 4\n> 4\n",
    "busy session": "> no\n> no\n> no\n> yes\n> left\n> heel\n> 3\n> 3\n> 3\n> 3\n"
                    + "".join(f"{m:02d}:{s:02d} {w}\n" for m, s, w in [
                        (3, 10, "more time"), (4, 0, "pause"), (4, 30, "resume"), (6, 50, "more pressure here"),
                        (8, 20, "pain"), (9, 0, "where am i"), (10, 0, "skip"), (11, 0, "go back"),
                        (12, 0, "less pressure"), (14, 0, "repeat")])
                    + "> 4\n> 4\n> 4\n> 4\n",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    table = load_phrases("en")
    print("| script | session time | events | median wall time | p95 wall time |")
    print("|---|---|---|---|---|")
    for name, text in SCRIPTS.items():
        times, events, length = [], 0, 0.0
        for _ in range(args.runs):
            engine = build_engine("foot-circulation", 20)
            count = []
            start = time.perf_counter()
            simulate(Session(engine, [lambda t, a: count.append(a)]), parse_script(text), table)
            times.append(time.perf_counter() - start)
            events, length = len(count), engine.now
        times.sort()
        print(f"| {name} | {length / 60:.1f} min | {events} | {1000 * statistics.median(times):.1f} ms "
              f"| {1000 * times[int(0.95 * (len(times) - 1))]:.1f} ms |")


if __name__ == "__main__":
    main()
