"""The session engine: a pure, deterministic state machine.

It consumes events (a clock tick, a recognised intent, an end request, a lost device) and returns
actions (say this, play that earcon, record that). It never reads a clock, a microphone or a file, so
the same engine runs under the text mode, the simulator and the real audio loop, and a whole session
runs in a test in milliseconds.

Stages: ``opening`` (safety check, what carried over from last time, baseline measures) → ``steps`` → ``closing``
(end-of-session ratings) → ``ended``. Questions can come at any stage (a confirmation to stop); while a
question is open or the session is paused, step timers stand still.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable

from companion.plan import adapt
from companion.plan.adapt import PlannedStep
from companion.plan.model import Routine, Step
from companion.session import summary, wording
from companion.session.events import (
    Action, AdjustVoice, DeviceBack, DeviceLost, Earcon, EndRequested, Event, Heard, Listen, Prepare, Record, Say,
    StopSpeech, Tick, VoiceChanged,
)
from companion.session.intents import Intent
from companion.session.pacing import SpeechPace, spoken_seconds
from companion.session.profile import Profile

EXTRA_SECONDS = 30.0  # "more time" / "less time"
OFFER_END_EVERY = 3  # pain reports: ending is offered at the third, then again three reports after each offer
# "Ouch… that hurts" is one report: pain at the same spot this soon after the last report is not another one
# (counted twice, it left the whole foot alone and, on that foot's last steps, ended the session).
SAME_PAIN_S = 10.0
REMIND_AFTER_S = 30.0  # an unanswered question is asked again after this long (twice at most)
MAX_REMINDERS = 2
# "spot": is there a painful spot? yes or no, or the spot itself ("my left heel", "my left heel hurts"): a yes.
ANSWERS = {"yesno": ("yes", "no", "unsure"), "spot": ("yes", "no", "unsure", "foot", "area", "pain"),
           "number": ("number", "unsure"), "foot": ("foot", "unsure"), "area": ("area", "unsure")}
VOICE_INTENTS = {"slower": ("rate", -1), "faster": ("rate", 1), "louder": ("volume", 1),
                 "quieter": ("volume", -1), "change_voice": ("voice", 1)}
ANSWER_HINTS = {"yesno": "Please say yes or no.", "spot": "Please say yes or no.",
                "number": "Please say a number from one to five, or skip.", "foot": "Please say left, right or both.",
                "area": "Please say toes, ball, arch, heel, ankle, or the whole foot."}
# What works while a question is open, besides its answers (see _heard).
QUESTION_COMMANDS = ("skip", "pain", "stop", "pause", "resume", "help", "repeat", "where", *VOICE_INTENTS)
# Said by help when the phrase table's words are not given (SessionOptions.help_words).
DEFAULT_HELP = (("pause", "pause"), ("resume", "resume"), ("skip", "skip"), ("pain", "pain"), ("where", "where am I"),
                ("stop", "stop"))
# What works during the massage steps: every command, no answers (a lone "yes", "four" or "both" does nothing).
STEP_COMMANDS = (*QUESTION_COMMANDS, "back", "next_foot", "more_time", "less_time", "more_pressure", "less_pressure")
# "Halfway" and "Ten seconds left. Next: …" only in steps this long: in a 30-s step the announcement (≈ 20 s
# with the slow "clear" voice) and those two left no quiet at all, and the next announcement came 6-18 s late.
TIMED_CUES_FROM_S = 60.0
# A step's announcement takes at most this share of the step at the voice's pace (SessionOptions.pace): longer,
# and it leaves out the step's instruction, then the phase's name. At 15 minutes the slow "clear" voice's
# point-work announcements took up to 117 % of their 20-s steps (220 % after "slower" twice, speech then 34 s
# behind); two thirds keeps the 20-minute session's announcements whole with the calm voices.
ANNOUNCE_SHARE = 2 / 3
CUE_GAP_S = 2.0  # a step's cue due while its announcement is still being said comes this long after it
AREA_CHOICES = ("toes", "ball", "arch", "heel", "ankle")
DEVICE_PAUSE = "audio device lost"

Answer = bool | int | str | None  # None: skipped or not understood


def spot_of(intent: Intent) -> tuple[str | None, str | None]:
    """The foot and area said in an answer: "left heel" (foot left, area heel), "yes, my right arch"."""
    return (intent.value if intent.name == "foot" else intent.foot,  # type: ignore[return-value]
            intent.value if intent.name == "area" else intent.area)


def named_spots(first: tuple[str | None, str | None], others: tuple[tuple[str | None, str | None], ...],
                foot: str, area: str) -> list[tuple[str, str]]:
    """Each spot said at once ("my left heel and my right arch"), once, a foot or area not said taken as
    ``foot`` or ``area``."""
    return list(dict.fromkeys((f or foot, a or area) for f, a in (first, *others)))


@dataclass
class Question:
    id: str
    text: str
    expects: str  # yesno | spot | number | foot | area
    on_answer: Callable[[Answer], list[Action]]
    record: dict[str, object] = field(default_factory=dict)
    asked_at: float = 0.0  # session time it was last said
    reminders: int = 0
    hinted: bool = False  # unclear words were answered with what to say, since it was last asked (see _unclear)
    intro: str = ""  # said before it the first time only ("First, a short safety check."), not when asked again


@dataclass(frozen=True)
class SessionOptions:
    minutes: float = 20  # the session's length as chosen (stored with it), for the steps scaled to it
    cleared_by_physician: bool = False
    help_words: tuple[tuple[str, str], ...] = ()  # (intent, what to say for it): the phrase table's
    profile: Profile = field(default_factory=Profile)
    resume_at: str | None = None  # id of the step an interrupted session stopped in: offer to go on from there
    remind_after: float = REMIND_AFTER_S  # session seconds (a sped-up session waits as long in real time)
    recorded: bool = True  # kept in a database: the closing says it is saved
    # how fast announcements are spoken; None: not spoken (typed, simulated), announcements always said in full
    # and no voice to change
    pace: SpeechPace | None = None


class Engine:
    def __init__(self, routine: Routine, steps: tuple[Step, ...], options: SessionOptions | None = None) -> None:
        self.routine = routine
        self.options = options or SessionOptions()
        self.plan: list[PlannedStep] = adapt.plan_of(steps)
        self.budget = adapt.total(self.plan)  # the session's length, as chosen
        self.plan_budget = self.budget  # what the plan may still add up to (less the time spent going back)
        self.stage = "opening"
        # what is still to be asked; a callable makes its question when its turn comes, from the answers before it
        self.questions: deque[Question | Callable[[], Question | None]] = deque()
        self.asking: Question | None = None
        self.listening: frozenset[str] | None = None  # as last told with a Listen action; None: every command
        self.paused: str | None = None
        self.index = -1
        self.elapsed = 0.0
        self.fired: set[str] = set()
        self.now = 0.0
        self.sore: dict[tuple[str, str], int] = {}
        self.preferred: dict[tuple[str, str], str] = {}  # pressures asked for, as remembered for next time
        self.pain_reports = 0
        self.offer_end_at = OFFER_END_EVERY  # the pain report at which ending the session is offered next
        self.last_pain: tuple[float, tuple[str, str], str] | None = None  # when, where, and what was said to it
        self.keep_light: str | None = None  # why the pressure stays light throughout, said when more is asked for
        self.ratings: dict[str, dict[str, int | None]] = {"before": {}, "after": {}}
        self.last_said = ""
        self.slots: tuple[str | None, str | None] = (None, None)  # the foot and area said with the last answer
        self.other_spots: tuple[tuple[str | None, str | None], ...] = ()  # ... and the further spots it named
        self.end_reason: str | None = None
        self.finished = False
        self.lost: set[str] = set()  # audio devices gone
        self.announce_ends = 0.0  # about when the step's announcement ends, into the step (0: no voice pace known)

    # --- public -------------------------------------------------------------------------------------
    def start(self, now: float = 0.0) -> list[Action]:
        self.now = now
        out = [self._say(
            f"Welcome. This is {self.routine.title.lower()}, about {wording.duration_words(self.budget)} for "
            f"{wording.feet_of({p.step.foot for p in self.plan})}. "
            "You can say help at any time.", "announce")]
        self._queue_opening()
        return self._listen_for(out + self._ask_next())

    def set_pace(self, pace: SpeechPace | None) -> None:
        """How fast the voice now says the announcements (the voice adapter knows, after each change); the
        next announcements are fitted to it."""
        self.options = replace(self.options, pace=pace)

    def handle(self, event: Event) -> list[Action]:
        if self.finished:
            return []
        return self._listen_for(self._handle(event))

    def _listen_for(self, out: list[Action]) -> list[Action]:
        """``out``, and a Listen action when what the session listens for changed (a question opened or closed)."""
        wanted = None
        if self.asking is not None and not self.finished:
            wanted = frozenset(ANSWERS[self.asking.expects] + QUESTION_COMMANDS)
        elif self.stage == "steps":
            wanted = frozenset(STEP_COMMANDS)
        if wanted == self.listening:
            return out
        self.listening = wanted
        return out + [Listen(wanted)]

    def _handle(self, event: Event) -> list[Action]:
        dt = max(0.0, event.now - self.now)
        self.now = event.now
        out = self._advance(dt)
        if isinstance(event, Tick):
            out += self._remind()
        elif isinstance(event, Heard):
            out += self._heard(event.intent)
        elif isinstance(event, EndRequested):
            out += self._end_requested(event)
        elif isinstance(event, DeviceLost):
            out += self._device_lost(event.what)
        elif isinstance(event, DeviceBack):
            out += self._device_back(event.what)
        elif isinstance(event, VoiceChanged):
            out.append(Say(event.reply, "confirm"))
        if self.running:
            planned = self.plan[self.index]
            if not planned.active:  # left out for safety while under way: it ends now, after the time it took
                planned.spent = self.elapsed
                out += self._begin_step(self.index + 1)
            elif self.elapsed >= planned.duration:
                out += self._begin_step(self.index + 1)
        return out

    @property
    def current(self) -> PlannedStep | None:
        return self.plan[self.index] if self.stage == "steps" and 0 <= self.index < len(self.plan) else None

    @property
    def running(self) -> bool:
        return self.stage == "steps" and self.asking is None and self.paused is None

    def remaining_seconds(self) -> float:
        """Session time still planned: the rest of this step and every active step after it."""
        if self.stage == "opening":
            return adapt.total(self.plan)
        if self.stage != "steps":
            return 0.0
        rest = sum(p.duration for p in self.plan[self.index + 1 :] if p.active)
        return max(0.0, self.plan[self.index].duration - self.elapsed) + rest

    # --- speaking and questions -----------------------------------------------------------------------
    def _say(self, text: str, kind: str = "announce") -> Say:
        if kind in ("announce", "question"):
            self.last_said = text
        return Say(text, kind)

    def _ask(self, question: Question) -> list[Action]:
        """Say ``question`` and wait for its answer."""
        self.asking = question
        question.asked_at = self.now
        question.hinted = False
        intro = [self._say(question.intro, "announce")] if question.intro else []
        question.intro = ""
        return intro + [self._say(question.text, "question")]

    def _remind(self) -> list[Action]:
        """Ask an unanswered question again: the person may not have heard it, or have stepped away. After
        the last reminder, an end rating is left out (so the session can end and be saved); anything else
        waits in a pause, to be asked again on resume."""
        question = self.asking
        if question is None or self.paused or self.now - question.asked_at < self.options.remind_after:
            return []
        if question.reminders >= MAX_REMINDERS:
            if self.stage == "closing":
                return [self._say("No answer; I'll leave that one out.", "confirm")] + self._settle(question, None, "")
            self.paused = "no answer"
            return [Record("pause", {"reason": "no answer"}), Earcon("paused"),
                    self._say("I'll wait. Say resume when you are ready, and I'll ask again.", "confirm")]
        question.reminders += 1
        question.asked_at = self.now
        question.hinted = False
        return [self._say(question.text, "question")]

    def _ask_next(self) -> list[Action]:
        if self.paused:
            return []
        while self.questions:
            queued = self.questions.popleft()
            question = queued if isinstance(queued, Question) else queued()
            if question is not None:
                return self._ask(question)
        self.asking = None
        if self.stage == "opening":
            return self._begin_steps()
        if self.stage == "closing":
            return self._finish()
        return []

    def _answer(self, intent: Intent) -> list[Action]:
        question = self.asking
        assert question is not None
        value: Answer
        if intent.name in ("skip", "unsure"):  # not known: a safety question is not confirmed
            value = None
        elif intent.name in ANSWERS[question.expects]:
            if question.expects in ("yesno", "spot"):
                value = intent.name != "no"
            else:
                value = intent.value
            if question.expects == "area" and value not in (*AREA_CHOICES, "whole"):
                return self._not_understood(question)
            if question.expects == "foot" and value is None:  # "the other foot" with no foot under way
                return self._not_understood(question)
        else:
            return self._not_understood(question)
        self.slots, self.other_spots = spot_of(intent), intent.others
        return self._settle(question, value, intent.text, unknown=intent.name if value is None else "skip")

    def _settle(self, question: Question, value: Answer, text: str, unknown: str = "skip") -> list[Action]:
        """``unknown``: how a None answer is recorded, "skip" or "unsure"."""
        self.asking = None
        out: list[Action] = [Earcon("understood")]
        if question.record:
            answer = unknown if value is None else ("yes" if value is True else "no" if value is False else value)
            out.append(Record("safety", {**question.record, "answer": answer, "text": text}))
        out += question.on_answer(value)
        if not self.finished and self.asking is None:
            out += self._ask_next()
        return out

    def _not_understood(self, question: Question) -> list[Action]:
        """A typed reply that is no answer (a typo, "seven" to a yes-or-no question): what to answer and the
        question again, every time, as typed words are surely meant for the companion. It never skips the
        question (a skipped safety question is not confirmed, and the session would not start over a typo):
        only "skip" or "not sure" do."""
        return self._hint(question) + self._ask(question)

    @staticmethod
    def _hint(question: Question) -> list[Action]:
        hint = ANSWER_HINTS[question.expects]
        return [Earcon("not_understood"), Say(f"Sorry, I didn't catch that. {hint}", "warning")]

    def _unclear(self, intent: Intent) -> list[Action]:
        """Words the voice heard that are no answer to the open question ("seven" to a rating): what to answer,
        once each time the question is asked, since the words may have been said to someone else."""
        question = self.asking
        if question is None or self.paused or question.hinted:
            return []
        question.hinted = True
        return [Record("intent", {"intent": intent.name, "text": intent.text, "value": None}), *self._hint(question)]

    # --- opening: safety check, what carried over, baseline ----------------------------------------------
    def _queue_opening(self) -> None:
        """The opening questions, the safety check first: a contraindication ends the session before anything
        else is asked or arranged (a resume offer, kept pressures). A spot sore last time is asked about
        within the check, before "Is there a painful spot?"; then the resume offer, the kept pressures (not
        raised on a spot just said to be sore) and the baseline, the last thing before the massage."""
        profile = self.options.profile
        safety = [  # (id, question, what it asks about, what to do when a physician has cleared it anyway)
            ("circulation", "Is there a known circulation disorder, a blood clot, or diabetes affecting the feet?",
             "a circulation disorder, a blood clot or diabetes affecting the feet", ""),
            ("skin", "Is there an open wound, a skin condition or an infection on the feet?",
             "an open wound, a skin condition or an infection", "Work around any wound or infected skin, never over it."),
        ]
        for i, (qid, text, why, care) in enumerate(safety):
            self.questions.append(Question(qid, text + " Say yes or no.", "yesno", self._contraindication(why, care),
                                           record={"question": qid}, intro="" if i else "First, a short safety check."))
        self.questions.append(Question("swelling", "Is there swelling in the feet or ankles?", "yesno",
                                       self._swelling_answer, record={"question": "swelling"}))
        for foot, area in sorted(profile.sensitive):
            self.questions.append(Question(
                f"profile-sore-{foot}-{area}", f"Last time {wording.was_sore(foot, area)}. {wording.still_sore(foot, area)}",
                "spot", self._still_sore(foot, area)))  # "spot": "yes, it is sore" (pain words) is a yes
        self.questions.append(Question("sore-spot", "Is there a painful spot, such as a heel spur?", "spot",
                                       self._sore_spot_answer, record={"question": "sore-spot"}))
        resume = next((p.step for p in self.plan if p.step.id == self.options.resume_at), None)
        if resume is not None:
            self.questions.append(Question(
                "resume", f"Last time we stopped during {wording.work_on(resume)}. Shall we resume there?",
                "yesno", self._resume_answer(resume.id)))
        self.questions.append(self._preferences_offer)
        # An interrupted session stopped in its steps, so these ratings were asked before them, even if it has
        # no ratings after the massage to compare with.
        rated_before = bool(profile.last_after) or resume is not None
        for i, measure in enumerate(self.routine.measures):
            intro = ("Now the same ratings as last time." if rated_before else
                     "Now let's agree how we'll measure circulation today.") if i == 0 else ""
            text = f"Rate the {measure.label} from one, {measure.low}, to five, {measure.high}."
            self.questions.append(self._rating_question(measure.id, "before", text, intro))

    def _resume_answer(self, step_id: str) -> Callable[[Answer], list[Action]]:
        def on_answer(value: Answer) -> list[Action]:
            if not value:
                return [self._say("Then we'll start from the beginning.", "confirm")]
            first = next(i for i, p in enumerate(self.plan) if p.step.id == step_id)
            foot = self.plan[first].step.foot
            redo = [p for p in self.plan[:first] if p.step.redo_on_resume and p.step.foot in (foot, "both")]
            changes = [adapt.skip(p, "done in the interrupted session") for p in self.plan[:first]
                       if p.active and p not in redo]
            left = wording.approx_minutes(adapt.total(self.plan))  # the welcome gave the whole session's length
            warm_up = ", after a short warm-up" if redo else ""  # the feet have cooled since
            return self._plan_records(changes) + [self._say(
                f"We'll go on from there{warm_up}: {left} of massage.", "confirm")]
        return on_answer

    def _still_sore(self, foot: str, area: str) -> Callable[[Answer], list[Action]]:
        def on_answer(value: Answer) -> list[Action]:
            if value is False:
                return [Record("recovered", {"foot": foot, "area": area, "reason": "no longer sore"}),
                        self._say("Good.", "confirm")]
            if value:  # the safety check's own question is then about other spots
                for question in self.questions:
                    if isinstance(question, Question) and question.id == "sore-spot":
                        question.text = "Is there any other painful spot?"
            reason = "still sore from last session" if value else "sore last session (not confirmed otherwise)"
            return self._mark_sore(foot, area, reason) + [self._say(f"I'll keep {wording.spot(foot, area)} light.", "confirm")]
        return on_answer

    def _preferences_offer(self) -> Question | None:
        """The pressures kept from last time, offered in one question (several "Keep that?" in a row were a lot)
        once the safety check is answered: not on a spot sore today (still sore from last time, or said to be:
        it stays light), nor one the routine works at that pressure anyway."""
        offered = [(foot, area, pressure) for (foot, area), pressure in sorted(self.options.profile.pressure.items())
                   if not any(adapt.covers(foot, area, *spot) for spot in self.sore)
                   and {p.pressure for p in self.plan if (p.step.foot, p.step.area) == (foot, area)} - {pressure}]
        if not offered:
            return None
        said = wording.and_list([f"{pressure} pressure {wording.pressure_on(foot, area)}"
                                 for foot, area, pressure in offered])
        keep = "that" if len(offered) == 1 else "those"
        return Question("profile-pressure", f"Last time you preferred {said}. Keep {keep}?", "yesno",
                        self._keep_preferences(offered))

    def _keep_preferences(self, offered: list[tuple[str, str, str]]) -> Callable[[Answer], list[Action]]:
        def on_answer(value: Answer) -> list[Action]:
            out: list[Action] = []
            for foot, area, pressure in offered:
                if not value:
                    out.append(Record("preference", {"foot": foot, "area": area, "pressure": None}))
                    continue
                self.preferred[(foot, area)] = pressure
                changes = adapt.set_pressure(self.plan, 0, foot, area, pressure, "client preference from last session",
                                             frozenset(self.sore))
                out += self._plan_records(changes) + [Record("preference", {"foot": foot, "area": area, "pressure": pressure})]
            there = "there" if len(offered) == 1 else "in those places"
            if not value:
                return out + [self._say(f"All right, the usual pressure {there}.", "confirm")]
            what = f"{offered[0][2]} pressure" if len(offered) == 1 else "the same pressures"
            return out + [self._say(f"Good: {what} {there} again.", "confirm")]
        return on_answer

    def _contraindication(self, why: str, care: str) -> Callable[[Answer], list[Action]]:
        def on_answer(value: Answer) -> list[Action]:
            if value is False:
                return []
            if self.options.cleared_by_physician:
                cleared = "As this massage needed a physician's clearance, we keep the pressure light."
                said = [] if self.keep_light == cleared else [
                    "You have said a physician cleared this massage. I'll keep the pressure light throughout."]
                self.keep_light = cleared
                changes = adapt.all_light(self.plan, "contraindication cleared by a physician")
                text = " ".join(said + [care]).strip()
                return self._plan_records(changes) + ([self._say(text, "confirm")] if text else [])
            said = "you said there is" if value else "I could not rule out"
            self.questions.clear()
            return [self._say(
                f"Then we should not start: {said} {why}. Massage could be unsafe. Please talk to a physician first. "
                "If a physician has cleared the massage, whoever set up the companion can start it again with the "
                "cleared-by-physician option.", "warning"),
            ] + self._end("contraindicated")
        return on_answer

    def _swelling_answer(self, value: Answer) -> list[Action]:
        if value is False:
            return []
        why = "there is swelling" if value else "I could not confirm there is no swelling"
        light = "" if self.keep_light else "keep the pressure light throughout and "  # said once (a clearance says it)
        self.keep_light = f"Since {why}, we keep the pressure light."
        changes = adapt.for_swelling(self.plan, why.replace("I could not confirm", "not confirmed"))
        return self._plan_records(changes) + [self._say(
            f"Since {why}, I'll {light}leave out the pressure strokes toward the ankle.", "confirm")]

    def _sore_spot_answer(self, value: Answer) -> list[Action]:
        """Yes: which foot and which area, unless said with the answer ("yes, my left heel")."""
        if not value:
            return []
        foot, area = self.slots
        if self.other_spots:  # several at once: each kept light (an unnamed foot: both; an unnamed area: the foot)
            spots = named_spots(self.slots, self.other_spots, "both", "whole")
            out = self._mark_spots(spots, "painful spot reported in the safety check")
            return out + [self._say(f"Thank you. I'll keep {self._spot_names(spots)} light and skip the point work "
                                    "there.", "confirm")]
        if foot is None:
            self.questions.appendleft(Question("sore-foot", "Which foot: left, right or both?", "foot",
                                               lambda answer: self._sore_foot(answer, area or self.slots[1]),
                                               record={"question": "sore-foot"}))
            return []
        return self._sore_foot(foot, area)

    def _sore_foot(self, foot: Answer, area: str | None) -> list[Action]:
        foot = foot if isinstance(foot, str) else "both"
        if area in AREA_CHOICES:
            return self._sore_area(foot, area)
        self.questions.appendleft(Question("sore-area", "Which area: toes, ball, arch, heel or ankle?", "area",
                                           lambda answer: self._sore_area(foot, answer), record={"question": "sore-area"}))
        return []

    def _sore_area(self, foot: str, area: Answer) -> list[Action]:
        area = area if isinstance(area, str) else "whole"
        return self._mark_sore(foot, area, "painful spot reported in the safety check") + [
            self._say(f"Thank you. I'll keep {wording.spot(foot, area)} light and skip the point work there.", "confirm")]

    def _rating_question(self, measure: str, when: str, text: str, intro: str = "") -> Question:
        def on_answer(value: Answer) -> list[Action]:
            self.ratings[when][measure] = value if isinstance(value, int) else None
            return [Record("rating", {"measure": measure, "value": self.ratings[when][measure], "when": when})]
        return Question(f"rating-{when}-{measure}", text, "number", on_answer, intro=intro)

    # --- steps ----------------------------------------------------------------------------------------------
    def _begin_steps(self) -> list[Action]:
        self.stage = "steps"
        return [self._say("Let's begin.", "confirm")] + self._begin_step(0, previous=None)

    def _begin_step(self, index: int, previous: PlannedStep | None | bool = True) -> list[Action]:
        """Start the first active step from ``index`` on (previous=None: announce it in full)."""
        before = self.current if previous is True else previous
        while index < len(self.plan) and not self.plan[index].active:
            index += 1
        if index >= len(self.plan):
            return self._closing("routine complete")
        self.index, self.elapsed, self.fired = index, 0.0, set()
        planned = self.plan[index]
        step = planned.step
        text = self._announcement(before, planned)
        self.announce_ends = spoken_seconds(text, self.options.pace) if self.options.pace else 0.0
        out: list[Action] = [
            Earcon("step"), self._say(text, "announce"),
            Record("step", {"id": step.id, "phase": step.phase, "foot": step.foot, "area": step.area,
                            "technique": step.technique, "pressure": planned.pressure, "duration": planned.duration})]
        following = self._next_active(index)
        if following is not None:
            out.append(Prepare(self._announcement(planned, following)))
        return out

    def _announcement(self, before: PlannedStep | None, planned: PlannedStep) -> str:
        """What is said when ``planned`` starts after ``before``: the foot and phase when they change, then the
        step. When that would take more than ANNOUNCE_SHARE of the step at the voice's pace, the step's
        instruction is left out, then the phase's name; where, the technique, the pressure, the duration and
        the step's caution are always said ("repeat" says the instruction too)."""
        step = planned.step
        foot, phase = [], []
        new_foot = before is None or before.step.foot != step.foot
        if new_foot:
            foot.append(f"Now {'both feet' if step.foot == 'both' else 'the ' + step.foot + ' foot'}.")
        if before is None or before.step.phase != step.phase:
            phase.append(self.routine.phases.get(step.phase, step.phase.capitalize()) + ".")
        where = (wording.area_name(step.area) if step.area != "whole" else "") if new_foot else None  # foot said
        # the focused steps (toes … ankle) share one long technique name: said once, the headings are short
        named = before is None or before.step.technique != step.technique
        full = " ".join(foot + phase + [wording.announcement(step, planned.pressure, planned.duration, where, named)])
        pace = self.options.pace
        if pace is None or spoken_seconds(full, pace) <= ANNOUNCE_SHARE * planned.duration:
            return full
        heading = " ".join(filter(None, [wording.step_heading(step, planned.pressure, planned.duration, where, named),
                                         step.caution]))  # a caution is never left out
        shorter = " ".join(foot + phase + [heading])
        if not phase or spoken_seconds(shorter, pace) <= ANNOUNCE_SHARE * planned.duration:
            return shorter
        return " ".join(foot + [heading])

    def _next_active(self, index: int) -> PlannedStep | None:
        return next((p for p in self.plan[index + 1 :] if p.active), None)

    def _cues(self, planned: PlannedStep) -> list[tuple[float, str, str]]:
        """(time into the step, key, text) of what is said during it."""
        d = planned.duration
        cues = planned.step.cues
        timed = [(d * (k + 1) / (len(cues) + 1), f"cue{k}", text) for k, text in enumerate(cues)]
        if d >= TIMED_CUES_FROM_S:
            merged = [t for t in timed if abs(t[0] - d / 2) < 5]
            timed = [t for t in timed if t not in merged]
            timed.append((d / 2, "half", " ".join(["Halfway."] + [t[2] for t in merged])))
            following = self._next_active(self.index)
            timed.append((d - 10, "ten", wording.next_up(following.step if following else None)))
        # At a slow voice's pace a long announcement still runs when a cue falls due ("Vary the speed" 25 s into
        # a 75-s step came 4 s late, "Halfway" 9 s late): the step's cues wait for its end, without "Halfway".
        ends = self.announce_ends + CUE_GAP_S if self.announce_ends else 0.0
        early = [t for t in timed if t[0] < ends and t[1] != "ten"]
        if early:
            timed = [t for t in timed if t not in early]
            said = " ".join(t[2].removeprefix("Halfway.").strip() for t in early).strip()
            if said and ends < d - 5:
                timed.append((ends, early[0][1], said))
        return sorted(timed)

    def _advance(self, dt: float) -> list[Action]:
        """Let ``dt`` seconds pass on the step timer (only while a step runs), saying cues as they fall due."""
        out: list[Action] = []
        while self.running and dt > 0:
            planned = self.plan[self.index]
            step_left = planned.duration - self.elapsed
            used = min(dt, step_left)
            self.elapsed += used
            dt -= used
            for at, key, text in self._cues(planned):
                if self.elapsed >= at and key not in self.fired and at < planned.duration:
                    self.fired.add(key)
                    out.append(self._say(text, "cue"))
            if self.elapsed >= planned.duration:
                out += self._begin_step(self.index + 1)
        return out

    # --- what the person says ---------------------------------------------------------------------------------
    def _heard(self, intent: Intent) -> list[Action]:
        if intent.name == "unclear":
            return self._unclear(intent) if self.stage != "ended" else []
        intent = intent.with_other_foot(self.current.step.foot if self.current else None)
        record = Record("intent", {"intent": intent.name, "text": intent.text, "value": intent.value})
        ignored = Record("intent", {**record.data, "ignored": True})
        if self.stage == "ended":
            return [record]
        if intent.name == "no_command" and self.asking is None:  # "don't go back", "my thumb hurts": as by voice
            return [ignored]
        if intent.name == "pain" and self.asking is not None and self.asking.expects == "spot" and not self.paused:
            return [record] + self._answer(intent)  # "my left heel hurts" answers "is there a painful spot?"
        if intent.refines:
            return [record] + self._pain_spot(intent)
        if intent.name in ("pain", "stop"):  # barge-in: silence first, in the same tick
            return [StopSpeech(), record] + (self._pain(intent) if intent.name == "pain" else self._confirm_stop())
        if intent.name == "pause":
            return [StopSpeech(), record] + self._pause("asked to pause")
        if intent.name == "resume":
            if not self.paused and self.asking is not None and self.asking.id in ("confirm-stop", "end-after-pain"):
                return [record] + self._settle(self.asking, False, intent.text)  # "keep going": not ending
            return [record] + self._resume()
        if intent.name == "help":  # then the open question again, once: what to answer now
            return [record, self._say(self._help_text(), "help")] + self._ask_again()
        if intent.name == "repeat":
            return [record, Say(self._repeat_text(), "confirm")]
        if intent.name == "where":
            return [record, Say(self._where(with_next=True), "confirm")] + self._ask_again()
        if intent.name in VOICE_INTENTS:
            if self.options.pace is None:
                return [record, Say("This session is not spoken, so there is no voice to change.", "confirm")]
            setting, direction = VOICE_INTENTS[intent.name]
            # answered by the voice adapter (VoiceChanged), which alone knows whether it could ("That is as loud
            # as I speak.")
            return [record, AdjustVoice(setting, direction), Record("voice", {"setting": setting, "direction": direction})]
        if self.paused and not (self.asking is not None and self.asking.id == "confirm-stop"):
            return [record, Say("We are paused. Say resume when you are ready.", "confirm")]
        if self.asking is not None:
            return [record] + self._answer(intent)
        if self.stage != "steps":
            return [record]
        handlers = {"skip": self._skip, "back": self._back, "next_foot": lambda: self._next_foot(intent.foot),
                    "more_time": self._more_time, "less_time": self._less_time,
                    "more_pressure": lambda: self._pressure(intent, +1),
                    "less_pressure": lambda: self._pressure(intent, -1)}
        if intent.name in handlers:
            return [record] + handlers[intent.name]()
        if intent.name == "unknown":  # typed words that hold no phrase (a voice's are "unclear", said to no one)
            return [ignored, Say("Sorry, I didn't catch that. Say help for the commands.", "warning")]
        return [ignored]

    def _repeat_text(self) -> str:
        """The open question, or during a step its announcement with the time now left (the one said at its
        start gave the whole duration), or else the last thing announced."""
        if self.asking is None and self.current is not None:
            planned = self.current
            left = max(0.0, planned.duration - self.elapsed)
            return wording.announcement(planned.step, planned.pressure, left, remaining=True)
        return self.last_said or "Nothing yet."

    def _help_text(self) -> str:
        """The commands that work now: during a question, those listened for while it is open (it is asked
        again after this)."""
        helps = self.options.help_words or DEFAULT_HELP
        if self.asking is None:
            return "You can say: " + ", ".join(word for _, word in helps[:-1]) + f", or {helps[-1][1]}."
        words = [word for intent, word in helps if intent in QUESTION_COMMANDS]
        return "Besides an answer, you can say: " + ", ".join(words[:-1]) + f", or {words[-1]}."

    def _where(self, with_next: bool = False) -> str:
        if self.stage == "opening":
            return "We are at the safety check and the first measures, before the massage."
        if self.stage != "steps":
            return "The massage is done; we are at the end-of-session ratings."
        planned = self.plan[self.index]
        step = planned.step
        paused = "Paused. " if self.paused else ""
        then = ""
        if with_next:  # "where am I", "what's next"
            following = self._next_active(self.index)
            then = f" Next: {wording.step_name(following.step)}." if following else " This is the last step."
        return (f"{paused}{wording.place(step.foot, step.area).capitalize()}: {step.technique}. "
                f"{wording.duration_words(max(0.0, planned.duration - self.elapsed)).capitalize()} left in this step, "
                f"{wording.approx_minutes(self.remaining_seconds())} left in the session.{then}")

    def _pause(self, reason: str, why: str = "") -> list[Action]:
        """Stop the timers. ``reason`` is what must happen to go on (DEVICE_PAUSE: a device coming back)."""
        if self.paused:
            if self.paused == DEVICE_PAUSE and reason != DEVICE_PAUSE:
                self.paused = reason  # the device coming back must not resume what the person paused
            return [Say("We are already paused. Say resume when you are ready.", "confirm")]
        self.paused = reason
        out: list[Action] = [Record("pause", {"reason": why or reason}), Earcon("paused")]
        if reason == DEVICE_PAUSE:
            return out + [self._say(f"Paused: {why}. I'll go on when it is back.", "warning")]
        return out + [self._say("Paused. Say resume when you are ready.", "confirm")]

    def _resume(self) -> list[Action]:
        if not self.paused:
            return [Say("We are not paused.", "confirm")]
        if self.lost:  # lost during the person's pause: its coming back resumes
            self.paused = DEVICE_PAUSE
            return [Say(f"The {' and the '.join(sorted(self.lost))} is still lost. I'll go on when it is back.", "warning")]
        self.paused = None
        out: list[Action] = [Record("resume", {"reason": "asked to resume"}), Earcon("understood")]
        if self.asking is not None:
            return out + [Say("Resuming.", "confirm")] + self._ask(self.asking)
        if self.questions or self.stage != "steps":  # questions waited for the pause (a stop question came in it)
            return out + [Say("Resuming.", "confirm")] + self._ask_next()
        return out + [Say(f"Resuming. {self._where_and_what()}", "confirm")]

    def _where_and_what(self) -> str:
        """Where we are, how firmly and what to do: after a pause (which often cut the step's announcement short)."""
        planned = self.plan[self.index]
        how = f"{planned.pressure.capitalize()} pressure. " if planned.step.touches else ""
        return f"{self._where()} {how}{planned.step.guidance}"

    def _device_lost(self, what: str) -> list[Action]:
        self.lost.add(what)
        if self.paused:  # already paused (by the person, or for the other device): kept in the record all the same
            return [Record("pause", {"reason": f"the {what} was lost"})]
        return [StopSpeech()] + self._pause(DEVICE_PAUSE, f"the {what} was lost")

    def _device_back(self, what: str) -> list[Action]:
        self.lost.discard(what)
        if self.lost or self.paused != DEVICE_PAUSE:
            return []  # something is still missing, or the person paused: they say resume
        self.paused = None
        out: list[Action] = [Record("resume", {"reason": f"the {what} is back"})]
        if self.asking is not None:
            return out + [Say(f"The {what} is back.", "confirm")] + self._ask(self.asking)
        if self.stage != "steps":
            return out + [Say(f"The {what} is back.", "confirm")] + self._ask_next()
        return out + [Say(f"The {what} is back. {self._where_and_what()}", "confirm")]

    def _skip(self) -> list[Action]:
        planned = self.plan[self.index]
        planned.duration = self.elapsed  # it ends now, after the time it took
        given = adapt.give_back(self.plan, self.index, self.plan_budget,
                                f"time given back after skipping {wording.work_on(planned.step)}")
        return [Record("plan", {"change": "skip", "step": planned.step.id, "reason": "asked to skip"})] + \
            self._plan_records(given) + [Say("Skipping." + (" I've given the time to the steps I shortened before."
                                                           if given else ""), "confirm")]

    def _next_foot(self, named: str | None) -> list[Action]:
        """The rest of this foot's steps skipped, on to the other foot's first step; their time goes back to
        the steps shortened before, as after "skip". ``named``: the foot said ("go to the left foot"), if any;
        the one being massaged changes nothing."""
        planned = self.plan[self.index]
        foot = planned.step.foot
        if foot == "both":
            return [Say("This part is for both feet. Say skip for the next step.", "confirm")]
        if named == foot:
            return [Say(f"We're on the {foot} foot now.", "confirm")]
        other = "right" if foot == "left" else "left"
        first = next((i for i in range(self.index + 1, len(self.plan))
                      if self.plan[i].active and self.plan[i].step.foot == other), None)
        if first is None:
            return [Say(f"The {foot} foot is the last one. Say skip for the next step.", "confirm")]
        reason = "asked for the next foot"
        planned.duration = self.elapsed  # it ends now, after the time it took
        rest = [adapt.skip(p, reason) for p in self.plan[self.index + 1 : first] if p.active and p.step.foot == foot]
        given = adapt.give_back(self.plan, self.index, self.plan_budget,
                                f"time given back after moving to the {other} foot")
        return [Record("plan", {"change": "skip", "step": planned.step.id, "reason": reason})] + \
            self._plan_records(rest + given) + [Say(f"Skipping the rest of the {foot} foot." + (
                " I've given the time to the steps I shortened before." if given else ""), "confirm")]

    def _sore_under(self, planned: PlannedStep) -> bool:
        """Whether a step works on a spot marked sore in this session."""
        return any(adapt.covers(planned.step.foot, planned.step.area, *spot) for spot in self.sore)

    def _back(self) -> list[Action]:
        # The step before this one, even one the person skipped (but not one left out for safety, nor point
        # work on a spot that became sore since: "ouch", then "back", went back to it at medium pressure).
        earlier = [i for i in range(self.index - 1, -1, -1)
                   if self.plan[i].active and not (self.plan[i].step.focused and self._sore_under(self.plan[i]))]
        target = earlier[0] if earlier else self.index
        redo = self.plan[target]
        lightened = adapt.lighten(redo, "gone back to, on a spot sore since") if self._sore_under(redo) else []
        # Going back repeats work: the time spent on what is done again (all of this step so far, and the
        # earlier step as long as it took: a few seconds if it was skipped) is won back from later optional
        # steps; the rest is an asked-for overrun.
        cost = self.elapsed + (redo.duration if target != self.index else 0.0)
        redo.duration = max(redo.duration, redo.step.duration)  # a step cut short by "skip" is done in full
        self.plan_budget -= cost
        need = min(cost, max(0.0, adapt.total(self.plan) - self.plan_budget))
        changes = adapt.win_back(self.plan, self.index, need, "to stay on time after going back")
        said = "Going back." if earlier else "This is the first step; starting it again."
        out: list[Action] = [Record("plan", {"change": "back", "step": redo.step.id, "reason": "asked to go back"})]
        out += self._plan_records(lightened + changes) + [Say(said + self._shortened(changes) + self._overrun(), "confirm")]
        self.index = target
        return out + self._begin_step(target, previous=None)

    def _more_time(self) -> list[Action]:
        changes = adapt.extend(self.plan, self.index, EXTRA_SECONDS, self.plan_budget,
                               wording.work_on(self.plan[self.index].step))
        self.fired.discard("ten")
        return self._plan_records(changes) + [
            Say("Thirty more seconds here." + self._shortened(changes) + self._overrun(), "confirm")]

    def _shortened(self, changes: list[adapt.Change]) -> str:
        """The later steps shortened to stay on time, as said after the request that shortened them."""
        order = {p.step.id: i for i, p in enumerate(self.plan)}
        shortened = [self._step_by_id(s) for s in sorted({str(c["step"]) for c in changes if c["change"] == "shorten"},
                                                         key=order.__getitem__)]  # in the order they come
        return f" To stay on time I've shortened: {wording.step_names(shortened)}." if shortened else ""

    def _overrun(self) -> str:
        """How much longer than planned the session now runs, when requests made it so (after the optional
        steps gave back what they could): the running total, not this request's share."""
        over = adapt.total(self.plan) - self.plan_budget
        return f" The session will now run {wording.duration_words(over)} longer than planned." if over >= 5 else ""

    def _less_time(self) -> list[Action]:
        changes = adapt.shorten(self.plan, self.index, EXTRA_SECONDS, self.elapsed, self.plan_budget,
                                wording.work_on(self.plan[self.index].step))
        if not changes:
            return [Say("This step is nearly over already.", "confirm")]
        # the cues of the shorter step that are now behind us are not said late, one after the other
        self.fired |= {key for at, key, _ in self._cues(self.plan[self.index]) if at <= self.elapsed}
        text = f"{wording.duration_words(float(changes[0]['seconds'])).capitalize()} less on this step."
        if len(changes) > 1:
            text += " I've given it back to the steps I shortened before."
        return self._plan_records(changes) + [Say(text, "confirm")]

    def _pressure(self, intent: Intent, direction: int) -> list[Action]:
        planned = self.plan[self.index]
        step = planned.step
        foot, area = step.foot, intent.area or step.area
        if not step.touches:
            return [Say("This step has no pressure to change.", "confirm")]
        if direction > 0:
            if self.keep_light:
                return [Say(self.keep_light, "confirm")]
            sore = [s for s in self.sore if adapt.covers(step.foot, area, *s)]
            if sore:
                return [Say(f"I'll keep it light: {wording.was_sore(*sore[0])} today.", "confirm")]
        changes = adapt.change_pressure(self.plan, self.index, foot, area, direction,
                                        "asked for " + ("more" if direction > 0 else "less") + " pressure",
                                        frozenset(self.sore))
        if not changes:
            level = "firm" if direction > 0 else "light"
            return [Say(f"That is already {level} pressure; I'll keep it there.", "confirm")]
        how, where = "Firmer" if direction > 0 else "Gentler", wording.pressure_on(foot, area)
        levels = {str(c["to"]) for c in changes}
        if len(levels) > 1:  # the steps on a whole foot differ: each one level, not remembered as one pressure
            now = next((str(c["to"]) for c in changes if c["step"] == step.id), None)
            lead = f"{how}: {now} pressure now" if now else how
            return self._plan_records(changes) + [
                Say(f"{lead}, and one level {'firmer' if direction > 0 else 'gentler'} {where} from here on.",
                    "confirm")]
        new = levels.pop()
        self.preferred[(foot, area)] = new
        return self._plan_records(changes) + [
            Record("preference", {"foot": foot, "area": area, "pressure": new}),
            Say(f"{how}: {new} pressure {where} from now on.", "confirm")]

    def _pain(self, intent: Intent) -> list[Action]:
        out: list[Action] = []
        planned = self.current
        if planned is None:  # no touch under way (questions, ratings): ease off, then the open question again
            return self._pain_between_steps(intent) + self._ask_again()
        step = planned.step
        spots = named_spots(spot_of(intent), intent.others, step.foot, step.area)  # "my left heel and right arch"
        foot, area = spots[0]
        named = bool(intent.foot or intent.area)  # unnamed, it is the spot of the report just made, even in a new step
        if self.last_pain is not None and self.now - self.last_pain[0] <= SAME_PAIN_S and \
                (not named or self.last_pain[1] == (foot, area)):
            self.last_pain = (self.now, (foot, area), self.last_pain[2])
            return [self._say(self.last_pain[2], "warning")] + self._ask_again()  # its reply again: this one cut it off
        self.pain_reports += 1
        if not (step.touches or named):  # the soak: nothing is marked sore unless named
            reply = "Take your time. If a spot hurts, say where: for example, pain in my left heel."
        else:
            again = [spot for spot in spots if self.sore.get(spot, 0) >= 1]  # a second report there
            first = [spot for spot in spots if spot not in again]
            reply = "Ease off now."
            if again:
                for sore_foot, sore_area in again:
                    out += self._mark_sore(sore_foot, sore_area, "pain reported") + self._plan_records(adapt.skip_area(
                        self.plan, self.index, sore_foot, sore_area,
                        f"pain reported twice at {wording.spot(sore_foot, sore_area)}"))
                reply += f" We'll leave {self._spot_names(again)} alone for the rest of the session."
            if first:
                marked, said = self._keep_light(first)
                out += marked
                reply += said
            if again and not any(p.active for p in self.plan[self.index :]):  # nothing left to massage: not "complete"
                return out + [self._say(reply, "warning")] + self._closing("ended after repeated pain")
        if step.touches and planned.active:  # the pain cut its instruction short: what to go on with
            reply += f" Go on gently: {step.technique}."
        self.last_pain = (self.now, (foot, area), reply)
        out.append(self._say(reply, "warning"))
        if self.pain_reports >= self.offer_end_at:
            self.offer_end_at = self.pain_reports + OFFER_END_EVERY
            out.append(self._say(f"That is the {wording.ordinal_words(self.pain_reports)} time it hurt.", "warning"))
            return out + self._offer_end()
        return out + self._ask_again()

    def _pain_between_steps(self, intent: Intent) -> list[Action]:
        """Pain during the opening questions or the end ratings: a spot it names is kept light in the steps to
        come, or after the last step remembered for the next session ("Last time your left heel was sore")."""
        reply = "Ease off now and take your time."
        if not (intent.foot or intent.area):
            return [self._say(reply, "warning")]
        spots = named_spots(spot_of(intent), intent.others, "both", "whole")
        if self.stage == "opening":
            out, said = self._keep_light(spots)
            reply += said
        else:
            out = [Record("sensitive", {"foot": foot, "area": area, "reason": "pain reported after the massage"})
                   for foot, area in spots if (foot, area) not in self.sore]
            self.sore.update({spot: self.sore.get(spot, 0) + 1 for spot in spots})
            reply += f" I'll note {self._spot_names(spots)} for next time."
        return out + [self._say(reply, "warning")]

    def _pain_spot(self, intent: Intent) -> list[Action]:
        """The spot of a pain report already acted on, heard once the words after "pain" were in: that spot
        is kept light too (not a new report)."""
        planned = self.current
        if planned is None:
            return []
        spots = [spot for spot in named_spots(spot_of(intent), intent.others, planned.step.foot, planned.step.area)
                 if spot not in self.sore]
        if not spots:
            return []
        return self._mark_spots(spots, "pain reported") + [
            self._say(f"I'll keep {self._spot_names(spots)} light too.", "warning")]

    def _keep_light(self, spots: list[tuple[str, str]]) -> tuple[list[Action], str]:
        """Mark ``spots`` sore after a pain report: the actions, and what to add to the reply."""
        marked = self._mark_spots(spots, "pain reported")
        skips = any(isinstance(a, Record) and a.data.get("change") == "skip" for a in marked)
        point_work = " and skip the point work there" if skips else ""
        return marked, f" I'll keep {self._spot_names(spots)} light from here{point_work}."

    def _mark_spots(self, spots: list[tuple[str, str]], reason: str) -> list[Action]:
        """Mark each of several spots said at once sore (see _mark_sore)."""
        return [action for foot, area in spots for action in self._mark_sore(foot, area, reason)]

    @staticmethod
    def _spot_names(spots: list[tuple[str, str]]) -> str:
        """"your left heel and the arch of your right foot"."""
        return wording.and_list([wording.spot(foot, area) for foot, area in spots])

    def _ask_again(self) -> list[Action]:
        """The open question once more, after an interruption (unless paused: resume asks it)."""
        return self._ask(self.asking) if self.asking is not None and not self.paused else []

    def _mark_sore(self, foot: str, area: str, reason: str) -> list[Action]:
        """Mark a spot sore for this session and soften the rest of the plan there."""
        first = (foot, area) not in self.sore
        self.sore[(foot, area)] = self.sore.get((foot, area), 0) + 1
        start = self.index if self.stage == "steps" else 0
        changes = adapt.soften(self.plan, max(start, 0), foot, area, reason) if first else []
        forgotten = [spot for spot in self.preferred if adapt.covers(*spot, foot, area)]  # a firmer wish that hurt
        for spot in forgotten:
            del self.preferred[spot]
        return [Record("sensitive", {"foot": foot, "area": area, "reason": reason})] + self._plan_records(changes) + [
            Record("preference", {"foot": f, "area": a, "pressure": None}) for f, a in forgotten]

    def _offer_end(self) -> list[Action]:
        def on_answer(value: Answer) -> list[Action]:
            if value:
                return self._closing("ended after repeated pain")
            if value is None:
                return [Say("We'll go on gently. Say stop at any time to end the session.", "confirm")]
            return [Say("All right, we'll go on gently.", "confirm")]
        question = Question("end-after-pain", "Would you like to end the session?", "yesno", on_answer)
        return self._interrupt_with(question)

    def _confirm_stop(self) -> list[Action]:
        if self.asking is not None and self.asking.id in ("confirm-stop", "end-after-pain"):
            return self._settle(self.asking, True, "stop")

        def on_answer(value: Answer) -> list[Action]:
            if not value:
                return [Say("All right. We are still paused; say resume when you are ready." if self.paused
                            else "Let's continue.", "confirm")]
            if self.stage == "opening":
                self.questions.clear()
                return [self._say("Stopping before the massage.", "confirm")] + self._end("stopped by the user")
            if self.stage == "closing":
                self.questions.clear()
                return self._finish()
            return self._closing("stopped by the user")
        return self._interrupt_with(Question("confirm-stop", "Do you want to end the session now? Say yes or no.", "yesno", on_answer))

    def _interrupt_with(self, question: Question) -> list[Action]:
        if self.asking is not None:
            self.questions.appendleft(self.asking)
        return self._ask(question)

    # --- closing -------------------------------------------------------------------------------------------
    def _end_requested(self, event: EndRequested) -> list[Action]:
        """Ctrl-C, SIGTERM, typed input used up: whatever was being said stops at once (it went on for up to
        14 s after Ctrl-C); the ratings are asked for unless ``event.ratings`` is False (a second signal)."""
        out: list[Action] = [StopSpeech()]
        if self.stage == "opening" or not event.ratings:
            self.questions.clear()
            said = [self._say("Stopping before the massage.", "confirm")] if self.stage == "opening" and event.ratings else []
            return out + said + self._end(event.reason)
        if self.stage == "closing":
            self.questions.clear()
            return out + self._finish()
        return out + self._closing(event.reason)

    def _closing(self, reason: str) -> list[Action]:
        self.stage = "closing"
        self.end_reason = reason
        self.paused = DEVICE_PAUSE if self.lost else None  # the ratings wait for the speaker and the microphone
        self.asking = None
        self.questions.clear()
        for i, measure in enumerate(self.routine.measures):
            intro = "Now let's rate how the feet feel, from one to five." if i == 0 else ""
            text = f"The {measure.label}, from one, {measure.low}, to five, {measure.high}?"
            self.questions.append(self._rating_question(measure.id, "after", text, intro))
        first = "The massage is complete. " if reason == "routine complete" else "We'll stop the massage here. "
        return [Earcon("step"), self._say(first + "Rest the feet for a moment.", "announce")] + self._ask_next()

    def _finish(self) -> list[Action]:
        measures, before, after = self.routine.measures, self.ratings["before"], self.ratings["after"]
        lines = summary.before_and_after(measures, before, after)
        lines += summary.since_last_time(measures, self.options.profile.last_after, after)
        lines.append("Thank you. The session is saved." if self.options.recorded else "Thank you.")
        return [self._say(" ".join(lines), "announce")] + self._end(self.end_reason or "routine complete")

    def _end(self, reason: str) -> list[Action]:
        self.stage = "ended"
        self.finished = True
        self.asking = None
        self.end_reason = reason
        return [Record("end", {"reason": reason, "duration": round(self.now, 3)})]

    # --- helpers ------------------------------------------------------------------------------------------
    def _plan_records(self, changes: list[adapt.Change]) -> list[Action]:
        return [Record("plan", change) for change in changes]

    def _step_by_id(self, step_id: str) -> Step:
        return next(p.step for p in self.plan if p.step.id == step_id)
