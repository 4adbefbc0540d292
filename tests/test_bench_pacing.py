"""The pacing benchmark (scripts/bench_pacing.py) measures speech falling behind the steps with a real voice."""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

from companion.speech.voices import load_voice
from companion.voice import announce_pace

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_a_slower_voice_falls_further_behind_and_speaks_more_of_the_time():
    sys.path.append(str(SCRIPTS))
    bench = importlib.import_module("bench_pacing")
    said, begin, end = bench.step_speech(20)
    assert said[0][1].text == "Let's begin." and end - begin == 20 * 60
    brisk = load_voice("brisk")
    fast = bench.pacing(brisk, said, begin, end)
    slow = bench.pacing(dataclasses.replace(brisk, rate=90, sentence_pause=3.0), said, begin, end)
    assert 0.1 < fast["spoken"] < slow["spoken"]
    assert fast["worst"] < 2.0 < slow["worst"] and slow["announce_late"] > 0
    assert fast["longest"] < slow["longest"] and fast["longest"] < 1.0 < slow["longest"]
    assert fast["cues"] == slow["cues"] == sum(say.kind == "cue" for _, say in said)


def test_announcements_fitted_to_a_slow_voice_stay_inside_their_steps():
    sys.path.append(str(SCRIPTS))
    bench = importlib.import_module("bench_pacing")
    slow = dataclasses.replace(load_voice("brisk"), rate=100, sentence_pause=1.0)
    whole = bench.pacing(slow, *bench.step_speech(15))
    fitted = bench.pacing(slow, *bench.step_speech(15, announce_pace(slow)))
    assert whole["longest"] > 1.0 > fitted["longest"] and whole["announce_late"] > fitted["announce_late"] == 0
    assert fitted["spoken"] < whole["spoken"]
