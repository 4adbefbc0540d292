"""The logic around the voice loop: the echo gate (the companion must not obey itself) and device states.
(The real audio path is tested in test_device_loss.py and test_e2e_voice.py.)"""

import time

from companion.session.events import Prepare, Say, StopSpeech
from companion.session.intents import Intent
from companion.speech.phrases import available_languages, load_phrases
from companion.speech.recognizer import Recognition
from companion.voice import ECHO_TAIL_S, DeviceState, EchoGate, SpeakerSink, heard_line


class FakeSpeaker:
    def __init__(self) -> None:
        self.speaking, self.text, self.calls = False, None, []

    def is_speaking(self) -> bool:
        return self.speaking

    def current_text(self):
        return self.text

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def heard(text: str, name: str, partial: bool = False) -> Recognition:
    return Recognition(text, Intent(name, text=text), 0.9, 0.0, 0.5, partial)


def gate_with(speaking: bool, text: str | None = None, safety: frozenset[str] | None = None):
    speaker, clock = FakeSpeaker(), Clock()
    speaker.speaking, speaker.text = speaking, text
    sink = SpeakerSink(speaker, clock)
    return EchoGate(sink, load_phrases("en").safety if safety is None else safety, clock), speaker, clock


def test_while_speaking_only_safety_words_pass_and_they_cut_the_speech():
    gate, speaker, _ = gate_with(True, "Left foot, arch. Fingertip friction.")
    assert not gate.admit(heard("more time", "more_time"))
    assert not gate.admit(heard("yes", "yes"))
    assert speaker.calls == []
    assert gate.admit(heard("pain", "pain"))
    assert speaker.calls == [("stop",)]


def test_what_passes_over_the_voice_is_what_the_phrase_table_marks_safety():
    for lang in available_languages():
        safety = load_phrases(lang).safety
        for name in ("pain", "stop", "pause", "yes", "more_time"):
            gate, speaker, _ = gate_with(True, "Left foot, arch.", safety)
            assert bool(gate.admit(heard(name, name))) == (name in safety) == (speaker.calls == [("stop",)])
    gate, speaker, _ = gate_with(True, "Left foot, arch.", frozenset({"stop"}))  # a table without pain as safety
    assert not gate.admit(heard("pain", "pain")) and speaker.calls == []


def test_its_own_words_are_an_echo_even_for_safety_words():
    gate, speaker, _ = gate_with(True, "Paused. Say resume when you are ready. Or say stop to end.")
    assert not gate.admit(heard("stop", "stop"))
    assert not gate.admit(heard("pause", "pause"))  # its "Paused." heard back without the ending
    assert speaker.calls == []
    gate, speaker, _ = gate_with(True, "Left foot, arch. Fingertip friction.")
    assert gate.admit(heard("pain", "pain")) and gate.admit(heard("stop", "stop"))


def test_recent_speech_counts_for_a_short_tail_then_everything_passes():
    gate, speaker, clock = gate_with(True)
    gate.note_speaking()
    speaker.speaking = False
    assert not gate.admit(heard("more time", "more_time"))
    clock.now += ECHO_TAIL_S + 0.1
    assert gate.admit(heard("more time", "more_time"))
    assert not gate.admit(Recognition("the weather", None, 0.2, 0, 1))


def said_at(text: str, name: str, start: float, end: float) -> Recognition:
    return Recognition(text, Intent(name, text=text), 0.9, 0.0, 0.5, said_from=start, said_until=end)


def test_what_counts_is_when_the_words_were_said_not_when_they_arrive():
    """An answer said in the quiet after a question passes though the companion is speaking again when it
    arrives (Whisper is slow); words said while it spoke are held back though it is quiet when they arrive."""
    gate, speaker, clock = gate_with(False)
    clock.now = 10.0
    speaker.speaking = True
    for t in (10.0, 10.1, 10.2, 12.0):  # the question, then the next sentence
        clock.now = t
        gate.note_speaking()
    assert [list(s) for s in gate.spoke] == [[10.0, 10.2], [12.0, 12.0]]
    clock.now = 12.1
    assert gate.admit(said_at("yes", "yes", 11.0, 11.4))
    speaker.speaking = False
    clock.now = 14.0
    assert not gate.admit(said_at("more time", "more_time", 10.05, 10.15))
    assert speaker.calls == []


