"""A voice session survives its audio devices going away and coming back (issue 6), on the virtual bus."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from companion.store import Store

pytestmark = pytest.mark.audio
ROUNDS = 10


def wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def state(out: Path) -> str:
    """Paused or running, by the last pause/resume line the session printed."""
    lines = [line for line in out.read_text().splitlines() if " pause: " in line or " resume: " in line]
    return "paused" if lines and " pause: " in lines[-1] else "running"


def test_session_pauses_when_the_headset_goes_and_resumes_when_it_is_back(audio_bus, tmp_path):
    db = tmp_path / "loss.sqlite3"
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    env = {**os.environ, **audio_bus.env(), "COMPANION_CACHE_DIR": str(tmp_path / "cache")}
    with open(out, "w") as stdout, open(err, "w") as stderr:
        session = subprocess.Popen(
            [sys.executable, "-m", "companion", "session", "--db", str(db), "--engine", "pocketsphinx",
             "--voice", "brisk", "--speed", "10", "--plain"],
            stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, text=True, env=env)
    try:
        session.stdin.write("no\nno\nno\nno\n3\n3\n3\n3\n")  # typed answers work in a voice session too
        session.stdin.flush()
        wait_for(lambda: " step: " in out.read_text(), 60, "the first step")
        for round_ in range(ROUNDS):
            audio_bus.unload_sinks()
            wait_for(lambda: state(out) == "paused", 20, f"a pause after unplugging #{round_ + 1}")
            audio_bus.restore_sinks()
            wait_for(lambda: state(out) == "running", 30, f"a resume after plugging back #{round_ + 1}")
            time.sleep(4)  # the microphone and the speaker report separately: let both settle
            wait_for(lambda: state(out) == "running", 30, f"running again after #{round_ + 1}")
        session.stdin.write("stop\nyes\n4\n4\n4\n4\n")
        session.stdin.flush()
        session.wait(timeout=90)
    except AssertionError as exc:  # a wait timed out: show what the session said and logged
        raise AssertionError(f"{exc}\n--- stdout:\n{out.read_text()[-3000:]}"
                             f"\n--- stderr:\n{err.read_text()[-3000:]}") from None
    finally:
        session.kill()
    text, errors = out.read_text(), err.read_text()
    assert session.returncode == 0, (session.returncode, errors[-2000:])
    assert "Traceback" not in errors
    detail = Store(Path(db)).session(Store(Path(db)).sessions()[-1].id)
    types = [e.type for e in detail.events]
    assert types.count("pause") >= ROUNDS and types.count("resume") >= ROUNDS
    assert any("is back. " in e.data.get("text", "") and "left in this step" in e.data["text"]
               for e in detail.events if e.type == "say")  # where we were, how firmly and what to do
    printed = [line for line in text.splitlines() if line[:2].isdigit()]
    assert len(printed) == len([e for e in detail.events if e.type != "earcon"])  # nothing printed is missing
    assert detail.summary.end_reason == "stopped by the user"
    assert [r.after for r in detail.summary.ratings if r.after is not None] == [4, 4, 4, 4]
