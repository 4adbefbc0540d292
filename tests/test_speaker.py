"""The Speaker against a recording stand-in for the Player: order, pauses, barge-in, prepare, settings."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from companion.audio import earcons
from companion.speech.speaker import EARCON_TAG, Speaker
from companion.speech.speech_cache import SpeechCache
from companion.speech.synth import Audio
from companion.speech.voices import VoiceProfile, load_voice

RATE = 8000
PROFILE = VoiceProfile(name="test", engine="fake", voice="tone", rate=150, volume=0.8, sentence_pause=0.5)


class ManualPlayer:
    """Keeps clips queued until the test says one finished playing (`finish()`), like a real player
    whose sound takes time."""

    def __init__(self) -> None:
        self.queue: list[tuple[np.ndarray, int, str]] = []
        self.played: list[tuple[np.ndarray, int, str]] = []  # everything ever handed over
        self.stops = 0
        self._lock = threading.Lock()

    def play(self, samples: np.ndarray, rate: int, tag: str = "") -> None:
        with self._lock:
            self.queue.append((samples, rate, tag))
            self.played.append((samples, rate, tag))

    def stop(self) -> None:
        with self._lock:
            self.queue.clear()
            self.stops += 1

    def is_playing(self) -> bool:
        return bool(self.queue)

    def current_tag(self) -> str | None:
        with self._lock:
            return self.queue[0][2] if self.queue else None

    def wait(self, timeout: float | None = None) -> bool:
        return not self.queue

    def finish(self) -> None:
        with self._lock:
            self.queue.pop(0)


class ToneSynth:
    """0.1 s of tone per word; `gate` can hold synthesis to test what happens meanwhile."""

    engine, voice = "fake", "tone"

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float]] = []
        self.gate = threading.Event()
        self.gate.set()

    def synthesize(self, text: str, rate: float, volume: float) -> Audio:
        self.gate.wait(5)
        self.calls.append((text, rate, volume))
        n = int(0.1 * RATE * len(text.split()))
        return Audio(np.full(n, volume, np.float32), RATE)


@pytest.fixture()
def synth() -> ToneSynth:
    return ToneSynth()


@pytest.fixture()
def player() -> ManualPlayer:
    return ManualPlayer()


@pytest.fixture()
def speaker(synth: ToneSynth, player: ManualPlayer, tmp_path: Path):
    s = Speaker(PROFILE, player, cache=SpeechCache(tmp_path), open_synth=lambda p: synth,
                profiles=lambda: [PROFILE, replace(PROFILE, name="alpha"), replace(PROFILE, name="zeta")])
    yield s
    s.close()


def handed(player: ManualPlayer, count: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while len(player.played) < count:
        assert time.monotonic() < deadline, f"only {len(player.played)} of {count} clips handed over"
        time.sleep(0.002)


def test_sentences_play_in_order_with_the_profile_pause(speaker: Speaker, player: ManualPlayer) -> None:
    speaker.say("Left foot, arch. Small circles now.")
    handed(player, 2)
    (first, rate1, tag1), (second, rate2, tag2) = player.played
    assert rate1 == rate2 == RATE and tag1 == tag2 == "Left foot, arch. Small circles now."
    assert len(first) == 3 * 800  # no pause before the first sentence when nothing is playing
    pause = int(0.5 * RATE)
    assert len(second) == pause + 3 * 800 and not second[:pause].any()


def test_say_returns_at_once(speaker: Speaker, synth: ToneSynth) -> None:
    synth.gate.clear()
    start = time.monotonic()
    speaker.say("This takes a while to synthesise.")
    assert time.monotonic() - start < 0.05
    assert speaker.is_speaking()
    synth.gate.set()


def test_a_new_say_queues_after_the_current_one(speaker: Speaker, player: ManualPlayer) -> None:
    speaker.say("First thing.")
    speaker.say("Second thing.")
    handed(player, 2)
    assert [tag for _, _, tag in player.played] == ["First thing.", "Second thing."]
    assert player.stops == 0  # nothing was cut
    assert speaker.current_text() == "First thing."
    player.finish()
    assert speaker.current_text() == "Second thing."
    player.finish()
    assert speaker.current_text() is None and not speaker.is_speaking()


def test_stop_cuts_and_empties_the_queue(speaker: Speaker, player: ManualPlayer, synth: ToneSynth) -> None:
    speaker.say("One. Two. Three.")
    handed(player, 1)
    synth.gate.clear()  # hold the rest mid-synthesis, as a long sentence would
    speaker.say("Never heard.")
    time.sleep(0.05)
    speaker.stop()
    synth.gate.set()
    time.sleep(0.1)
    assert player.stops == 1 and player.queue == []
    assert not speaker.is_speaking() and speaker.current_text() is None
    assert "Never heard." not in [tag for _, _, tag in player.played]
    speaker.say("After the stop.")  # the speaker still works
    handed(player, len(player.played) + 1)
    assert player.played[-1][2] == "After the stop."


def test_prepare_makes_say_use_the_cache(speaker: Speaker, player: ManualPlayer, synth: ToneSynth) -> None:
    speaker.prepare("Right foot, heel. Thumb strokes.")
    deadline = time.monotonic() + 5
    while len(synth.calls) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    speaker.say("Right foot, heel. Thumb strokes.")
    handed(player, 2)
    assert len(synth.calls) == 2  # nothing synthesised again
    assert player.queue == player.played  # nothing played by prepare itself


def test_speaking_goes_before_preparing(speaker: Speaker, player: ManualPlayer, synth: ToneSynth) -> None:
    synth.gate.clear()
    speaker.prepare("Hold.")  # occupies the thread
    time.sleep(0.02)
    for n in range(3):
        speaker.prepare(f"Later {n}.")
    speaker.say("Now.")
    synth.gate.set()
    handed(player, 1)
    assert [text for text, _, _ in synth.calls[:2]] == ["Hold.", "Now."]


def test_adjust_rate_and_volume_in_steps_and_clamped(speaker: Speaker, player: ManualPlayer, synth: ToneSynth) -> None:
    assert speaker.adjust("rate", -1) == pytest.approx(150 / 1.15)
    assert speaker.adjust("rate", +1) == pytest.approx(150)
    for _ in range(20):
        speaker.adjust("rate", +1)
    assert speaker.profile.rate == 400
    assert speaker.adjust("volume", +1) == pytest.approx(0.95)
    assert speaker.adjust("volume", +1) == 1.0
    for _ in range(10):
        speaker.adjust("volume", -1)
    assert speaker.profile.volume == pytest.approx(0.1)  # never silent
    speaker.say("Check.")
    handed(player, 1)
    assert synth.calls[-1][1:] == (400, pytest.approx(0.1))
    with pytest.raises(ValueError):
        speaker.adjust("pitch", 1)


def test_a_voice_change_is_answered_by_what_it_did(speaker: Speaker, synth: ToneSynth) -> None:
    """"Louder." at full volume was said while nothing changed; the speaker's sink answers by the outcome, to
    the session (which says it), not by saying it itself."""
    from companion.session.events import AdjustVoice
    from companion.voice import SpeakerSink

    replies: list[str] = []
    sink = SpeakerSink(speaker, answer=replies.append)
    for action in (AdjustVoice("volume", 1), AdjustVoice("volume", 1), AdjustVoice("volume", 1), AdjustVoice("voice", 1)):
        sink(0.0, action)  # 0.8 → 0.95 → 1.0 → 1.0
    assert replies == ["Louder.", "Louder.", "That is as loud as I speak.", "This is the zeta voice."]
    assert speaker.profile.name == "zeta" and not synth.calls


def test_a_voice_change_in_a_live_session_is_said_and_recorded(speaker: Speaker) -> None:
    """The replies to "louder", "slower" and "change voice" never reached the record, --plain or --said-only."""
    import queue

    from companion.runner import Session, build_engine, run_live
    from companion.session.pacing import SpeechPace
    from companion.speech.phrases import load_phrases
    from companion.voice import SpeakerSink
    from session_helpers import Collector

    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def answer(reply: str) -> None:  # as VoiceIO does; then the test ends the session
        inbox.put(("voice", reply))
        inbox.put(("end", "test over", False))

    engine = build_engine("foot-circulation", 20, pace=SpeechPace(150, 0.5))
    collector = Collector()
    sink = SpeakerSink(speaker, answer=answer)
    session = Session(engine, [sink, collector])
    inbox.put(("text", "louder"))
    run_live(session, lambda: 1.0, inbox, load_phrases("en"), tick=0.01)
    assert {"t": 1.0, "type": "say", "text": "Louder.", "kind": "confirm"} in collector.events
    assert [text for _, text in sink.recent][-1] == "Louder."  # said by the speaker, once, after the question


def test_change_voice_cycles_through_available_profiles(speaker: Speaker) -> None:
    assert speaker.change_voice().name == "zeta"
    assert speaker.change_voice().name == "alpha"
    assert speaker.change_voice().name == "test"


def test_a_new_voice_keeps_the_rate_and_volume_the_person_set(speaker: Speaker) -> None:
    speaker.adjust("rate", -1)
    speaker.adjust("rate", -1)
    speaker.adjust("volume", 1)
    zeta = speaker.change_voice()
    assert zeta.name == "zeta" and zeta.rate == pytest.approx(150 / 1.15**2) and zeta.volume == pytest.approx(0.95)


def test_earcons_play_in_turn_when_the_profile_wants_them(speaker: Speaker, player: ManualPlayer) -> None:
    speaker.say("Step one.")
    speaker.earcon("step")
    handed(player, 2)
    samples, rate, tag = player.played[1]
    assert tag == EARCON_TAG + "step" and rate == earcons.RATE
    assert np.array_equal(samples, earcons.earcon("step", rate))
    player.finish()
    assert speaker.current_text() is None  # an earcon is not text
    with pytest.raises(ValueError, match="unknown earcon"):
        speaker.earcon("trumpet")


def test_earcons_are_silent_when_the_profile_turns_them_off(synth: ToneSynth, player: ManualPlayer, tmp_path: Path) -> None:
    speaker = Speaker(replace(PROFILE, earcons=False), player, cache=SpeechCache(tmp_path), open_synth=lambda p: synth)
    speaker.earcon("step")
    speaker.say("Words only.")
    handed(player, 1)
    time.sleep(0.05)
    speaker.close()
    assert [tag for _, _, tag in player.played] == ["Words only."]


def test_a_failing_engine_is_reported_and_the_speaker_goes_on(player: ManualPlayer, tmp_path: Path) -> None:
    errors: list[Exception] = []

    class Flaky(ToneSynth):
        def synthesize(self, text: str, rate: float, volume: float) -> Audio:
            if "broken" in text:
                raise RuntimeError("engine fell over")
            return super().synthesize(text, rate, volume)

    speaker = Speaker(PROFILE, player, cache=SpeechCache(tmp_path), open_synth=lambda p: Flaky(), on_error=errors.append)
    speaker.say("This is broken.")
    speaker.say("This works.")
    handed(player, 1)
    speaker.close()
    assert [str(e) for e in errors] == ["engine fell over"]
    assert [tag for _, _, tag in player.played] == ["This works."]


def test_real_pyttsx3_voice_through_the_speaker(player: ManualPlayer, tmp_path: Path) -> None:
    speaker = Speaker(load_voice("brisk"), player, cache=SpeechCache(tmp_path))
    speaker.say("Left foot, arch. Fingertip friction in very small circles.")
    handed(player, 2)
    speaker.close()
    (first, rate, _), (second, _, _) = player.played
    assert rate == 22050 and 0.5 < len(first) / rate < 2.5
    pause = round(load_voice("brisk").sentence_pause * rate)
    assert not second[:pause].any() and np.abs(second[pause:]).max() > 0.5


def test_pace_scales_the_rate_of_one_utterance_and_prepare_matches_it(speaker: Speaker, synth: ToneSynth,
                                                                      player: ManualPlayer) -> None:
    speaker.prepare("Left foot, arch.", pace=0.9)
    speaker.say("Left foot, arch.", pace=0.9)
    speaker.say("Slower.", pace=1.1)
    handed(player, 2)
    rates = {text: rate for text, rate, _ in synth.calls}
    assert rates["Left foot, arch."] == round(PROFILE.rate * 0.9, 1)
    assert rates["Slower."] == round(PROFILE.rate * 1.1, 1)
    assert [text for text, _, _ in synth.calls].count("Left foot, arch.") == 1  # said from what was prepared
