"""Step announcements fitted to the voice's pace: a short step at a slow pace leaves out its instruction (then
the phase's name); where, technique, pressure and duration are always said; "repeat" says it all."""

from __future__ import annotations

from dataclasses import replace

import pytest

from companion.runner import Session, build_engine, simulate
from companion.script import parse_script
from companion.session import wording
from companion.session.engine import ANNOUNCE_SHARE
from companion.session.events import AdjustVoice, Prepare, Say
from companion.session.pacing import SpeechPace, spoken_seconds
from companion.speech.phrases import load_phrases
from companion.speech.voices import load_voice
from companion.voice import PaceSink, announce_pace
from session_helpers import SAFE, Collector

SLOW = SpeechPace(115, 1.0)  # the "clear" voice's announcements (125 words a minute × 0.92, 1 s between sentences)
FAST = SpeechPace(170, 0.3)  # "brisk"


def announcements(minutes: int, pace: SpeechPace | None, script: str = "") -> dict[str, str]:
    """Step id → what was said when it began."""
    engine = build_engine("foot-circulation", minutes, pace=pace)
    out = Collector()
    simulate(Session(engine, [out]), parse_script(SAFE + script), load_phrases("en"))
    said = {e["t"]: e["text"] for e in out.of("say") if e["kind"] == "announce"}
    return {s["id"]: said[s["t"]] for s in out.of("step")}


def step(step_id: str, minutes: int = 15):
    return next(p for p in build_engine("foot-circulation", minutes).plan if p.step.id == step_id)


def test_the_estimate_counts_letters_commas_and_the_pauses_between_sentences():
    assert spoken_seconds("Left foot.", SLOW) < spoken_seconds("Left foot, ball of the foot.", SLOW)
    assert spoken_seconds("One. Two.", SLOW) == pytest.approx(spoken_seconds("One. Two.", SpeechPace(115)) + 1)
    # the clear voice took 17-26 s for the focused steps' whole announcements
    assert 17 < spoken_seconds(announcements(15, None)["left-toes"], SLOW) < 26


def test_a_short_step_at_a_slow_pace_leaves_out_its_instruction_and_a_long_one_keeps_it():
    short = announcements(15, SLOW)  # 20-s point work
    ankle = step("left-ankle")
    assert short["left-ankle"] == "Left foot, ankle. Same technique, light pressure, twenty seconds."
    assert ankle.step.instruction not in short["left-ankle"]
    assert short["left-warm"].endswith(step("left-warm").step.instruction)  # 55 s: room for it
    long = announcements(30, SLOW)  # 45-s point work
    assert long["left-ankle"].endswith(ankle.step.instruction)
    for text in short.values():  # where, pressure, duration always; inside two thirds of the step
        assert "foot" in text and ("seconds" in text or "minute" in text)
    plan = {p.step.id: p for p in build_engine("foot-circulation", 15).plan}
    for step_id, text in short.items():
        if plan[step_id].step.caution:  # never left out, however short the step ("Never press … heel spur")
            assert text.endswith(plan[step_id].step.caution)
        else:
            assert spoken_seconds(text, SLOW) <= ANNOUNCE_SHARE * plan[step_id].duration


def test_the_phase_name_goes_next_but_the_technique_stays():
    toes = announcements(15, SLOW)["left-toes"]
    assert toes == "Left foot, toes. Fingertip friction in very small circles, medium pressure, twenty seconds."
    roomier = announcements(15, SpeechPace(140, 0.6))["left-toes"]  # without the instruction, the phase fits
    assert roomier.startswith("Focused work, area by area. Left foot, toes. Fingertip friction")
    assert step("left-toes").step.instruction not in roomier


def test_without_a_pace_or_at_a_brisk_one_the_default_session_is_said_in_full():
    full = announcements(20, None)
    assert announcements(20, FAST) == full
    assert announcements(20, announce_pace(load_voice("calm"))) == full
    for step_id, text in full.items():
        assert text.endswith(step(step_id, 20).step.guidance)


