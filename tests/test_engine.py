"""The session engine, driven by scripts in simulated time."""

import io

import pytest

from companion.runner import PlainSink, build_engine, understand
from companion.session.events import (
    Action, AdjustVoice, DeviceBack, DeviceLost, Earcon, EndRequested, Heard, Listen, Record, Say, StopSpeech, Tick,
    VoiceChanged,
)
from companion.session import wording
from companion.session.intents import Intent
from companion.session.pacing import SpeechPace
from companion.session.profile import Profile
from companion.speech.phrases import load_phrases
from session_helpers import CHECK, SAFE, Collector, run_script, step_at

RATINGS = "> 2\n> three\n> 4\n> 2\n"
BUDGET = 20 * 60


def test_a_plain_session_announces_every_step_in_order_and_ends_on_time():
    engine, out = run_script(SAFE + RATINGS + "> 4\n> 4\n> 5\n> 4\n")
    steps = out.of("step")
    assert [s["id"] for s in steps] == [p.step.id for p in engine.plan]
    assert out.of("end") == [{"t": BUDGET, "type": "end", "reason": "routine complete", "duration": BUDGET}]
    ratings = {(r["when"], r["measure"]): r["value"] for r in out.of("rating")}
    assert ratings[("before", "colour")] == 3 and ratings[("after", "swelling")] == 5
    assert "Warmth of the feet went from two to four, toward warm." in out.said()[-1]
    assert "The swelling, from one, very swollen, to five, no swelling?" in out.said()  # each scale said again
    for step in steps:  # each announcement says where, how firmly and for how long
        text = next(e["text"] for e in out.of("say") if e["t"] == step["t"] and e["kind"] == "announce")
        assert ("left" in text.lower() or "right" in text.lower() or "both" in text.lower())
        if step["pressure"] != "none":
            assert f"{step['pressure']} pressure" in text
        assert "seconds" in text or "minute" in text


def test_halfway_and_ten_seconds_cues_with_the_next_step():
    _, out = run_script(SAFE)
    cues = [e for e in out.of("say") if e["kind"] == "cue"]
    soak_cues = [c for c in cues if c["t"] < 120]
    assert soak_cues[0] == {"t": 60, "type": "say", "text": "Halfway. Let the feet relax in the water.", "kind": "cue"}
    assert soak_cues[-1]["t"] == 110 and soak_cues[-1]["text"] == "Ten seconds left. Next: both feet, positioning."
    _, longer = run_script(SAFE, minutes=30)  # the last step lasts a minute or more only in a longer session
    assert [e for e in longer.of("say") if e["kind"] == "cue"][-1]["text"] == "Ten seconds left, then we finish."


def test_short_steps_leave_quiet_to_work_in():
    """A 30-s step's announcement takes ≈ 20 s with the slow voice: no timed cues in it, and a technique
    just announced is not named again."""
    _, out = run_script(SAFE)
    focused = [s for s in out.of("step") if s["duration"] < 60]
    assert focused
    for step in focused:
        during = [e for e in out.of("say") if step["t"] < e["t"] < step["t"] + step["duration"]]
        assert not [e for e in during if e["kind"] == "cue"]
    said = out.said()
    assert "Left foot, ball of the foot. Same technique, medium pressure, thirty seconds. Work the ball" in " ".join(said)
    assert sum("Fingertip friction in very small circles" in text for text in said) == 2  # once on each foot


def test_pause_stops_the_timers_and_resume_goes_on():
    _, plain = run_script(SAFE)
    _, out = run_script(SAFE + "03:10 pause\n03:40 hold on\n05:10 resume\n")
    assert out.of("end")[0]["duration"] == plain.of("end")[0]["duration"] + 120
    assert out.of("pause")[0]["t"] == 190 and out.of("resume")[0]["t"] == 310
    assert any(isinstance(a, StopSpeech) for t, a in out.actions if t == 190)
    assert "We are already paused" in " ".join(e["text"] for e in out.of("say") if e["t"] == 220)
    resumed = [e["text"] for e in out.of("say") if e["t"] == 310]
    assert resumed[0].startswith("Resuming. Left foot: palm warming.")
    assert resumed[0].endswith("Light pressure. Use the broad surfaces of your palms to warm the foot with "
                               "friction, and spread the oil where it will be needed.")
    assert step_at(out, 309)["id"] == "left-warm"


def test_a_resume_says_why_in_the_record_and_in_the_plain_lines():
    """README's table gives pause and resume a reason: a resume asked for had none ("05:29 resume: " in --plain)."""
    _, out = run_script(SAFE + "03:10 pause\n05:29 resume\n")
    assert out.of("resume") == [{"t": 329, "type": "resume", "reason": "asked to resume"}]
    lines = io.StringIO()
    for t, action in out.actions:
        PlainSink(lines)(t, action)
    assert "05:29 resume: reason=asked to resume\n" in lines.getvalue()
    bare = io.StringIO()
    PlainSink(bare)(329, Record("resume"))
    assert bare.getvalue() == "05:29 resume\n"


def test_stop_while_paused_can_be_answered_and_no_keeps_the_pause():
    _, out = run_script(SAFE + RATINGS + "03:10 pause\n03:20 stop\n03:25 no\n03:40 resume\n")
    assert "All right. We are still paused; say resume when you are ready." in out.said()
    assert out.of("resume")[0]["t"] == 220 and step_at(out, 230)["id"] == "left-warm"
    _, ended = run_script(SAFE + RATINGS + "03:10 pause\n03:20 stop\n03:25 yes\n> 4\n")
    assert "We'll stop the massage here. Rest the feet for a moment." in ended.said()
    assert [r["value"] for r in ended.of("rating") if r["when"] == "after"][0] == 4


def test_skip_back_and_repeat():
    _, out = run_script(SAFE + "00:30 skip\n01:20 go back\n01:25 say that again\n")
    steps = out.of("step")
    assert [(s["id"], s["t"]) for s in steps[:4]] == [("soak", 0), ("position", 30), ("soak", 80), ("position", 200)]
    assert steps[4]["id"] == "left-warm" and steps[4]["t"] == 260
    assert out.of("plan")[0] == {"t": 30, "type": "plan", "change": "skip", "step": "soak", "reason": "asked to skip"}
    repeated = [e["text"] for e in out.of("say") if e["t"] == 85]
    assert repeated == ["Both feet. Cleansing foot soak, one minute and fifty-five seconds left. Soak both feet briefly "
                        "in a warm, cleansing foot bath. It cleans the skin and relaxes the feet."]  # not "two minutes"
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    for intent in (Intent("no"), Intent("no"), Intent("repeat")):
        said = [a.text for a in engine.handle(Heard(intent, 5.0)) if isinstance(a, Say)]
    assert said == ["Is there swelling in the feet or ankles?"]  # a question, as it was asked


def test_more_time_extends_the_step_and_keeps_the_session_within_its_budget():
    _, out = run_script(SAFE + "03:10 more time\n03:20 longer\n")
    warm = [s for s in out.of("step") if s["id"] == "left-warm"][0]
    nxt = [s for s in out.of("step") if s["t"] > warm["t"]][0]
    assert nxt["t"] - warm["t"] == 75 + 60
    shortened = [p for p in out.of("plan") if p["change"] == "shorten"]
    assert sum(p["seconds"] for p in shortened) == 60
    assert all(p["step"].startswith("right-") for p in shortened)  # taken from the latest optional steps
    assert out.of("end")[0]["duration"] == BUDGET
    assert ("Thirty more seconds here. To stay on time I've shortened: right foot, heel and ankle, fingertip friction "
            "in very small circles.") in out.said()  # one technique on one foot: named once


