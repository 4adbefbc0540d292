"""The voice around a live session: the engine's words to the speaker, the person's words to the engine.

The companion must not obey itself. While it speaks (and for a short tail after, since a recognition
completes after its audio ends), only safety intents (pain, stop, pause) get through, and not when
their words are an echo of what it is saying; a safety intent cuts the speech at once (barge-in)
before the engine even sees it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from companion.errors import AudioDeviceError
from companion.session.events import Action, AdjustVoice, Earcon, Prepare, Say, StopSpeech
from companion.speech.phrases import normalise
from companion.speech.recognizer import Recognition

ECHO_TAIL_S = 0.8  # after speech ends, recognitions may still be completing on what was played
ECHO_MEMORY_S = 15.0  # how long what was said counts as a possible echo
PARTIAL_DEDUP_S = 2.5
BACK_AFTER_S = 3.0
# Instructions and questions a little slower than the voice's rate, confirmations a little quicker.
PACE = {"announce": 0.92, "question": 0.92, "confirm": 1.08}  # a final result repeating an early (partial) safety detection is the same utterance


class SpeakerSink:
    """A Sink that speaks: Say, earcons, barge-in, voice changes and pre-synthesis go to a Speaker."""

    def __init__(self, speaker, clock: Callable[[], float] = time.monotonic) -> None:
        self.speaker = speaker
        self.clock = clock
        self.recent: deque[tuple[float, str]] = deque(maxlen=20)  # (when said, text)

    def __call__(self, t: float, action: Action) -> None:
        if isinstance(action, Say):
            self.recent.append((self.clock(), action.text))
            self.speaker.say(action.text, PACE.get(action.kind, 1.0))
        elif isinstance(action, StopSpeech):
            self.speaker.stop()
        elif isinstance(action, Earcon):
            self.speaker.earcon(action.name)
        elif isinstance(action, Prepare):
            self.speaker.prepare(action.text, PACE["announce"])
        elif isinstance(action, AdjustVoice):
            if action.setting == "voice":
                self.speaker.change_voice()
            else:
                self.speaker.adjust(action.setting, action.direction)


@dataclass
class EchoGate:
    """Decides which recognitions reach the engine (see the module's docstring)."""

    sink: SpeakerSink
    clock: Callable[[], float] = time.monotonic
    last_speaking: float = float("-inf")
    last_partial: tuple[str, float] | None = None

    def note_speaking(self) -> None:
        if self.sink.speaker.is_speaking():
            self.last_speaking = self.clock()

    def admit(self, rec: Recognition) -> bool:
        if rec.intent is None:
            return False
        now = self.clock()
        if not rec.partial and self.last_partial and self.last_partial[0] == rec.intent.name \
                and now - self.last_partial[1] < PARTIAL_DEDUP_S:
            return False  # already delivered early
        self.note_speaking()
        if now - self.last_speaking < ECHO_TAIL_S:
            if not rec.intent.is_safety or self.is_echo(rec.text, now):
                return False
            self.sink.speaker.stop()  # barge-in, before the engine even hears of it
        if rec.partial:
            self.last_partial = (rec.intent.name, now)
        return True

    def is_echo(self, heard: str, now: float) -> bool:
        words = normalise(heard).split()
        current = self.sink.speaker.current_text() or ""
        recent = [text for when, text in self.sink.recent if now - when < ECHO_MEMORY_S] + [current]
        return bool(words) and any(_contains(normalise(text).split(), words) for text in recent)


def _contains(said: list[str], heard: list[str]) -> bool:
    n = len(heard)
    return any(said[i : i + n] == heard for i in range(len(said) - n + 1))


class DeviceState:
    """Reports a device lost at once, and back only once it has worked for BACK_AFTER_S: a headset being
    plugged in, or an audio server restarting, can fail again right after it first opens."""

    def __init__(self, what: str, report: Callable[[tuple], None]) -> None:
        self.what, self.report = what, report
        self.gone = False
        self.pending: threading.Timer | None = None
        self.lock = threading.Lock()

    def lost(self) -> None:
        with self.lock:
            if self.pending is not None:
                self.pending.cancel()  # it came back and went again: the same outage
                self.pending = None
                return
            if not self.gone:
                self.gone = True
                self.report(("lost", self.what))

    def back(self) -> None:
        with self.lock:
            if not self.gone or self.pending is not None:
                return
            self.pending = threading.Timer(BACK_AFTER_S, self._confirm)
            self.pending.daemon = True
            self.pending.start()

    def _confirm(self) -> None:
        with self.lock:
            if self.pending is None:
                return
            self.pending, self.gone = None, False
            self.report(("back", self.what))


class VoiceIO:
    """Speaker, player, microphone and listener for a voice session; ``start(inbox)`` connects them."""

    def __init__(self, *, engine: str = "auto", lang: str = "en", voice: str | None = None,
                 input_device: str | None = None, output_device: str | None = None,
                 announce: Callable[[str], None] = print) -> None:
        from companion.audio.capture import Microphone
        from companion.audio.player import Player
        from companion.speech.engines import open_recognizer
        from companion.speech.speaker import Speaker
        from companion.speech.voices import default_voice_name, load_voice

        self.inbox: queue.Queue | None = None
        profile = load_voice(voice or default_voice_name())
        self.devices = {what: DeviceState(what, self._put) for what in ("speaker", "microphone")}
        try:  # fail now, with the list of devices, rather than mid-session
            self.player = Player(output_device, on_error=lambda exc: self.devices["speaker"].lost(),
                                 on_back=self.devices["speaker"].back)
            with Microphone(input_device):
                pass
        except AudioDeviceError as exc:
            raise AudioDeviceError(f"{exc} (No audio at all? Type the commands instead: companion session --text)") from None
        self.recognizer, description = open_recognizer(engine, lang)
        self.speaker = Speaker(profile, self.player)
        self.sink = SpeakerSink(self.speaker)
        self.gate = EchoGate(self.sink)
        self.microphone = lambda: Microphone(input_device)
        announce(f"companion: {description}; speaking with the voice '{profile.name}' on {self.player.device.name}")
        self._stopping = threading.Event()

    def _put(self, item: tuple) -> None:
        if self.inbox is not None:
            self.inbox.put(item)

    def _heard(self, rec: Recognition) -> None:
        if self.gate.admit(rec):
            self._put(("intent", rec.intent))

    def _lost(self, exc: AudioDeviceError) -> None:
        self.devices["microphone"].lost()

    def _watch(self) -> None:
        """Keeps the echo gate's idea of 'speaking' fresh."""
        while not self._stopping.wait(0.05):
            self.gate.note_speaking()

    def start(self, inbox: queue.Queue) -> Callable[[], None]:
        from companion.speech.listener import Listener

        self.inbox = inbox
        listener = Listener(self.recognizer, self.microphone, self._heard, self._lost,
                            self.devices["microphone"].back).start()
        watcher = threading.Thread(target=self._watch, name="voice-watch", daemon=True)
        watcher.start()

        def close() -> None:
            listener.stop()
            if hasattr(self.recognizer, "close"):
                self.recognizer.close()
            self.speaker.close()
            self.player.close()

        def stop() -> None:
            self.speaker.wait(timeout=30)  # let the last words be heard
            self._stopping.set()
            # Closing audio after a device was lost can block inside PortAudio: never let it hold the exit.
            closing = threading.Thread(target=close, name="voice-close", daemon=True)
            closing.start()
            closing.join(timeout=5)

        return stop
