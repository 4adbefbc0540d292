"""pyttsx3 (espeak-ng) synthesis, for real: audible, trimmed, paced by rate, quiet on stdout."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from companion.errors import UserError
from companion.speech.pyttsx3_engine import Pyttsx3Synthesizer, resolve_voice
from companion.speech.synth import Audio, open_synthesizer, split_sentences, trim_silence

ROUTINE = "Left foot, arch. Fingertip friction in very small circles, light pressure, thirty seconds."


@pytest.fixture(scope="module")
def synth() -> Pyttsx3Synthesizer:
    return Pyttsx3Synthesizer("gmw/en-us")


def rms(audio: Audio) -> float:
    return float(np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2)))


def test_speech_is_audible_float32_mono(synth: Pyttsx3Synthesizer) -> None:
    audio = synth.synthesize("Left foot, arch.", 150, 1.0)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.rate == 22050
    assert 0.5 < audio.duration < 3.0
    assert rms(audio) > 0.05
    assert 0.85 < np.max(np.abs(audio.samples)) <= 0.91  # normalised to the same peak as Piper


def test_speech_starts_and_ends_at_once(synth: Pyttsx3Synthesizer) -> None:
    audio = synth.synthesize("Left foot, arch.", 150, 1.0)
    edge = round(0.02 * audio.rate)
    assert np.max(np.abs(audio.samples[:edge])) > 0.004
    assert np.max(np.abs(audio.samples[-edge:])) > 0.004


def test_duration_grows_with_text_length(synth: Pyttsx3Synthesizer) -> None:
    short = synth.synthesize("Left foot.", 150, 1.0)
    long = synth.synthesize(ROUTINE, 150, 1.0)
    assert long.duration > 3 * short.duration


def test_slower_rate_gives_longer_audio_in_proportion(synth: Pyttsx3Synthesizer) -> None:
    slow = synth.synthesize(ROUTINE, 110, 1.0)
    fast = synth.synthesize(ROUTINE, 200, 1.0)
    back = synth.synthesize(ROUTINE, 110, 1.0)  # every change of rate is applied, in both directions
    assert 1.5 < slow.duration / fast.duration < 2.1
    assert abs(back.duration - slow.duration) < 0.05


def test_volume_is_a_linear_gain(synth: Pyttsx3Synthesizer) -> None:
    loud = synth.synthesize("Lighter pressure.", 150, 1.0)
    quiet = synth.synthesize("Lighter pressure.", 150, 0.5)
    assert np.max(np.abs(quiet.samples)) == pytest.approx(np.max(np.abs(loud.samples)) / 2, rel=0.02)


def test_driver_prints_nothing_on_stdout(synth: Pyttsx3Synthesizer, capfd: pytest.CaptureFixture) -> None:
    synth.synthesize("Pause.", 150, 1.0)
    assert capfd.readouterr().out == ""


def test_concurrent_callers_each_get_their_own_text(synth: Pyttsx3Synthesizer) -> None:
    texts = ["One.", "This sentence is a good deal longer than the first one.", "Three four."]
    expected = {t: synth.synthesize(t, 150, 1.0).duration for t in texts}
    results: dict[str, float] = {}

    def speak(text: str) -> None:
        results[text] = synth.synthesize(text, 150, 1.0).duration

    threads = [threading.Thread(target=speak, args=(t,)) for t in texts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    # espeak-ng's own output of one text varies by up to ~1 % from run to run (measured: 3.051-3.075 s
    # for the long sentence, serially too); the three texts differ by far more than that.
    assert results == pytest.approx(expected, rel=0.03)


def test_empty_text_is_empty_audio(synth: Pyttsx3Synthesizer) -> None:
    assert synth.synthesize("  ", 150, 1.0).duration == 0


@pytest.mark.parametrize(
    "spelling, voice_id",
    [("gmw/en-us", "gmw/en-us"), ("en-us", "gmw/en-us"), ("English (America)", "gmw/en-us"),
     ("en-us+f3", "gmw/en-us+f3"), ("GMW/EN-GB-X-RP", "gmw/en-gb-x-rp")],
)
def test_voice_spellings_resolve(spelling: str, voice_id: str) -> None:
    assert resolve_voice(spelling) == voice_id


@pytest.mark.parametrize("voice", ["no-such-voice", "gmw/en-us+nosuchvariant"])
def test_unknown_voice_is_a_user_error(voice: str) -> None:
    with pytest.raises(UserError, match="unknown espeak-ng voice"):
        Pyttsx3Synthesizer(voice)


def test_variant_changes_the_sound(synth: Pyttsx3Synthesizer) -> None:
    plain = synth.synthesize("Left foot, arch.", 150, 1.0)
    female = Pyttsx3Synthesizer("en-us+f3").synthesize("Left foot, arch.", 150, 1.0)
    n = min(len(plain.samples), len(female.samples))
    assert not np.allclose(plain.samples[:n], female.samples[:n], atol=0.05)


def test_open_synthesizer_reuses_one_per_voice() -> None:
    assert open_synthesizer("pyttsx3", "gmw/en-us") is open_synthesizer("pyttsx3", "gmw/en-us")
    with pytest.raises(UserError, match="unknown speech engine"):
        open_synthesizer("festival", "x")


def test_split_sentences() -> None:
    assert split_sentences(ROUTINE) == [
        "Left foot, arch.", "Fingertip friction in very small circles, light pressure, thirty seconds."
    ]
    assert split_sentences("Breathe in!  Now out?\nGood") == ["Breathe in!", "Now out?", "Good"]
    assert split_sentences("  ") == []


def test_trim_silence_keeps_a_margin() -> None:
    rate = 1000
    samples = np.concatenate([np.zeros(500), np.ones(100) * 0.5, np.zeros(500)]).astype(np.float32)
    trimmed = trim_silence(Audio(samples, rate), margin=0.01)
    assert len(trimmed.samples) == 120
    assert trim_silence(Audio(np.zeros(100, np.float32), rate)).duration == 0