def test_each_shortened_step_is_named_by_its_foot_area_and_technique():
    _, out = run_script(SAFE + "03:10 more time\n03:20 more time\n03:30 more time\n")
    assert "Thirty more seconds here. To stay on time I've shortened: right foot, long strokes alternating with short " \
           "circular strokes; right foot, toes, fingertip friction in very small circles." in out.said()  # in their order


def test_more_time_beyond_what_can_be_won_back_says_the_running_total():
    lines = "".join(f"{3 + i // 2:02d}:{10 + 20 * (i % 2):02d} more time\n" for i in range(40))
    _, out = run_script(SAFE + lines)
    over = out.of("end")[0]["duration"] - BUDGET
    totals = [t.split("will now run ")[1] for t in out.said() if "longer than planned" in t]
    assert over > 0 and len(totals) > 1 and len(set(totals)) == len(totals)  # each says the new total
    assert totals[-1] == f"{wording.duration_words(over)} longer than planned."


def test_going_back_near_the_end_says_the_session_runs_longer():
    _, out = run_script(SAFE + "17:50 back\n17:55 back\n")
    over = out.of("end")[0]["duration"] - BUDGET
    assert over > 0
    assert f"Going back. The session will now run {wording.duration_words(over)} longer than planned." in out.said()


def test_less_time_shortens_this_step_only():
    _, out = run_script(SAFE + "00:10 less time\n")
    assert out.of("step")[1]["t"] == 90
    assert out.of("end")[0]["duration"] == BUDGET - 30


def test_more_pressure_changes_this_and_later_steps_on_the_same_spot_and_is_remembered():
    _, out = run_script(SAFE + "06:50 more pressure here\n")  # left-toes (focused, medium) runs 6:45-7:15
    step = step_at(out, 410)
    assert step["id"] == "left-toes"
    changes = [p for p in out.of("plan") if p["change"] == "pressure"]
    assert changes and all(c["to"] == "firm" for c in changes)
    assert {c["step"] for c in changes} == {step["id"]}
    assert out.of("preference") == [{"t": 410, "type": "preference", "foot": "left", "area": step["area"], "pressure": "firm"}]
    _, twice = run_script(SAFE + "06:50 more pressure here\n06:55 firmer\n")
    assert "already firm pressure" in " ".join(twice.said())


def test_less_pressure_on_a_whole_foot_stroke_softens_the_rest_of_that_foot():
    _, out = run_script(SAFE + "05:30 gentler\n")  # left-long-and-circular (medium) runs 5:15-6:45
    changes = [p for p in out.of("plan") if p["change"] == "pressure"]
    assert [(c["step"], c["to"]) for c in changes] == [("left-long-and-circular", "light")]
    assert out.of("step")[4]["pressure"] == "medium"  # as announced, before the change
    assert [s for s in out.of("step") if s["id"] == "right-long-and-circular"][0]["pressure"] == "medium"


def test_pain_eases_at_once_softens_the_spot_and_skips_its_point_work():
    _, out = run_script(SAFE + "08:20 ouch\n")  # left-heel runs 8:15-8:45
    at_pain = [a for t, a in out.actions if t == 500]
    assert isinstance(at_pain[0], StopSpeech)  # the first thing done, in the same tick
    assert out.of("sensitive")[0] == {"t": 500, "type": "sensitive", "foot": "left", "area": "heel", "reason": "pain reported"}
    assert any("Ease off now" in t for t in out.said())
    assert step_at(out, 500)["id"] == "left-ankle"  # the heel point work stopped at once
    right = [s for s in out.of("step") if s["foot"] == "right"]
    assert "right-heel" in [s["id"] for s in right]  # only the left heel is sore


def test_pain_twice_skips_the_area_and_three_times_offers_to_end():
    _, out = run_script(SAFE + RATINGS + "04:30 that hurts\n04:45 pain\n05:00 too much\n> yes\n")
    assert [(s["foot"], s["area"]) for s in out.of("sensitive")] == [("left", "whole"), ("left", "whole"), ("right", "whole")]
    skips = [p["step"] for p in out.of("plan") if p["change"] == "skip"]
    assert "left-long-and-circular" in skips and "left-final-circle" in skips
    assert step_at(out, 285)["id"] == "right-warm"  # the second report left the whole left foot alone
    assert any("third time it hurt" in t for t in out.said())
    assert out.of("end")[0]["reason"] == "ended after repeated pain"
    assert out.of("end")[0]["duration"] == 300


def test_pain_said_twice_in_a_breath_is_one_report():
    """"Ouch… that hurts": the second cut off the reply to the first, so it is said again; nothing more is left out."""
    _, out = run_script(SAFE + RATINGS + "14:00 ouch\n14:03 that hurts\n14:08 ouch\n")
    assert len(out.of("sensitive")) == 1 and out.of("end")[0]["reason"] == "routine complete"
    replies = [t for t in out.said() if t.startswith("Ease off")]
    assert len(replies) == 3 and len(set(replies)) == 1
    _, later = run_script(SAFE + RATINGS + "14:00 ouch\n14:15 that hurts\n")  # not in the same breath
    assert any("We'll leave your right foot alone" in t for t in later.said())


def test_pain_at_another_spot_in_the_same_breath_is_its_own_report():
    _, out = run_script(SAFE + RATINGS + "03:10 pain in my left heel\n03:13 and my right toes\n03:15 pain in my right toes\n")
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [("left", "heel"), ("right", "toes")]


def test_ending_is_offered_at_the_third_pain_then_again_only_three_reports_later():
    spots = ("left heel", "left toes", "right heel", "right toes", "right arch", "left arch")
    pains = "".join(f"04:{i}0 pain in my {spot}\n" for i, spot in enumerate(spots))
    _, out = run_script(SAFE + RATINGS + pains + "> no\n> no\n")
    assert len(out.of("sensitive")) == 6
    said = out.said()
    offers = [i for i, t in enumerate(said) if t == "Would you like to end the session?"]
    assert [said[i - 1] for i in offers] == ["That is the third time it hurt.", "That is the sixth time it hurt."]


def test_pain_during_the_soak_marks_no_spot_unless_one_is_named():
    _, out = run_script(SAFE + RATINGS + "00:30 ouch\n01:00 that hurts\n")
    assert out.of("sensitive") == [] and not [p for p in out.of("plan") if p["change"] == "skip"]
    assert "Take your time. If a spot hurts, say where: for example, pain in my left heel." in out.said()
    _, named = run_script(SAFE + RATINGS + "00:30 pain in my left heel\n")
    assert [(e["foot"], e["area"]) for e in named.of("sensitive")] == [("left", "heel")]


def test_pain_twice_on_both_whole_feet_stops_rather_than_calling_the_massage_complete():
    _, out = run_script(SAFE + RATINGS + "03:10 pain in both feet\n03:25 pain in both feet\n")
    said = out.said()
    assert "Ease off now. We'll leave both feet alone for the rest of the session." in said
    assert not any("The massage is complete" in t for t in said)
    assert out.of("end")[0]["reason"] == "ended after repeated pain"


def test_pain_mentions_point_work_only_when_some_is_left_to_skip():
    _, early = run_script(SAFE + RATINGS + "03:10 pain\n")
    assert ("Ease off now. I'll keep your left foot light from here and skip the point work there. "
            "Go on gently: palm warming.") in early.said()
    _, late = run_script(SAFE + RATINGS + "11:10 pain\n")  # the left foot's final circle: no point work after it
    assert "Ease off now. I'll keep your left foot light from here. Go on gently: final circle of strokes." in late.said()


