"""Safety properties of the engine over random sessions (hypothesis): whatever a person says, and when."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.plan.model import PRESSURES, covers
from companion.session.events import Say, StopSpeech
from session_helpers import run_script

COMMANDS = ["pause", "resume", "skip", "go back", "repeat", "more time", "less time", "more pressure here",
            "less pressure", "pain", "ouch that hurts", "pain in my left heel", "where am i", "help", "slower",
            "stop", "yes", "no", "three", "banana", "next foot", "my left heel and my right arch hurt"]
SAFETY_ANSWERS = st.lists(st.sampled_from(["yes", "no", "skip", "left", "heel", "both", "arch", "3"]), min_size=0, max_size=8)
TIMED = st.lists(st.tuples(st.integers(0, 1500), st.sampled_from(COMMANDS)), max_size=25)


def script_of(answers, timed, extra_answers):
    lines = [f"> {a}" for a in answers]
    lines += [f"{t // 60:02d}:{t % 60:02d} {words}" for t, words in timed]
    lines += [f"> {a}" for a in extra_answers]
    return "\n".join(lines) + "\n"


def check_session(answers, timed, extra, cleared):
    engine, out = run_script(script_of(answers, timed, extra), cleared=cleared)
    events = out.events
    assert engine.finished and len(out.of("end")) == 1

    # A contraindicated client never gets a touch step (unless a physician cleared it).
    safety = {e["question"]: e["answer"] for e in out.of("safety")}
    if not cleared and any(safety.get(q) in ("yes", "skip") for q in ("circulation", "skin")):
        assert not [s for s in out.of("step") if s["pressure"] != "none"]

    # Pressure never rises, nor starts above light, on a spot marked sore in this session.
    sore: set[tuple[str, str]] = set()
    steps = {p.step.id: p.step for p in engine.plan}
    for e in events:
        if e["type"] == "sensitive":
            sore.add((e["foot"], e["area"]))
        elif e["type"] == "plan" and e["change"] == "pressure" and PRESSURES.index(e["to"]) > PRESSURES.index(e["from"]):
            step = steps[e["step"]]
            assert not any(covers(step.foot, step.area, f, a) for f, a in sore), e
        elif e["type"] == "step" and e["pressure"] in ("medium", "firm"):
            assert not any(covers(e["foot"], e["area"], f, a) for f, a in sore), e

    # "pain" always eases off within the same tick: silence first, then the words (no hands on the feet in the
    # soak: "Take your time").
    for i, (t, action) in enumerate(out.actions):
        if getattr(action, "type", None) == "intent" and action.data["intent"] == "pain":
            assert isinstance(out.actions[i - 1][1], StopSpeech)
            same_tick = [a for tt, a in out.actions[i:] if tt == t]
            assert any(isinstance(a, Say) and a.text.startswith(("Ease off", "Take your time")) for a in same_tick)

    # The session never overruns its budget by more than the extensions the person asked for.
    paused, since = 0.0, None
    for e in events:
        if e["type"] == "pause" and since is None:
            since = e["t"]
        elif e["type"] == "resume" and since is not None:
            paused, since = paused + e["t"] - since, None
    end = out.of("end")[0]
    if since is not None:
        paused += end["t"] - since
    # Each "more time" adds at most 30 s; each "back" at most the step left and the one done again.
    asked = [e["intent"] for e in out.of("intent") if e["intent"] in ("more_time", "back")]
    longest = max(p.step.duration for p in engine.plan)
    allowed = 30 * asked.count("more_time") + 2 * longest * asked.count("back")
    assert end["duration"] - paused <= engine.budget + allowed + 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SAFETY_ANSWERS, TIMED, SAFETY_ANSWERS, st.booleans())
def test_safety_properties_hold_for_random_sessions(answers, timed, extra, cleared):
    check_session(answers, timed, extra, cleared)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SAFETY_ANSWERS, TIMED, SAFETY_ANSWERS, st.booleans())
def test_safety_properties_hold_for_many_random_sessions(answers, timed, extra, cleared):
    check_session(answers, timed, extra, cleared)


DEVICE_EVENTS = st.lists(st.tuples(st.integers(1, 30), st.sampled_from(
    ["lost speaker", "lost microphone", "back speaker", "back microphone", "pause", "resume", "stop", "no",
     "pain", "skip"])), max_size=30)


@settings(max_examples=150, deadline=None)
@given(DEVICE_EVENTS)
def test_no_step_runs_while_a_device_is_lost(events):
    """Whatever the person says around the losses, the clock of the steps stands still while the speaker or
    the microphone is gone, and the session goes on once both are back and nobody paused."""
    from companion.runner import build_engine, understand
    from companion.session.events import DeviceBack, DeviceLost, Heard, Tick
    from companion.speech.phrases import load_phrases

    table, engine = load_phrases("en"), build_engine("foot-circulation", 20)
    engine.start(0)
    for words in ("no", "no", "no", "no", "3", "3", "3", "3"):
        engine.handle(Heard(understand(table, words), 0))
    now, lost = 0.0, set()
    for gap, what in events:
        before = (engine.index, engine.elapsed)
        now += gap
        engine.handle(Tick(now))
        if lost and not engine.finished:
            assert engine.paused and (engine.index, engine.elapsed) == before
        kind, _, device = what.partition(" ")
        if kind == "lost":
            engine.handle(DeviceLost(device, now))
            lost.add(device)
        elif kind == "back":
            engine.handle(DeviceBack(device, now))
            lost.discard(device)
        else:
            engine.handle(Heard(understand(table, what), now))
        if lost and not engine.finished:
            assert engine.paused, what
