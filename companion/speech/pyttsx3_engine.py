"""pyttsx3 (espeak-ng on Linux) as a Synthesizer: synthesise to a temporary WAV and read it back.

pyttsx3 2.99 pitfalls this module works around (measured, see the shared audio notes):
- one engine per process, not thread-safe: every call runs on one dedicated thread;
- ``runAndWait()`` can return before espeak's own thread has written the file: wait for the
  ``finished-utterance`` notification, then for the driver to be idle (a rate set while it is still
  busy is silently lost);
- two ``save_to_file`` calls before one ``runAndWait`` write only the second: one per run;
- an unknown voice name raises nothing and leaves the driver in a state where later rate changes are
  ignored: voices are validated against the engine's list before they reach it;
- settings (voice, rate) are queued on espeak's thread, and ``runAndWait()`` cancels what espeak is
  still busy with: without waiting for espeak in between, 1 rate change in 4 was lost;
- the driver prints "Audio saved to …" on stdout from espeak's thread: that print is silenced.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from companion.errors import UserError
from companion.speech.synth import Audio, apply_volume, trim_silence

ENGINE = "pyttsx3"
MIN_RATE, MAX_RATE = 80, 450  # words per minute espeak-ng accepts

_INSTALL_HINT = "install espeak-ng (sudo apt-get install espeak-ng) and pyttsx3 (pip install pyttsx3)"


class _EngineThread:
    """Owns the process's one pyttsx3 engine; every call runs on this thread, one at a time."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyttsx3")
        self._engine: Any = None
        self._finished = threading.Event()
        self._voices: dict[str, str] | None = None

    def run(self, fn: Any, *args: Any) -> Any:
        return self._executor.submit(fn, *args).result()

    # Everything below runs on the engine thread only.

    def engine(self) -> Any:
        if self._engine is None:
            try:
                import pyttsx3

                engine = pyttsx3.init()
            except (ImportError, OSError, RuntimeError) as exc:
                raise UserError(f"text-to-speech is unavailable ({exc}); {_INSTALL_HINT}") from None
            _silence_driver_prints(engine)
            engine.connect("finished-utterance", lambda **_: self._finished.set())
            self._engine = engine
        return self._engine

    def voices(self) -> dict[str, str]:
        """Every accepted spelling (id with or without its family, name, language) → the voice id."""
        if self._voices is None:
            names: dict[str, str] = {}
            for v in self.engine().getProperty("voices"):
                for spelling in [v.id, v.id.split("/")[-1], v.name, *(v.languages or [])]:
                    names.setdefault(str(spelling).lower(), v.id)
            self._voices = names
        return self._voices

    def variants(self) -> set[str]:
        from pyttsx3.drivers import _espeak

        self.engine()
        path = ctypes.c_char_p()
        _espeak.Info(ctypes.byref(path))
        folder = Path((path.value or b"").decode()) / "voices" / "!v"
        return {p.name.lower() for p in folder.iterdir()} if folder.is_dir() else set()

    def synthesize(self, text: str, voice: str, rate: float) -> Audio:
        from pyttsx3.drivers import _espeak

        engine = self.engine()
        engine.setProperty("voice", voice)
        engine.setProperty("rate", int(round(rate)))
        engine.setProperty("volume", 1.0)
        # espeak queues these settings on its own thread; runAndWait() cancels whatever espeak is
        # still busy with (pyttsx3's endLoop calls espeak_Cancel), which would drop them. Wait until
        # espeak has applied them.
        _espeak.Synchronize()
        return self._synthesize_once(engine, text)

    def _synthesize_once(self, engine: Any, text: str) -> Audio:
        """One save_to_file per runAndWait (two would write only the second file)."""
        fd, name = tempfile.mkstemp(prefix="companion-tts-", suffix=".wav")
        os.close(fd)
        try:
            self._finished.clear()
            engine.save_to_file(text, name)
            engine.runAndWait()
            deadline = time.monotonic() + 10 + len(text) / 20
            if not self._finished.wait(timeout=deadline - time.monotonic()):
                raise UserError("espeak-ng did not finish speaking in time; try again or use another voice")
            # The notification comes just before the driver marks itself idle; a property set in
            # between would be applied from espeak's callback thread, where espeak drops it.
            while engine.isBusy() and time.monotonic() < deadline:
                time.sleep(0.0005)
            return _read_wav(Path(name))
        finally:
            Path(name).unlink(missing_ok=True)