def test_pain_while_the_end_question_is_open_asks_it_once_again():
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    for t, intent in enumerate([Intent("no")] * 4 + [Intent("number", value=3)] * 4 + [Intent("pain")] * 4):
        said = [a.text for a in engine.handle(Heard(intent, float(20 * t))) if isinstance(a, Say)]
    assert said[0].startswith(("Ease off now", "Take your time")) and said[1:] == ["Would you like to end the session?"]
    assert engine.asking.id == "end-after-pain" and not engine.questions


def test_no_clear_answer_to_ending_after_pain_goes_on_without_saying_all_right():
    _, out = run_script(SAFE + RATINGS + "04:30 pain\n04:45 pain\n05:00 pain\n> banana\n> pancake\n> hmm\n")
    said = out.said()
    i = said.index("We'll go on gently. Say stop at any time to end the session.")  # the script's answers used up
    assert said[i - 6 : i] == ["Sorry, I didn't catch that. Please say yes or no.",
                               "Would you like to end the session?"] * 3
    assert not [t for t in said if t.startswith("All right")]
    assert out.of("end")[0]["reason"] == "routine complete"


def test_pain_names_its_spot():
    _, out = run_script(SAFE + "04:30 pain in my right heel\n")
    assert out.of("sensitive")[0]["foot"] == "right" and out.of("sensitive")[0]["area"] == "heel"
    assert "right-heel" not in [s["id"] for s in out.of("step")]


def test_pressure_never_rises_on_a_sore_spot():
    _, out = run_script(SAFE + "05:00 pain\n05:01 harder\n")
    assert not [p for p in out.of("plan") if p["change"] == "pressure" and p["to"] in ("medium", "firm")]
    assert any("I'll keep it light" in t for t in out.said())


def test_where_am_i_help_and_voice_commands():
    _, out = run_script(SAFE + "03:10 where am i\n03:11 what can i say\n03:12 slower\n03:13 louder\n")
    said = {e["t"]: e["text"] for e in out.of("say") if e["t"] in (190, 191)}
    assert said[190].startswith("Left foot: palm warming. Sixty-five seconds left".replace("Sixty-five seconds", "One minute and five seconds"))
    assert said[190].endswith("left in the session. Next: left foot, long strokes from the toes toward the ankle.")
    assert "pause" in said[191] and "pain" in said[191] and "more time" in said[191]
    assert not [a for t, a in out.actions if isinstance(a, AdjustVoice)]  # not spoken: no voice to change


@pytest.mark.parametrize(("words", "setting", "direction"), [("slower", "rate", -1), ("louder", "volume", 1),
                                                             ("change voice", "voice", 1)])
def test_a_voice_change_is_said_like_any_reply(words, setting, direction):
    """Its reply came from the speaker alone: never in the record (--plain, --said-only); typed, there was none."""
    typed = opened()
    assert talk(typed, (200, words))[-1] == "This session is not spoken, so there is no voice to change."
    spoken = build_engine("foot-circulation", 20, pace=SpeechPace(150, 0.5))
    spoken.start(0)
    out = spoken.handle(Heard(understand(load_phrases("en"), words, spoken.listening), 1))
    assert AdjustVoice(setting, direction) in out and not [a for a in out if isinstance(a, Say)]
    assert spoken.handle(VoiceChanged("That is as loud as I speak.", 1)) == [Say("That is as loud as I speak.", "confirm")]


def test_stop_asks_to_confirm_then_goes_to_ratings():
    _, out = run_script(SAFE + RATINGS + "05:00 stop\n> no\n06:00 end session\n> yes\n> 5\n")
    questions = [e["text"] for e in out.of("say") if e["kind"] == "question"]
    assert questions.count("Do you want to end the session now? Say yes or no.") == 2
    assert out.of("end")[0]["reason"] == "stopped by the user"
    assert out.of("end")[0]["duration"] == 360
    after = [r for r in out.of("rating") if r["when"] == "after"]
    assert [r["value"] for r in after] == [5, None, None, None]


def test_swelling_removes_toe_to_ankle_strokes_and_keeps_all_pressure_light():
    _, out = run_script("> no\n> no\n> yes\n> no\n")
    ids = [s["id"] for s in out.of("step")]
    assert "left-toe-to-ankle" not in ids and "right-toe-to-ankle" not in ids
    assert {s["pressure"] for s in out.of("step")} <= {"none", "light"}
    _, more = run_script("> no\n> no\n> yes\n> no\n04:00 more pressure\n")
    assert "Since there is swelling, we keep the pressure light." in more.said()
    _, unsure = run_script("> no\n> no\n> skip\n> no\n04:00 more pressure\n")
    assert "Since I could not confirm there is no swelling, we keep the pressure light." in unsure.said()


@pytest.mark.parametrize("answers", ["> yes\n", "> no\n> yes\n", "> skip\n", "> no\n> pardon\n> what\n> hmm\n"])
def test_contraindications_stop_the_session_before_any_touch(answers):
    _, out = run_script(answers)
    assert out.of("step") == []
    assert out.of("end")[0]["reason"] == "contraindicated"
    assert "physician" in out.said()[-1]


@pytest.mark.parametrize(("answers", "said"), [
    ("> yes\n", "Then we should not start: you said there is a circulation disorder, a blood clot or diabetes "
                 "affecting the feet."),
    ("> skip\n", "Then we should not start: I could not rule out a circulation disorder, a blood clot or diabetes "
                  "affecting the feet."),
    ("> no\n> skip\n", "Then we should not start: I could not rule out an open wound, a skin condition or an "
                         "infection."),
])
def test_a_contraindication_is_said_back_in_plain_sentences(answers, said):
    _, out = run_script(answers)
    assert out.said()[-1].startswith(said)
    assert out.said()[-1].endswith(" If a physician has cleared the massage, whoever set up the companion can start "
                                   "it again with the cleared-by-physician option.")


def test_a_physician_clearance_starts_gently():
    _, out = run_script("> yes\n> no\n> no\n> no\n", cleared=True)
    assert out.of("end")[0]["reason"] == "routine complete"
    assert {s["pressure"] for s in out.of("step")} <= {"none", "light"}


def test_a_physician_cleared_client_hears_the_clearance_once_and_how_to_work_around_a_wound():
    _, out = run_script("> yes\n> yes\n> yes\n> no\n" + RATINGS, cleared=True)
    said = " ".join(out.said())
    assert said.count("You have said a physician cleared this massage.") == 1
    assert said.count("light throughout") == 1  # not again for the swelling
    assert "Since there is swelling, I'll leave out the pressure strokes toward the ankle." in said
    assert said.count("Work around any wound or infected skin, never over it.") == 1


def test_a_physician_cleared_client_keeps_light_pressure_when_asking_for_more():
    _, out = run_script("> yes\n> no\n> no\n> no\n" + RATINGS + "04:30 more pressure\n", cleared=True)
    assert not [p for p in out.of("plan") if p["change"] == "pressure" and p["to"] in ("medium", "firm")]
    assert out.of("preference") == []
    assert "As this massage needed a physician's clearance, we keep the pressure light." in out.said()


def test_a_painful_spot_from_the_safety_check_is_sore_from_the_start():
    _, out = run_script("> no\n> no\n> no\n> yes\n> right\n> heel\n")
    assert out.of("sensitive")[0]["reason"] == "painful spot reported in the safety check"
    ids = [s["id"] for s in out.of("step")]
    assert "right-heel" not in ids and "left-heel" in ids