def test_an_early_safety_word_is_not_delivered_twice():
    gate, _, clock = gate_with(False)
    assert gate.admit(heard("pause", "pause", partial=True))
    clock.now += 0.5
    assert not gate.admit(heard("pause", "pause"))
    clock.now += 5
    assert gate.admit(heard("pause", "pause"))


def test_show_heard_says_what_was_heard_and_what_came_of_it():
    gate, _, clock = gate_with(False)
    early = heard("pause", "pause", partial=True)
    assert heard_line(early, gate.admit(early)) == 'heard "pause" (0.90, early) → pause: obeyed'
    final = heard("pause", "pause")
    assert heard_line(final, gate.admit(final)).startswith('heard "pause" (0.90) → pause: ignored')
    foot = Recognition("left foot", Intent("foot", "left foot", "left"), 0.8, 0.0, 0.5)
    assert heard_line(foot, True) == 'heard "left foot" (0.80) → foot left: obeyed'
    assert heard_line(Recognition("the radio", None, 0.4, 0.0, 0.5), False) == 'heard "the radio" (0.40) → no command'


def test_speaker_sink_maps_actions_to_the_speaker():
    speaker, clock = FakeSpeaker(), Clock()
    sink = SpeakerSink(speaker, clock)
    for action in (Say("Hello."), StopSpeech(), Prepare("Next."), Say("Done.", "confirm")):
        sink(0.0, action)
    assert speaker.calls == [("say", "Hello.", 0.92), ("stop",), ("prepare", "Next.", 0.92), ("say", "Done.", 1.08)]
    assert sink.recent[0] == (100.0, "Hello.")


def test_a_device_is_back_only_once_it_stays_back(monkeypatch):
    monkeypatch.setattr("companion.voice.BACK_AFTER_S", 0.2)
    reports = []
    state = DeviceState("microphone", reports.append)
    state.lost()
    state.lost()
    assert reports == [("lost", "microphone")]
    state.back()
    state.lost()  # failed again right after opening: the same outage
    time.sleep(0.3)
    assert reports == [("lost", "microphone")]
    state.back()
    time.sleep(0.3)
    assert reports == [("lost", "microphone"), ("back", "microphone")]


def test_a_safety_word_cuts_whatever_is_being_said_when_it_arrives():
    """"pause" said in a quiet moment reaches the gate after the companion began its next sentence: that
    sentence is cut at once (a command said in the quiet passes, and cuts nothing)."""
    gate, speaker, clock = gate_with(True, "Ten seconds left. Next: left foot, arch.")
    clock.now = 20.0
    assert gate.admit(said_at("yes", "yes", 18.0, 18.4)) and speaker.calls == []
    assert gate.admit(said_at("pause", "pause", 18.5, 18.9))
    assert speaker.calls == [("stop",)]


def test_the_spot_heard_after_an_early_pain_comes_as_a_refinement_of_it():
    """Whisper delivers "pain in my left" at a short quiet; the full reading names the heel."""
    gate, _, _ = gate_with(False)
    early = Recognition("pain in my left", Intent("pain", text="pain in my left", foot="left"), 0.9, 0.0, 0.5, True)
    assert gate.admit(early) == early.intent
    full = Recognition("pain in my left heel", Intent("pain", text="pain in my left heel", foot="left", area="heel"),
                       0.9, 0.0, 0.8)
    refined = gate.admit(full)
    assert refined is not None and refined.refines and refined.area == "heel"
    assert gate.admit(full) is None  # the same spot again is the same report
    assert gate.admit(heard("stop", "stop", partial=True)) and gate.admit(heard("stop", "stop")) is None


def rejected(text: str, confidence: float) -> Recognition:
    return Recognition(text, None, confidence, 0.0, 0.5)


def test_short_words_heard_surely_that_are_no_command_come_as_unclear():
    gate, speaker, clock = gate_with(False)
    assert gate.unclear(rejected("seven", 0.89)) == Intent("unclear", text="seven")
    assert gate.unclear(rejected("so in", 0.41)).name == "unclear"
    assert gate.unclear(rejected("he eight said oh and", 0.0)) is None  # pocketsphinx's reading of "seven"
    assert gate.unclear(rejected("two", 0.3)) is None
    assert gate.unclear(rejected("", 0.9)) is None
    assert gate.unclear(rejected("i think we should move the chair over there", 0.9)) is None  # talk, no answer
    assert gate.unclear(heard("four", "number")) is None  # a command is admit's
    speaker.speaking = True
    assert gate.unclear(rejected("left foot arch", 0.9)) is None  # its own voice
