"""SIGKILL a live text session at random moments: whatever it printed is in the database, the file is intact,
and the next start sees the session as interrupted. The kills run in parallel: the sessions mostly sleep."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from companion.store import Store
from fault_helpers import LiveRun, integrity, plain_events, stored_events

SPEED, MINUTES = 60, 15
SPAN_S = MINUTES * 60 / SPEED + 4  # start-up, the whole session, and a while waiting at the ratings
STAGGER_S = 0.3  # between starts, so that start-ups do not all compete for the CPU at once


@dataclass
class Outcome:
    at: float
    printed: int
    stage: str  # where the kill landed: start-up, opening, steps, closing


def _kill_once(db: Path, at: float, delay: float) -> Outcome:
    time.sleep(delay)
    run = LiveRun(db, speed=SPEED, minutes=MINUTES, rate_after=None)  # it waits at the ratings until killed
    time.sleep(max(0.0, at - (time.monotonic() - run.started)))
    assert run.process.poll() is None, f"ended before the kill at {at:.2f} s: {run.stderr}"
    run.kill()
    printed = run.printed()
    shown = plain_events(printed)
    stage = ("start-up" if not shown else "closing" if any("rate how the feet feel" in ln for ln in printed)
             else "steps" if any(kind == "step" for _, kind in shown) else "opening")
    if not db.exists():
        assert not shown
        return Outcome(at, 0, stage)
    assert integrity(db) == "ok"
    with Store(db) as store:
        sessions = store.sessions()
        if not sessions:
            assert not shown
            return Outcome(at, 0, stage)
        stored = stored_events(db, sessions[-1].id)
        assert stored[: len(shown)] == shown, f"killed at {at:.2f} s"
        assert len(stored) - len(shown) <= 1  # at most the one stored as it was killed, before printing
        assert sessions[-1].status == "interrupted"  # as history shows it, before the next start marks it
        assert store.mark_interrupted() == 1
        assert store.last_interrupted("me").id == sessions[-1].id
    return Outcome(at, len(shown), stage)


def _kill_many(tmp_path: Path, count: int, seed: int, parallel: int) -> list[Outcome]:
    rng = random.Random(seed)
    moments = [rng.uniform(0.05, SPAN_S) for _ in range(count)]
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda n: _kill_once(tmp_path / f"kill-{n}.sqlite3", moments[n], (n % parallel) * STAGGER_S),
                              range(count)))


def _report(outcomes: list[Outcome], started: float) -> None:
    stages = {stage: sum(o.stage == stage for o in outcomes) for stage in ("start-up", "opening", "steps", "closing")}
    print(f"\n{len(outcomes)} kills survived in {time.monotonic() - started:.1f} s; by stage {stages}; "
          f"events printed before a kill: up to {max(o.printed for o in outcomes)}")


def test_twenty_kills_lose_nothing_printed(tmp_path: Path) -> None:
    started = time.monotonic()
    outcomes = _kill_many(tmp_path, 20, seed=20240601, parallel=20)
    _report(outcomes, started)
    assert sum(o.stage == "steps" for o in outcomes) >= 10


@pytest.mark.slow
def test_a_hundred_kills_lose_nothing_printed(tmp_path: Path) -> None:
    started = time.monotonic()
    outcomes = _kill_many(tmp_path, 100, seed=6, parallel=25)
    _report(outcomes, started)
    assert {o.stage for o in outcomes} >= {"opening", "steps", "closing"}