@pytest.mark.parametrize(("answers", "asked", "spot"), [
    ("> yes, my left heel\n", [], ("left", "heel")),
    ("> yes, my right foot\n> arch\n", ["Which area: toes, ball, arch, heel or ankle?"], ("right", "arch")),
    ("> yes, the toes\n> both\n", ["Which foot: left, right or both?"], ("both", "toes")),
    ("> yes\n> left heel\n", ["Which foot: left, right or both?"], ("left", "heel")),
    ("> my left heel\n", [], ("left", "heel")),  # the spot alone is a yes
    ("> left foot\n> heel\n", ["Which area: toes, ball, arch, heel or ankle?"], ("left", "heel")),
    ("> the arch\n> right\n", ["Which foot: left, right or both?"], ("right", "arch")),
    ("> my left heel hurts\n", [], ("left", "heel")),  # pain names the spot: a yes, not "ease off"
    ("> yes, my left heel is painful\n", [], ("left", "heel")),
])
def test_a_painful_spot_named_in_the_answer_is_not_asked_for_again(answers, asked, spot):
    _, out = run_script("> no\n> no\n> no\n" + answers)
    questions = [e["text"] for e in out.of("say") if e["kind"] == "question"]
    assert [q for q in questions if q.startswith("Which")] == asked
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [spot]
    asked_spot = next(i for i, (_, a) in enumerate(out.actions) if isinstance(a, Say) and "heel spur" in a.text)
    listening = next(a for _, a in out.actions[asked_spot:] if isinstance(a, Listen))
    assert {"yes", "no", "foot", "area"} <= listening.intents  # the recognisers listen for a spot too


def test_ratings_accept_words_and_digits_and_skip_and_typed_non_answers_are_told_what_to_say():
    _, out = run_script(SAFE + "> five\n> skip\n> banana\n> uh\n> marvin\n> 1\n> 2\n")
    before = [r["value"] for r in out.of("rating") if r["when"] == "before"]
    assert before == [5, None, 1, 2]
    sorry = [t for t in out.said() if t.startswith("Sorry, I didn't catch that.")]
    assert sorry == ["Sorry, I didn't catch that. Please say a number from one to five, or skip."] * 3


def test_typed_replies_that_are_no_answer_never_use_up_a_safety_question():
    """Typed "seven" three times to "is there a circulation disorder?" skipped it, and a skipped contraindication
    question ended the session before it began, without a word on why the question was dropped."""
    _, out = run_script("> seven\n> seven\n> noo\n> seven\n> no\n> no\n> no\n> no\n")
    said = out.said()
    question = "Is there a known circulation disorder, a blood clot, or diabetes affecting the feet? Say yes or no."
    sorry = "Sorry, I didn't catch that. Please say yes or no."
    first = said.index(question)
    assert said[first + 1 : first + 9] == [sorry, question] * 4  # every typed reply answered, the question again
    assert [(e["question"], e["answer"]) for e in out.of("safety")][:2] == [("circulation", "no"), ("skin", "no")]
    assert not [t for t in said if "should not start" in t or "skip that one" in t] and out.of("step")


def test_last_sessions_sore_spots_and_preferences_are_offered_again():
    profile = Profile(sensitive={("left", "heel")}, pressure={("right", "arch"): "firm"})
    _, out = run_script(CHECK + "> yes\n> no\n> yes\n", profile=profile)
    questions = [e["text"] for e in out.of("say") if e["kind"] == "question"]
    assert questions[3] == "Last time your left heel was sore. Is it still sore?"
    assert questions[5] == "Last time you preferred firm pressure on the arch of your right foot. Keep that?"
    arch = [s for s in out.of("step") if s["id"] == "right-arch"][0]
    assert arch["pressure"] == "firm"
    assert "left-heel" not in [s["id"] for s in out.of("step")]
    _, healed = run_script(CHECK + "> no\n> no\n> no\n", profile=profile)
    assert healed.of("recovered") == [{"t": 0, "type": "recovered", "foot": "left", "area": "heel",
                                       "reason": "no longer sore"}]
    assert "left-heel" in [s["id"] for s in healed.of("step")]


def test_a_preference_on_a_spot_that_hurt_is_forgotten_and_not_offered():
    _, out = run_script(SAFE + RATINGS + "07:20 more pressure\n07:25 ouch\n")
    assert "Firmer: firm pressure on the ball of your left foot from now on." in out.said()
    assert [(e["area"], e["pressure"]) for e in out.of("preference")] == [("ball", "firm"), ("ball", None)]
    profile = Profile(sensitive={("left", "ball")}, pressure={("left", "ball"): "firm", ("right", "arch"): "firm"})
    _, later = run_script(CHECK + "> yes\n> no\n> yes\n", profile=profile)
    questions = [e["text"] for e in later.of("say") if e["kind"] == "question"]
    assert [q for q in questions if q.startswith("Last time")] == [
        "Last time the ball of your left foot was sore. Is it still sore?",
        "Last time you preferred firm pressure on the arch of your right foot. Keep that?"]


def test_more_pressure_on_a_whole_foot_step_says_what_changes():
    """The whole-foot steps left on that foot are at different pressures: each goes one level up."""
    _, out = run_script(SAFE + RATINGS + "05:20 more pressure\n")
    assert ("Firmer: firm pressure now, and one level firmer for the strokes over your left foot from here on."
            in out.said())  # not "the work on your left foot": the area work (toes, ball ...) keeps its pressure
    assert out.of("preference") == []  # no single pressure to offer next time
    changed = {p["step"]: p["to"] for p in out.of("plan") if p["change"] == "pressure"}
    assert changed == {"left-long-and-circular": "firm", "left-overlapping-circles": "medium",
                       "left-final-circle": "medium"}


def test_a_whole_foot_preference_is_said_as_the_strokes_it_covers():
    profile = Profile(pressure={("right", "whole"): "firm"})
    _, out = run_script(SAFE + "> yes\n", profile=profile)
    questions = [e["text"] for e in out.of("say") if e["kind"] == "question"]
    assert questions[4] == "Last time you preferred firm pressure for the strokes over your right foot. Keep that?"
    pressures = {s["id"]: s["pressure"] for s in out.of("step")}
    assert pressures["right-toe-to-ankle"] == "firm" and pressures["right-toes"] == "medium"


def test_sore_spots_carried_over_are_named_as_a_person_says_them():
    profile = Profile(sensitive={("left", "ball"), ("right", "toes"), ("both", "top")},
                      pressure={("left", "arch"): "light"})
    _, out = run_script(CHECK + "> yes\n> yes\n> yes\n> no\n> yes\n04:00 harder\n", profile=profile)
    questions = [e["text"] for e in out.of("say") if e["kind"] == "question"]
    assert questions[3:8] == ["Last time the top of each foot was sore. Are they still sore?",
                              "Last time the ball of your left foot was sore. Is it still sore?",
                              "Last time your right toes were sore. Are they still sore?",
                              "Is there any other painful spot?",
                              "Last time you preferred light pressure on the arch of your left foot. Keep that?"]
    said = out.said()
    assert "I'll keep the ball of your left foot light." in said
    assert "I'll keep it light: the top of each foot was sore today." in said


def test_end_request_goes_to_ratings_and_device_loss_pauses():
    engine = build_engine("foot-circulation", 20)
    out = Collector()
    for action in engine.start(0):
        out(0, action)
    for words in ("no", "no", "no", "no", "3", "3", "3", "3"):
        for a in engine.handle(Heard(Intent("no") if words == "no" else Intent("number", value=3), 0)):
            out(0, a)
    engine.handle(Tick(100))
    assert engine.current.step.id == "soak"
    lost = engine.handle(DeviceLost("microphone", 100))
    assert any(isinstance(a, Say) and "the microphone was lost" in a.text for a in lost)
    engine.handle(Tick(400))
    assert engine.current.step.id == "soak" and engine.elapsed == 100
    back = engine.handle(DeviceBack("microphone", 400))
    assert any(isinstance(a, Say) and a.text.startswith("The microphone is back. Both feet: cleansing foot soak")
               and a.text.endswith("It cleans the skin and relaxes the feet.")  # what to do, as after a pause
               for a in back)
    end = engine.handle(EndRequested("interrupted (Ctrl-C)", 410))
    assert engine.stage == "closing" and any(isinstance(a, Say) and a.kind == "question" for a in end)
    engine.handle(EndRequested("interrupted (Ctrl-C)", 411))
    assert engine.finished and engine.end_reason == "interrupted (Ctrl-C)"