def _silence_driver_prints(engine: Any) -> None:
    """The espeak driver prints "Audio saved to …" for every file, from espeak's own thread, which
    would mix into the CLI's output; shadow ``print`` in that module only (other messages go to
    stderr)."""
    module = sys.modules.get(type(engine.proxy._driver).__module__)
    if module is None:
        return

    def quiet_print(*args: Any, **kwargs: Any) -> None:
        if args and str(args[0]).startswith("Audio saved to "):
            return
        kwargs["file"] = sys.stderr
        print(*args, **kwargs)

    module.print = quiet_print  # type: ignore[attr-defined]


def _read_wav(path: Path) -> Audio:
    try:
        with wave.open(str(path), "rb") as w:
            frames = w.readframes(w.getnframes())
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
    except (OSError, EOFError, wave.Error) as exc:
        raise UserError(f"espeak-ng wrote no usable audio ({exc}); reinstall espeak-ng") from None
    if width != 2:
        raise UserError(f"espeak-ng wrote {8 * width}-bit audio, expected 16-bit; reinstall espeak-ng")
    samples = np.frombuffer(frames, "<i2").reshape(-1, channels).mean(axis=1) / 32768.0
    return Audio(samples.astype(np.float32), rate)


_thread: _EngineThread | None = None
_thread_lock = threading.Lock()


def _engine_thread() -> _EngineThread:
    global _thread
    with _thread_lock:
        if _thread is None:
            _thread = _EngineThread()
        return _thread


def resolve_voice(voice: str) -> str:
    """The espeak-ng voice id for ``voice`` (an id like "gmw/en-us", a name like "English (America)",
    a language like "en-us", each optionally with a "+variant" such as "+f3"); UserError if unknown."""
    engine = _engine_thread()
    base, _, variant = voice.strip().lower().partition("+")
    known = engine.run(engine.voices)
    if base not in known:
        prefix = base.split("/")[-1][:2]
        close = sorted(k for k in set(known.values()) if k.split("/")[-1].startswith(prefix))[:8]
        hint = f" (similar: {', '.join(close)})" if close else ""
        raise UserError(f"unknown espeak-ng voice {voice!r}{hint}; list them with: espeak-ng --voices")
    if variant and variant not in engine.run(engine.variants):
        raise UserError(
            f"unknown espeak-ng voice variant {variant!r} in {voice!r}; list them with: espeak-ng --voices=variant"
        )
    return known[base] + (f"+{variant}" if variant else "")


def unavailable_reason(voice: str) -> str | None:
    try:
        resolve_voice(voice)
    except UserError as exc:
        return str(exc)
    return None


class Pyttsx3Synthesizer:
    """Synthesizer over the process's pyttsx3 engine (22,050 Hz, fixed by the driver)."""

    engine = ENGINE

    def __init__(self, voice: str) -> None:
        self.voice = voice
        self._voice_id = resolve_voice(voice)

    def synthesize(self, text: str, rate: float, volume: float) -> Audio:
        if not text.strip():
            return Audio(np.zeros(0, np.float32), 22050)
        rate = min(MAX_RATE, max(MIN_RATE, rate))
        worker = _engine_thread()
        audio = trim_silence(worker.run(worker.synthesize, text, self._voice_id, rate))
        return Audio(apply_volume(audio.samples, volume), audio.rate)