def test_steps_cut_to_fifteen_seconds_by_more_time_elsewhere_stay_inside_them():
    said = announcements(15, SLOW, "03:00 more time\n03:05 more time\n")
    assert said["left-ankle"] == "Left foot, ankle. Same technique, light pressure, fifteen seconds."
    assert spoken_seconds(said["left-ankle"], SLOW) < 10


def test_repeat_and_resume_still_give_the_instruction():
    engine = build_engine("foot-circulation", 15, pace=SLOW)
    out = Collector()
    simulate(Session(engine, [out]), parse_script(SAFE + "06:40 repeat\n06:42 pause\n06:44 resume\n"),
             load_phrases("en"))
    ankle = step("left-ankle").step
    assert next(s["t"] for s in out.of("step") if s["id"] == "left-ankle") == 395  # 06:40 falls in it
    repeated = next(e["text"] for e in out.of("say") if e["t"] == 400)
    assert repeated == wording.announcement(ankle, "light", 15, remaining=True)  # five seconds gone
    assert repeated.endswith(ankle.instruction)
    resumed = next(e["text"] for e in out.of("say") if e["t"] == 404)
    assert resumed.startswith("Resuming.") and resumed.endswith(ankle.instruction)


def test_the_prepared_announcement_is_the_one_said():
    engine = build_engine("foot-circulation", 15, pace=SLOW)
    actions: list = []
    simulate(Session(engine, [lambda t, a: actions.append(a)]), parse_script(SAFE), load_phrases("en"))
    prepared = [a.text for a in actions if isinstance(a, Prepare)]
    said = [a.text for a in actions if isinstance(a, Say) and a.kind == "announce"]
    assert set(prepared) <= set(said)
    assert "Left foot, ankle. Same technique, light pressure, twenty seconds." in prepared


class FakeSpeaker:
    def __init__(self, profile) -> None:
        self.profile = profile


def test_the_pace_follows_the_speaker_from_the_start_and_after_slower():
    engine = build_engine("foot-circulation", 15)
    speaker = FakeSpeaker(load_voice("clear"))
    sink = PaceSink(engine, speaker)
    assert engine.options.pace == SpeechPace(115, 1.0)
    speaker.profile = replace(speaker.profile, rate=108.7)  # "slower": what the speaker made of it
    sink(0.0, Say("Slower.", "confirm"))
    assert engine.options.pace.words_per_minute == 115
    sink(0.0, AdjustVoice("rate", -1))
    assert engine.options.pace == SpeechPace(100, 1.0)
    PaceSink(engine, speaker, speed=10)  # a session clock ten times faster: ten times less time to speak
    assert engine.options.pace == SpeechPace(10, 10.0)


def said_in_steps(minutes: int, pace: SpeechPace | None) -> list[tuple[float, str]]:
    engine = build_engine("foot-circulation", minutes, pace=pace)
    out = Collector()
    simulate(Session(engine, [out]), parse_script(SAFE), load_phrases("en"))
    return [(e["t"], e["text"]) for e in out.of("say") if e["kind"] in ("announce", "cue")]


def test_a_cue_due_during_a_long_announcement_waits_for_its_end_without_halfway():
    clear = load_voice("clear")
    slowest = announce_pace(replace(clear, rate=clear.rate / 1.15**2))  # after "slower" twice: 87 words a minute
    before, after = dict(said_in_steps(15, None)), said_in_steps(15, slowest)
    steps = {p.step.id: p for p in build_engine("foot-circulation", 15).plan}
    circles = next(t for t, text in after if text.startswith("Finishing strokes. Left foot."))
    length = steps["left-overlapping-circles"].duration
    assert before[circles + length / 2].startswith("Halfway. Each circle")  # 35 s in, the announcement still runs
    text = next(text for t, text in after if circles < t < circles + length)
    when = next(t for t, x in after if x == text)
    assert text == "Each circle starts a little further down the foot and overlaps the last one."
    announced = next(x for t, x in after if t == circles)
    assert when - circles == pytest.approx(spoken_seconds(announced, slowest) + 2, abs=1)  # a tick a second
    assert any(x.startswith("Ten seconds left") for t, x in after if circles < t < circles + length)


def test_the_calm_voice_hears_the_default_session_as_before():
    assert said_in_steps(20, announce_pace(load_voice("calm"))) == said_in_steps(20, None)