def test_an_interrupted_session_is_offered_to_resume_where_it_stopped():
    from companion.runner import Session, build_engine, simulate
    from companion.script import parse_script
    from companion.speech.phrases import load_phrases

    engine = build_engine("foot-circulation", 20, resume_at="left-arch")
    out = Collector()
    simulate(Session(engine, [out]), parse_script(SAFE + "> yes\n"), load_phrases("en"))
    assert out.said()[6] == "Last time we stopped during the work on the arch of your left foot. Shall we resume there?"
    # the leg supported and the foot warmed again (it has cooled since), then on from where it stopped
    assert [s["id"] for s in out.of("step")][:3] == ["position", "left-warm", "left-arch"]
    fresh = build_engine("foot-circulation", 20, resume_at="left-arch")
    again = Collector()
    simulate(Session(fresh, [again]), parse_script(SAFE + "> no\n"), load_phrases("en"))
    assert again.of("step")[0]["id"] == "soak"


def test_pain_during_the_ratings_eases_off_and_asks_the_question_again():
    _, out = run_script(SAFE + RATINGS + "> 4\n> pain\n> 4\n> 5\n> 4\n")
    after = [r["value"] for r in out.of("rating") if r["when"] == "after"]
    assert after == [4, 4, 5, 4]
    i = out.said().index("Ease off now and take your time.")
    assert out.said()[i + 1] == "The skin colour, from one, pale or bluish, to five, healthy and pink?"


def test_while_a_question_is_open_the_session_listens_for_its_answers_and_the_commands_that_work_then():
    """A Listen action follows every change: a rating narrows listening to numbers (so a grammar engine
    cannot hear "four" as "yes"), a yes/no question to yes and no, the steps to every command but answers."""
    _, out = run_script(SAFE + RATINGS)
    listens = [(t, a.intents) for t, a in out.actions if isinstance(a, Listen)]
    assert listens[0][0] == 0 and {"yes", "no", "pain", "stop", "pause", "skip", "repeat"} <= listens[0][1]
    assert not {"number", "more_time", "more_pressure", "back", "next_foot"} & listens[0][1]
    numbers = next(intents for _, intents in listens if intents and "number" in intents)
    assert "yes" not in numbers and "pain" in numbers
    first_step = out.of("step")[0]["t"]
    steps = [intents for t, intents in listens if t == first_step][-1]  # the questions are answered at once
    assert {"pause", "pain", "more_time", "more_pressure", "back", "next_foot", "where"} <= steps
    assert not {"yes", "no", "number", "foot", "area"} & steps
    assert all(a != b for (_, a), (_, b) in zip(listens, listens[1:])), "a Listen only when it changes"


def test_the_welcome_names_the_feet_the_routine_works_on():
    from pathlib import Path

    one_foot = build_engine(str(Path(__file__).parent / "routines" / "e2e-short.toml"), 15)
    assert "for your left foot." in one_foot.start()[0].text
    assert "for both feet." in build_engine("foot-circulation", 20).start()[0].text


def test_an_unanswered_question_is_asked_again_twice_then_waits_in_a_pause():
    engine = build_engine("foot-circulation", 20)
    question = [a.text for a in engine.start(0.0) if isinstance(a, Say) and a.kind == "question"][0]
    asked = []
    for t in range(1, 200):
        asked += [(t, a.text) for a in engine.handle(Tick(float(t))) if isinstance(a, Say)]
    assert asked == [(30, question), (60, question), (90, "I'll wait. Say resume when you are ready, and I'll ask again.")]
    resumed = [a.text for a in engine.handle(Heard(Intent("resume", text="resume"), 200.0)) if isinstance(a, Say)]
    assert resumed == ["Resuming.", question]
    after = engine.handle(Heard(Intent("no", text="no"), 201.0))
    assert any(isinstance(a, Say) and a.kind == "question" and a.text != question for a in after)


def talk(engine, *lines: tuple[float, str]) -> list[str]:
    """Say each line to the engine at its time (ticking each second up to it); what the engine said."""
    table, said = load_phrases("en"), []
    for t, words in lines:
        for second in range(int(engine.now) + 1, int(t) + 1):  # up to t: what is listened for then
            said += [a.text for a in engine.handle(Tick(float(second))) if isinstance(a, Say)]
        said += [a.text for a in engine.handle(Heard(understand(table, words, engine.listening), t)) if isinstance(a, Say)]
    return said


def opened(minutes: int = 20):
    """An engine past the safety check and the baseline."""
    engine = build_engine("foot-circulation", minutes)
    engine.start(0)
    talk(engine, *[(0, w) for w in ("no", "no", "no", "no", "3", "3", "3", "3")])
    return engine


def test_unanswered_end_ratings_are_left_out_so_the_session_ends_and_is_saved():
    engine = opened()
    said = talk(engine, (1200, "four"), (1600, "anyone there"))
    assert said.count("No answer; I'll leave that one out.") == 3 and engine.finished
    assert "Skin colour was three before; not rated after." in said[-1]


def test_pausing_and_resuming_asks_the_question_again_and_never_skips_it():
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    said = talk(engine, (1, "no"), (5, "pause"), (10, "resume"), (15, "pause"), (20, "resume"), (25, "mm hmm"))
    assert said[-1] == "Is there an open wound, a skin condition or an infection on the feet? Say yes or no."
    assert said[-2] == "Sorry, I didn't catch that. Please say yes or no." and not engine.finished


@pytest.mark.parametrize("answer", ["continue", "keep going"])
def test_keep_going_answers_the_stop_question_with_no(answer):
    engine = opened()
    said = talk(engine, (270, "stop"), (273, answer))
    assert said[-1] == "Let's continue." and engine.asking is None and engine.running


def test_a_pause_asked_for_while_a_device_is_lost_holds_when_it_is_back():
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    for words in ("no", "no", "no", "no", "3", "3", "3", "3"):
        engine.handle(Heard(Intent("no") if words == "no" else Intent("number", value=3), 0))
    engine.handle(DeviceLost("microphone", 10))
    engine.handle(Heard(Intent("pause"), 12))
    engine.handle(DeviceBack("microphone", 20))
    assert engine.paused  # the person said pause: they say resume


def test_resume_while_a_device_lost_in_a_pause_is_still_gone_waits_for_it():
    engine = opened()
    talk(engine, (130, "pause"))
    lost = engine.handle(DeviceLost("speaker", 140))
    assert [a.data for a in lost if isinstance(a, Record)] == [{"reason": "the speaker was lost"}]
    said = talk(engine, (150, "resume"))
    assert said == ["The speaker is still lost. I'll go on when it is back."]
    engine.handle(Tick(200))
    assert engine.paused and engine.elapsed == 10  # the step's clock stood still
    back = engine.handle(DeviceBack("speaker", 210))
    assert not engine.paused and any(isinstance(a, Say) and a.text.startswith("The speaker is back.") for a in back)


def test_a_sped_up_session_waits_as_long_in_real_time_for_an_answer():
    engine = build_engine("foot-circulation", 20, speed=10)
    engine.start(0.0)
    assert not [a for t in range(1, 300) for a in engine.handle(Tick(float(t))) if isinstance(a, Say)]
    assert [a for a in engine.handle(Tick(300.0)) if isinstance(a, Say)]


