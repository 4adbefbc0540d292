"""Piper neural voice, in-process: loaded once, audible, paced by rate. Skipped when not installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from companion.errors import ModelError
from companion.speech import piper_engine
from companion.speech.synth import open_synthesizer, unavailable_reason

JOE = "en_US-joe-medium"
ROUTINE = "Left foot, arch. Fingertip friction in very small circles, light pressure, thirty seconds."

needs_piper = pytest.mark.skipif(
    piper_engine.unavailable_reason(JOE) is not None,
    reason=f"Piper or its joe voice is not installed: {piper_engine.unavailable_reason(JOE)}",
)


@pytest.fixture(scope="module")
def joe():
    return open_synthesizer("piper", JOE)


@needs_piper
def test_voice_is_loaded_once_per_process(joe) -> None:
    assert open_synthesizer("piper", JOE) is joe


@needs_piper
def test_speech_is_audible_float32(joe) -> None:
    audio = joe.synthesize("Left foot, arch.", 150, 1.0)
    assert audio.samples.dtype == np.float32 and audio.rate == 22050
    assert 0.6 < audio.duration < 3.0
    assert np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2)) > 0.05
    edge = round(0.02 * audio.rate)  # trimmed: speech from the first moment
    assert np.max(np.abs(audio.samples[:edge])) > 0.004


@needs_piper
def test_rate_paces_speech_like_words_per_minute(joe) -> None:
    sentences = ["Left foot, arch.", "Fingertip friction in very small circles, light pressure, thirty seconds."]
    words = sum(len(s.split()) for s in sentences)

    def seconds(rate: float) -> float:
        return sum(joe.synthesize(s, rate, 1.0).duration for s in sentences)

    slow, fast = seconds(110), seconds(190)
    assert 1.4 < slow / fast < 2.0  # in proportion to the rate asked (190 / 110 = 1.73)
    # roughly words per minute (short sentences with commas run slower than the calibration texts)
    assert 130 < words / fast * 60 < 230


@needs_piper
def test_two_sentences_get_a_gap_between(joe) -> None:
    two = joe.synthesize("Left foot, arch. Left foot, arch.", 150, 1.0)
    frame = two.rate // 100  # 10 ms frames
    loud = [np.max(np.abs(two.samples[i : i + frame])) > 0.01 for i in range(0, len(two.samples) - frame, frame)]
    inner = loud[loud.index(True) : len(loud) - loud[::-1].index(True)]
    longest = max((len(run) for run in "".join("x" if v else "." for v in inner).split("x")), default=0)
    assert longest * 0.01 >= 0.2  # a pause of at least 0.2 s between the sentences (Piper's random pacing varies)


def test_missing_voice_says_how_to_install(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))
    reason = unavailable_reason("piper", "en_GB-nobody-low")
    assert reason is not None and "en_GB-nobody-low.onnx" in reason and str(tmp_path) in reason
    with pytest.raises(ModelError, match="not installed"):
        piper_engine.PiperSynthesizer("en_GB-nobody-low")


def test_missing_piper_says_pip_install_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a))
    assert unavailable_reason("piper", JOE) == "Piper is not installed; pip install companion[piper]"


@needs_piper
def test_broken_user_voice_is_a_model_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))
    folder = tmp_path / "models" / "piper"
    folder.mkdir(parents=True)
    (folder / "broken.onnx").write_bytes(b"not a model")
    (folder / "broken.onnx.json").write_text("{}")
    with pytest.raises(ModelError, match="cannot load Piper voice 'broken'"):
        piper_engine.PiperSynthesizer("broken")
