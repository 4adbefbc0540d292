"""Smoke test of the recognition benchmark's parts on a handful of clips (scripts/bench_recognition.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.session.intents import Intent
from companion.speech.phrases import Phrase, load_phrases
from companion.speech.recognizer import SAMPLE_RATE, Recognition
from speech_fixtures import REAL_RECORDINGS

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_recognition.py"


@pytest.fixture(scope="module")
def bench():
    if str(SCRIPT.parent) not in sys.path:
        sys.path.append(str(SCRIPT.parent))  # importable by name, in the benchmark's worker processes too
    return importlib.import_module("bench_recognition")


@pytest.fixture(scope="module")
def store(bench, tmp_path_factory):
    return bench.SpeechStore(tmp_path_factory.mktemp("bench-cache"))


def test_real_clips_carry_the_expected_intent(bench):
    clips = bench.real_clips(REAL_RECORDINGS, per_word=1, words=["stop", "cat"])
    assert [c.expected for c in clips] == [("stop", None), None]
    assert all(0.3 < c.seconds < 2.0 for c in clips)


def test_noise_is_mixed_at_the_asked_snr(bench):
    rng = np.random.default_rng(0)
    tone = np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 440 / SAMPLE_RATE)
    clip, end = bench.mix(tone, "pink", 10.0, rng)
    lead = int(bench.LEAD_S * SAMPLE_RATE)
    noise_db = 10 * np.log10(np.mean(np.square(clip[: lead - 100])))
    assert end == pytest.approx(bench.LEAD_S + 1.0)
    assert noise_db == pytest.approx(-26.0 - 10.0, abs=1.5)  # speech at -26 dBFS, noise 10 dB below


def test_conditions_are_sampled_the_same_way_every_run(bench, store):
    table = load_phrases("en")
    voices = bench.VOICES[:1]
    first = bench.condition_clips(store, table, voices, "white 10 dB", 2, 1, None)
    again = bench.condition_clips(store, table, voices, "white 10 dB", 2, 1, None)
    assert [c.label for c in first] == [c.label for c in again] and len(first) == 3
    assert first[-1].expected[0] in bench.SAFETY
    assert first[0].pcm == again[0].pcm


def test_new_phrases_change_only_as_many_clips_as_they_add(bench, store):
    table = load_phrases("en")
    grown = dataclasses.replace(table, phrases=(*table.phrases, Phrase("go to the left foot", "next_foot"),
                                                 Phrase("switch to the right foot", "next_foot")))
    voices = bench.VOICES[:1]
    before = {c.label: c.pcm for c in bench.condition_clips(store, table, voices, "pink 10 dB", 12, 0, None)}
    after = {c.label: c.pcm for c in bench.condition_clips(store, grown, voices, "pink 10 dB", 12, 0, None)}
    kept = before.keys() & after.keys()
    assert len(after) == 12 and len(kept) >= 10
    assert all(before[label] == after[label] for label in kept)  # the same noise under the same clip


def test_scores_real_clips_with_pocketsphinx_and_the_baseline(bench):
    clips = bench.real_clips(REAL_RECORDINGS, per_word=1, words=["yes", "stop", "house"])
    for engine in ("pocketsphinx", "baseline"):
        tally = bench.score(bench.open_engine(engine), clips)
        assert (tally.commands, tally.negatives, tally.safety) == (2, 1, 1)
        assert tally.correct >= 1 and 0 < tally.rtf < 1
    assert bench.score(bench.BaselineRecognizer(), clips[2:]).false_accepts == 1  # no rejection at all


def test_echo_of_the_companions_words_is_not_admitted(bench):
    said = [bench.Said(1.0, 4.0, "Say pause at any time.", own=True), bench.Said(5.0, 6.0, "other talk", own=False)]
    echo = Recognition("pause", Intent("pause", text="pause"), 0.9, 2.0, 2.4)
    person = Recognition("pause", Intent("pause", text="pause"), 0.9, 5.1, 5.5)
    chatter = Recognition("skip", Intent("skip", text="skip"), 0.9, 2.0, 2.4)
    assert not bench.echo_gate_admits(echo, said)
    assert not bench.echo_gate_admits(chatter, said)  # only safety words get through while it speaks
    assert bench.echo_gate_admits(person, said)


def test_stream_counts_intents_by_source(bench):
    from companion.speech.wav import to_pcm16
    from speech_fixtures import espeak_samples

    speech = bench.at_level(espeak_samples("stop"), -26.0)
    audio = np.concatenate([bench.room_tone(SAMPLE_RATE), speech, bench.room_tone(SAMPLE_RATE)])
    said = [bench.Said(1.0, 1.0 + speech.size / SAMPLE_RATE, "stop", own=False)]
    result = bench.run_stream(bench.open_engine("baseline"), to_pcm16(audio + bench.room_tone(audio.size)), said)
    assert [line.split()[0] for line in result.other_intents] == ["stop"] and result.echo_admitted == []


def test_the_head_of_a_stream_keeps_what_is_said_whole_in_it(bench):
    said = [bench.Said(1.0, 50.0, "a", own=False), bench.Said(55.0, 65.0, "b", own=True)]
    pcm, kept = bench.stream_head((bytes(2 * SAMPLE_RATE * 120), said), minutes=1.0)
    assert len(pcm) == 2 * SAMPLE_RATE * 60 and [s.text for s in kept] == ["a"]


def test_markdown_table(bench):
    assert bench.table(["a", "b"], [["1", "2"]]) == "| a | b |\n|---|---|\n| 1 | 2 |"
    assert bench.percentiles([]) == "–" and bench.percentiles([0.1, 0.2]) == "150 / 195 ms"


def test_a_run_measures_each_engines_parts_in_worker_processes(bench, tmp_path):
    """The real-recording part of two engines through the worker pool, into one table."""
    data = tmp_path / "data"
    for word in ("stop", "house"):
        (data / word).mkdir(parents=True)
        for path in sorted((REAL_RECORDINGS / word).glob("*.wav"))[:2]:
            (data / word / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "bench.md"
    assert bench.main(["--engines", "pocketsphinx,baseline", "--data", str(data), "--cache", str(tmp_path / "cache"),
                       "--skip", "synthetic,stream,latency,bus,cost,korean", "--out", str(out)]) == 0
    rows = {line.split("|")[1].strip(): line for line in out.read_text().splitlines() if line.startswith("| ")}
    assert "(2/2)" in rows["baseline"]  # no rejection: both "house" recordings are taken for something
    assert "/2)" in rows["pocketsphinx"] and "of 7" in rows["pocketsphinx"]


def test_phrases_are_scored_as_a_session_listens_for_them(bench):
    from companion.session.engine import STEP_COMMANDS

    assert bench.session_context("more_pressure") == frozenset(STEP_COMMANDS)
    during_area_question = bench.session_context("area")
    assert "area" in during_area_question and "stop" in during_area_question and "yes" not in during_area_question
    heard: list[frozenset | None] = []

    class Listening:  # records what it was told to listen for when each clip came
        def expect(self, intents):
            heard.append(intents)

        def accept(self, pcm):
            return []

        def flush(self):
            return []

        def reset(self):
            pass

    clips = [bench.Clip(b"\0\0" * 160, want, label, 0.01) for want, label in
             ((("yes", None), "yes"), (("skip", None), "skip"), (("no", None), "no"))]
    tally = bench.score_in_session(Listening(), clips)
    assert (tally.commands, tally.correct, len(tally.misses)) == (3, 0, 3)
    assert heard == [bench.session_context("yes"), bench.session_context("skip"), None]