def test_a_resumed_session_names_the_foot_once_and_replies_to_keep_that():
    engine = build_engine("foot-circulation", 20, Profile(pressure={("left", "heel"): "light"}), resume_at="left-heel")
    engine.start(0)
    said = talk(engine, *[(0, w) for w in ("no", "no", "no", "no", "yes", "yes", "3", "3", "3", "3")])
    assert "Good: light pressure there again." in said
    assert "We'll go on from there, after a short warm-up: about fourteen minutes of massage." in said
    said += talk(engine, (200, "where am i"))
    first = next(t for t in said if t.startswith("Now the left foot."))
    assert first.startswith("Now the left foot. Warming the tissue. Palm warming")
    assert any(t.startswith("Focused work, area by area. Left foot, heel. Fingertip friction") for t in said)


def test_a_refined_pain_report_marks_the_spot_it_names_without_counting_again():
    engine = opened()
    talk(engine, (470, "pain in my left"))  # the left arch runs 7:45-8:15 (t 465-495)
    said = [a.text for a in engine.handle(Heard(Intent("pain", foot="left", area="heel", refines=True), 471))
            if isinstance(a, Say)]
    assert said[0] == "I'll keep your left heel light too."  # (then the heel's point work, under way, ends)
    assert set(engine.sore) == {("left", "arch"), ("left", "heel")} and engine.pain_reports == 1


@pytest.mark.parametrize("answer", ["no idea", "I'm not sure", "I don't know"])
def test_a_doubtful_answer_to_a_contraindication_does_not_count_as_no(answer):
    _, out = run_script(f"> {answer}\n")
    assert out.of("safety")[0]["answer"] == "unsure"
    assert out.of("end")[0]["reason"] == "contraindicated" and not out.of("step")


def test_it_is_sore_answers_is_it_still_sore_with_yes():
    profile = Profile(sensitive={("left", "heel")})
    _, out = run_script(CHECK + "> yes, it is sore\n> no\n", profile=profile)
    assert "I'll keep your left heel light." in out.said()
    assert not [t for t in out.said() if t.startswith("Ease off")]


def test_going_back_to_a_skipped_step_costs_only_the_time_spent_on_it():
    """Skip the soak after 10 s, go back 10 s later: 20 s to win back, not the soak's whole two minutes."""
    _, out = run_script(SAFE + RATINGS + "00:10 skip\n00:20 back\n")
    won = sum(p["seconds"] for p in out.of("plan") if p["change"] == "shorten")
    assert won == 20 and out.of("end")[0]["duration"] == 1200
    assert "Going back. To stay on time I've shortened: right foot, heel and ankle, fingertip friction in very small circles." in out.said()


def test_back_in_the_first_step_says_it_starts_it_again():
    _, out = run_script(SAFE + RATINGS + "00:30 back\n")
    assert ("This is the first step; starting it again. To stay on time I've shortened: right foot, heel and ankle, "
            "fingertip friction in very small circles.") in out.said()


def test_less_time_gives_back_what_more_time_took_from_later_steps():
    _, out = run_script(SAFE + RATINGS + "00:30 more time\n00:40 less time\n")
    assert out.of("end")[0]["duration"] == 1200  # was 1170: the shortened steps stayed short
    durations = {s["id"]: s["duration"] for s in out.of("step")}
    assert durations["right-heel"] == durations["right-ankle"] == 30
    assert "Thirty seconds less on this step. I've given it back to the steps I shortened before." in out.said()


def test_less_time_takes_whole_five_seconds_and_leaves_no_stale_cues():
    _, out = run_script(SAFE + RATINGS + "01:37 less time\n")  # 23 s of the soak left: 18 could go, said "twenty"
    assert "Fifteen seconds less on this step." in out.said()
    said = [e["text"] for e in out.events if e["type"] == "say" and 97 <= e["t"] < 105]
    assert not [t for t in said if t.startswith("Ten seconds left")]  # its time (95 s) had passed


def test_preferences_are_offered_in_one_question_and_not_when_the_routine_uses_that_pressure_anyway():
    profile = Profile(pressure={("right", "arch"): "firm", ("left", "whole"): "medium", ("left", "ball"): "medium"})
    _, out = run_script(SAFE + "> yes\n", profile=profile)
    questions = [e["text"] for e in out.of("say") if e["kind"] == "question"]
    assert questions[4] == ("Last time you preferred medium pressure for the strokes over your left foot and firm "
                            "pressure on the arch of your right foot. Keep those?")  # the ball is medium anyway
    assert "Good: the same pressures in those places again." in out.said()
    pressures = {s["id"]: s["pressure"] for s in out.of("step")}
    assert pressures["right-arch"] == "firm" and pressures["left-toe-to-ankle"] == "medium"
    _, declined = run_script(SAFE + "> no\n", profile=profile)
    assert sorted((e["area"], e["pressure"]) for e in declined.of("preference")) == [("arch", None), ("whole", None)]


def test_the_closing_summary_says_the_progress_since_last_session():
    profile = Profile(last_after={"warmth": 3, "colour": 3, "comfort": 4})
    _, out = run_script(SAFE + RATINGS + "> 4\n> 3\n> 4\n> 5\n", profile=profile)
    said = out.said()
    assert said[-1].endswith("Since the end of last session: warmth of the feet three then, four now; comfort four "
                             "then, five now. Thank you. The session is saved.")
    assert any(t.startswith("Now the same ratings as last time.") for t in said)
    _, same = run_script(SAFE + RATINGS + "> 3\n> 3\n> 4\n> 4\n", profile=profile)
    assert "The same as at the end of last session." in same.said()[-1]
    _, first = run_script(SAFE + RATINGS + "> 3\n> 3\n> 4\n> 4\n")
    assert "last session" not in first.said()[-1]


def test_end_ratings_all_left_out_are_said_once_not_measure_by_measure():
    _, out = run_script(SAFE + RATINGS + "> skip\n> skip\n> skip\n> skip\n")
    assert out.said()[-1] == ("The ratings after the massage were left out, so there is nothing to compare. "
                              "Thank you. The session is saved.")


@pytest.mark.parametrize(("answers", "area"), [("> yes\n> both\n> the whole foot", "whole"),
                                              ("> yes\n> both\n> everywhere", "whole"), ("> yes, both heels", "heel")])
def test_which_area_takes_the_whole_foot_and_plurals(answers, area):
    _, out = run_script(f"> no\n> no\n> no\n{answers}\n")
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [("both", area)]


def test_two_painful_spots_in_one_answer_are_both_kept_light():
    _, out = run_script("> no\n> no\n> no\n> yes, my left heel and my right arch\n")
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [("left", "heel"), ("right", "arch")]
    assert "Thank you. I'll keep your left heel and the arch of your right foot light and skip the point work there." \
        in out.said()
    _, same_foot = run_script("> no\n> no\n> no\n> yes, my left heel and arch\n")
    assert [(e["foot"], e["area"]) for e in same_foot.of("sensitive")] == [("left", "heel"), ("left", "arch")]


def test_back_after_pain_does_not_return_to_the_sore_point_work():
    _, out = run_script(SAFE + RATINGS + "07:20 ouch\n07:30 back\n")  # the ball (7:15-7:45) hurt; then the arch
    after = [s for s in out.of("step") if s["t"] >= 450]
    assert after[0]["id"] == "left-toes" and "left-ball" not in [s["id"] for s in after]  # not again, even briefly
    assert out.of("end")[0]["duration"] == 1200


def test_pain_said_again_as_the_next_step_begins_is_the_same_report():
    _, out = run_script(SAFE + RATINGS + "07:20 ouch\n07:24 that hurts\n")  # the ball's skip began the arch
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [("left", "ball")]


