#!/usr/bin/env python3
"""Does the speech fit the steps? A quiet session (no commands) of the default routine, every sentence
said during its steps (the announcements fitted to the voice's pace, as in a spoken session) synthesised
with each voice profile's real voice at the pace the session speaks it,
queued one after the other as the Speaker plays them. Prints, per session length and voice: the share of
the steps' time spoken, how far speech falls behind the step timer (p95, worst), how many timing cues and
step announcements start more than 2 s late, and the longest announcement as a share of its step (from the
step's start to the end of its announcement, a late start included).

Usage: .venv/bin/python scripts/bench_pacing.py [--minutes 15,20,30] [--voices calm,clear,brisk]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from companion.errors import UserError
from companion.runner import Session, build_engine, simulate
from companion.script import parse_script
from companion.session.events import Action, Say
from companion.session.pacing import SpeechPace
from companion.speech.phrases import load_phrases
from companion.speech.speaker import RATE_STEP, paced_rate
from companion.speech.synth import open_synthesizer, split_sentences
from companion.speech.voices import VoiceProfile, load_voice
from companion.voice import PACE, announce_pace

LATE_S = 2.0
SAFE = "> no\n> no\n> no\n> no\n> 3\n> 3\n> 3\n> 3\n"  # the safety check and the baseline


def step_speech(minutes: float, pace: SpeechPace | None = None) -> tuple[list[tuple[float, Say]], float, float]:
    """What is said from the first step to the last, with when; the steps' start and end. ``pace``: the
    voice's, which the announcements are fitted to (as in a spoken session)."""
    said: list[tuple[float, Action]] = []
    engine = build_engine("foot-circulation", minutes, pace=pace)
    simulate(Session(engine, [lambda t, a: said.append((t, a))]), parse_script(SAFE), load_phrases("en"))
    said = said[next(i for i, (_, a) in enumerate(said) if isinstance(a, Say) and a.text == "Let's begin."):]
    end = next(t for t, a in said if isinstance(a, Say) and a.kind == "question")
    return [(t, a) for t, a in said if isinstance(a, Say) and t < end], said[0][0], end


def pacing(profile: VoiceProfile, said: list[tuple[float, Say]], begin: float, end: float) -> dict[str, float]:
    synth = open_synthesizer(profile.engine, profile.voice)
    free, spoken, lags = begin, 0.0, []
    late = {"cue": 0, "announce": 0}
    starts = [t for t, say in said if say.kind == "announce"] + [end]  # a quiet session: a step per announcement
    longest = 0.0
    for t, say in said:
        sentences = split_sentences(say.text)
        rate = paced_rate(profile.rate, PACE.get(say.kind, 1.0))
        length = sum(synth.synthesize(s, rate, profile.volume).duration for s in sentences)
        length += profile.sentence_pause * (len(sentences) - 1 + (free > t))
        start = max(t, free)
        free, spoken = start + length, spoken + length
        lags.append(start - t)
        if say.kind in late and start - t > LATE_S:
            late[say.kind] += 1
        if say.kind == "announce":
            longest = max(longest, (free - t) / (starts[starts.index(t) + 1] - t))
    kinds = [say.kind for _, say in said]
    return {"spoken": spoken / (end - begin), "p95": float(np.percentile(lags, 95)), "worst": max(lags),
            "cues_late": late["cue"], "cues": kinds.count("cue"),
            "announce_late": late["announce"], "announce": kinds.count("announce"), "longest": longest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="15,20,30", help="session lengths, comma-separated")
    parser.add_argument("--voices", default="brisk,calm,clear,calm-piper")
    args = parser.parse_args()
    print("| length | voice | rate (wpm) | time spoken | lag p95 (s) | worst lag (s) | cues > 2 s late "
          "| announcements > 2 s late | longest announcement ÷ its step |")
    print("|---|---|---|---|---|---|---|---|---|")
    for minutes in (float(m) for m in args.minutes.split(",")):
        for name in args.voices.split(","):
            base = load_voice(name)
            for slower in (0, 2):  # as chosen, and after "slower" twice
                profile = dataclasses.replace(base, rate=base.rate / RATE_STEP**slower)
                said, begin, end = step_speech(minutes, announce_pace(profile))
                try:
                    r = pacing(profile, said, begin, end)
                except UserError as exc:
                    print(f"| {minutes:g} min | {name} | skipped: {exc} |")
                    break
                label = name + (f", \"slower\" ×{slower}" if slower else "")
                print(f"| {minutes:g} min | {label} | {profile.rate:.0f} | {r['spoken']:.0%} | {r['p95']:.1f} "
                      f"| {r['worst']:.1f} | {r['cues_late']} of {r['cues']} | {r['announce_late']} of {r['announce']} "
                      f"| {r['longest']:.0%} |", flush=True)


if __name__ == "__main__":
    main()