def test_skip_gives_back_what_going_back_took():
    _, out = run_script(SAFE + RATINGS + "11:35 back\n11:40 skip\n")
    assert "Skipping. I've given the time to the steps I shortened before." in out.said()
    durations = {s["id"]: s["duration"] for s in out.of("step") if s["foot"] == "right"}
    assert durations["right-heel"] == durations["right-arch"] == 30 and out.of("end")[0]["duration"] == 1200


def test_help_and_where_during_a_question_ask_it_again():
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    said = talk(engine, (1, "help"), (2, "where am i"))
    question = "Is there a known circulation disorder, a blood clot, or diabetes affecting the feet? Say yes or no."
    assert said[1] == said[3] == question


def test_help_during_a_question_says_what_works_then_the_question_once():
    """Help said the question in its list of commands, then the question again, and left out pain and where am I."""
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    question = "Is there a known circulation disorder, a blood clot, or diabetes affecting the feet? Say yes or no."
    assert talk(engine, (1, "help")) == [
        "Besides an answer, you can say: pause, resume, skip, repeat, pain, where am I, help, slower, faster, louder, "
        "quieter, change voice, or stop.", question]
    said = talk(engine, *[(2, "no")] * 4, (3, "what can i say"))  # a rating: its own question, once
    assert said[-2].startswith("Besides an answer") and said[-1] == "Rate the warmth of the feet from one, cold, to five, warm."


def test_a_questions_introduction_is_said_once_not_when_it_is_asked_again():
    engine = build_engine("foot-circulation", 20)
    started = [a.text for a in engine.start(0) if isinstance(a, Say)]
    question = "Is there a known circulation disorder, a blood clot, or diabetes affecting the feet? Say yes or no."
    assert started[1:] == ["First, a short safety check.", question]
    again = talk(engine, (1, "mm hmm"), (2, "help"), (3, "where am i"), (4, "say that again"), (40, "pause"),
                 (41, "resume"))
    assert again.count(question) == 6  # not understood, help, where, repeat, the reminder at 34 s, resume
    assert not [t for t in again if "safety check." in t and "First" in t]
    said = talk(engine, *[(50, "no")] * 4)
    assert said[-2:] == ["Now let's agree how we'll measure circulation today.",
                         "Rate the warmth of the feet from one, cold, to five, warm."]
    assert talk(engine, (51, "banana"))[-1] == "Rate the warmth of the feet from one, cold, to five, warm."


def test_a_spot_still_sore_makes_the_painful_spot_question_about_other_spots():
    _, out = run_script(CHECK + "> yes\n> no\n", profile=Profile(sensitive={("left", "heel")}))
    assert "Is there any other painful spot?" in [e["text"] for e in out.of("say") if e["kind"] == "question"]


RETURNING = Profile(sensitive={("left", "heel")}, pressure={("right", "arch"): "firm"}, last_after={"warmth": 3})


def test_the_safety_check_comes_before_what_carried_over_from_last_time():
    """A returning, interrupted client: the safety check first (the spot sore last time within it, before the
    painful-spot question), then the resume offer, the kept pressures and the baseline."""
    engine = build_engine("foot-circulation", 20, RETURNING, resume_at="left-arch")
    engine.start(0)
    questions = [engine.asking.text]
    for t, words in enumerate(("no", "no", "no", "yes", "no", "yes", "yes"), start=1):
        talk(engine, (t, words))
        questions.append(engine.asking.text)
    assert questions == [
        "Is there a known circulation disorder, a blood clot, or diabetes affecting the feet? Say yes or no.",
        "Is there an open wound, a skin condition or an infection on the feet? Say yes or no.",
        "Is there swelling in the feet or ankles?",
        "Last time your left heel was sore. Is it still sore?",
        "Is there any other painful spot?",
        "Last time we stopped during the work on the arch of your left foot. Shall we resume there?",
        "Last time you preferred firm pressure on the arch of your right foot. Keep that?",
        "Rate the warmth of the feet from one, cold, to five, warm.",
    ]


@pytest.mark.parametrize("resume", ["yes", "no"])
def test_an_interrupted_first_session_is_no_first_time_for_the_ratings(resume):
    """The session interrupted in its steps had no ratings after the massage, but asked these before them."""
    engine = build_engine("foot-circulation", 20, resume_at="left-arch")
    engine.start(0)
    said = talk(engine, *[(1, words) for words in ("no", "no", "no", "no", resume)])
    assert said[-2:] == ["Now the same ratings as last time.", "Rate the warmth of the feet from one, cold, to five, warm."]


def test_a_contraindicated_returning_client_is_asked_nothing_else():
    engine = build_engine("foot-circulation", 20, RETURNING, resume_at="left-arch")
    said = [a.text for a in engine.start(0) if isinstance(a, Say)] + talk(engine, (1, "yes"))
    assert engine.end_reason == "contraindicated"
    assert not [t for t in said if "Last time" in t or "resume" in t]


def test_a_kept_pressure_is_not_offered_on_a_spot_just_said_to_be_sore():
    profile = Profile(pressure={("left", "heel"): "firm", ("right", "arch"): "firm"})
    _, out = run_script(CHECK + "> yes, my left heel\n> yes\n", profile=profile)
    offers = [e["text"] for e in out.of("say") if e["kind"] == "question" and e["text"].startswith("Last time")]
    assert offers == ["Last time you preferred firm pressure on the arch of your right foot. Keep that?"]
    assert [(e["area"], e["pressure"]) for e in out.of("preference")] == [("arch", "firm")]


def test_pain_naming_two_spots_during_the_steps_keeps_each_light():
    engine = opened()
    said = talk(engine, (200, "my left heel and my right arch hurt"))  # during the left palm warming
    assert said[-1] == ("Ease off now. I'll keep your left heel and the arch of your right foot light from here and "
                       "skip the point work there. Go on gently: palm warming.")
    assert set(engine.sore) == {("left", "heel"), ("right", "arch")} and engine.pain_reports == 1
    skipped = {p.step.id for p in engine.plan if not p.active}
    assert {"left-heel", "right-arch"} <= skipped
    said = talk(engine, (230, "pain in my right arch and my left toes"))  # the arch again: left alone now
    assert said[-1] == ("Ease off now. We'll leave the arch of your right foot alone for the rest of the session. "
                       "I'll keep your left toes light from here and skip the point work there. Go on gently: "
                       "palm warming.")
    assert engine.sore[("right", "arch")] == 2 and engine.sore[("left", "toes")] == 1


def test_a_refined_pain_report_marks_every_spot_it_names():
    engine = opened()
    talk(engine, (200, "pain in my left"))
    said = [a.text for a in engine.handle(Heard(Intent("pain", foot="left", area="heel", others=(("right", "arch"),),
                                                       refines=True), 201)) if isinstance(a, Say)]
    assert said == ["I'll keep your left heel and the arch of your right foot light too."]
    assert set(engine.sore) == {("left", "whole"), ("left", "heel"), ("right", "arch")} and engine.pain_reports == 1


def test_next_foot_skips_the_rest_of_this_foot_and_begins_the_other():
    engine, out = run_script(SAFE + RATINGS + "03:20 next foot\n")  # in the left palm warming (3:00-4:15)
    assert [(s["t"], s["id"]) for s in out.of("step")][2:4] == [(180, "left-warm"), (200, "right-warm")]
    assert not [s for s in out.of("step") if s["t"] > 200 and s["foot"] == "left"]
    skipped = [p for p in out.of("plan") if p["change"] == "skip"]
    assert {p["step"] for p in skipped} == {p.step.id for p in engine.plan if p.step.foot == "left"}
    assert {p["reason"] for p in skipped} == {"asked for the next foot"}
    said = [e["text"] for e in out.of("say") if e["t"] == 200]
    assert said[0] == "Skipping the rest of the left foot." and said[1].startswith("Now the right foot.")
    assert [e["intent"] for e in out.of("intent") if e["t"] == 200] == ["next_foot"]


def test_next_foot_gives_back_the_time_taken_from_later_steps():
    _, out = run_script(SAFE + RATINGS + "03:10 more time\n03:20 more time\n03:30 switch feet\n")
    assert "Skipping the rest of the left foot. I've given the time to the steps I shortened before." in out.said()
    durations = {s["id"]: s["duration"] for s in out.of("step") if s["foot"] == "right"}
    assert durations["right-heel"] == durations["right-ankle"] == 30  # shortened by "more time", given back


@pytest.mark.parametrize(("script", "reply"), [
    ("00:30 next foot\n", "This part is for both feet. Say skip for the next step."),  # the soak
    ("15:00 move on to the other foot\n", "The right foot is the last one. Say skip for the next step."),
])
def test_next_foot_where_there_is_no_other_foot_says_so_and_goes_on(script, reply):
    _, plain = run_script(SAFE + RATINGS)
    _, out = run_script(SAFE + RATINGS + script)
    assert reply in out.said()
    assert out.of("step") == plain.of("step") and not out.of("plan")


@pytest.mark.parametrize("words", ["go to the right foot", "move on to the right foot", "switch to the right foot"])
def test_naming_the_other_foot_moves_on_to_it(words):
    _, plain = run_script(SAFE + RATINGS + "03:20 next foot\n")
    _, out = run_script(SAFE + RATINGS + f"03:20 {words}\n")  # in the left palm warming
    assert out.of("step") == plain.of("step") and out.of("plan") == plain.of("plan")
    assert [e["intent"] for e in out.of("intent") if e["t"] == 200] == ["next_foot"]


@pytest.mark.parametrize(("script", "reply"), [
    ("03:20 go to the left foot\n", "We're on the left foot now."),  # in the left palm warming
    ("12:00 switch to the right foot\n", "We're on the right foot now."),
    ("00:30 go to the left foot\n", "This part is for both feet. Say skip for the next step."),  # the soak
])
def test_naming_the_foot_being_massaged_changes_nothing(script, reply):
    _, plain = run_script(SAFE + RATINGS)
    _, out = run_script(SAFE + RATINGS + script)
    assert reply in out.said()
    assert out.of("step") == plain.of("step") and not out.of("plan")


def test_go_still_resumes_a_pause():
    engine = opened()
    talk(engine, (200, "pause"))
    assert talk(engine, (210, "go"))[-1].startswith("Resuming. Left foot: palm warming.") and engine.paused is None


def test_next_foot_is_in_the_help():
    engine = opened()
    assert "next foot" in talk(engine, (200, "help"))[-1]


@pytest.mark.parametrize("words", ["pain in the other foot", "my other foot hurts"])
def test_pain_in_the_other_foot_is_the_foot_not_being_massaged(words):
    engine = opened()
    said = talk(engine, (200, words))  # during the left palm warming
    assert engine.current.step.foot == "left" and set(engine.sore) == {("right", "whole")}
    assert "I'll keep your right foot light from here" in said[-1]


def test_the_other_foot_is_no_answer_before_a_foot_is_massaged():
    _, out = run_script("> no\n> no\n> no\n> yes, the toes\n> the other foot\n> left\n")
    said = [e["text"] for e in out.of("say")]
    assert "Sorry, I didn't catch that. Please say left, right or both." in said
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [("left", "toes")]


def unclear(engine, t: float, text: str) -> list[Action]:
    return engine.handle(Heard(Intent("unclear", text=text), t))


def test_unclear_words_to_a_question_say_what_to_answer_once_each_asking():
    engine = build_engine("foot-circulation", 20)
    engine.start(0)
    talk(engine, *[(0, w) for w in ("no", "no", "no", "no")])  # to the baseline's first rating
    assert engine.asking.expects == "number"
    out = unclear(engine, 1, "seven")
    assert [a.text for a in out if isinstance(a, Say)] == ["Sorry, I didn't catch that. Please say a number from one "
                                                           "to five, or skip."]
    assert Earcon("not_understood") in out and out[0].data == {"intent": "unclear", "text": "seven", "value": None}
    assert unclear(engine, 2, "seven") == [] and unclear(engine, 3, "eight") == []  # said once
    question = engine.asking
    for second in range(4, 32):  # the 30-s reminder asks it again: a hint may come again
        engine.handle(Tick(float(second)))
    assert [a.text for a in unclear(engine, 32, "ten") if isinstance(a, Say)][0].startswith("Sorry")
    talk(engine, (33, "three"))
    assert engine.ratings["before"]["warmth"] == 3 and engine.asking is not question


def test_unclear_words_with_no_question_open_do_nothing_and_are_not_recorded():
    engine = opened()
    talk(engine, (200, "pain"))
    assert unclear(engine, 201, "marvin") == []
    engine.handle(Tick(230.0))
    assert unclear(engine, 231, "house") == []  # during the steps


def test_pain_naming_a_spot_during_the_baseline_keeps_it_light_in_the_steps():
    _, out = run_script(CHECK + "> no\n> pain in my left heel\n> 3\n> 3\n> 3\n> 3\n")
    assert [(e["foot"], e["area"]) for e in out.of("sensitive")] == [("left", "heel")]
    assert "left-heel" not in [s["id"] for s in out.of("step")]
    said = [e["text"] for e in out.of("say")]
    assert ("Ease off now and take your time. I'll keep your left heel light from here and skip the point work "
            "there.") in said


def test_pain_naming_a_spot_during_the_end_ratings_is_kept_for_the_next_session():
    _, out = run_script(CHECK + "> no\n> 3\n> 3\n> 3\n> 3\n> pain in my right arch\n> 4\n> 4\n> 4\n> 4\n")
    assert [(e["foot"], e["area"], e["reason"]) for e in out.of("sensitive")] == [
        ("right", "arch", "pain reported after the massage")]
    assert "Ease off now and take your time. I'll note the arch of your right foot for next time." in \
        [e["text"] for e in out.of("say")]
    assert [e["value"] for e in out.of("rating") if e["when"] == "after"] == [4, 4, 4, 4]
    assert not out.of("plan")  # the steps done are not changed afterwards


def test_typed_words_that_are_no_command_during_the_steps_are_answered():
    engine = opened()
    said = talk(engine, (200, "more presure"))
    assert said[-1] == "Sorry, I didn't catch that. Say help for the commands."


@pytest.mark.parametrize("words", ["does that hurt?", "my thumb hurts", "don't go back", "no more pressure", "other foot",
                                   "yes", "both"])
def test_typed_words_with_a_phrase_that_is_no_command_do_nothing_as_by_voice(words):
    """A therapist's question, an ache elsewhere, a negated command, an answer with no question open: the
    README says they do nothing; typed, they got "Sorry, I didn't catch that"."""
    engine = opened()
    talk(engine, (200, "where am i"))
    out = engine.handle(Heard(understand(load_phrases("en"), words, engine.listening), 201))
    assert out == [Record("intent", {"intent": "no_command", "text": words, "value": None, "ignored": True})]


@pytest.mark.parametrize(("still_sore", "offered"), [("no", True), ("yes", False), ("skip", False)])
def test_a_kept_pressure_is_offered_once_a_spot_sore_last_time_is_better(still_sore, offered):
    profile = Profile(sensitive={("both", "whole")}, pressure={("left", "ball"): "firm"})
    _, out = run_script(CHECK + f"> {still_sore}\n> no\n> yes\n", profile=profile)
    offers = [e["text"] for e in out.of("say") if e["kind"] == "question" and e["text"].startswith("Last time you")]
    assert offers == (["Last time you preferred firm pressure on the ball of your left foot. Keep that?"]
                      if offered else [])
