"""The voice around a live session: the engine's words to the speaker, the person's words to the engine.

The companion must not obey itself. Words said while it spoke (or just after: its voice reaches the
microphone a little late) pass only when they are a safety intent (the phrase table's ``safety = true``:
pain, stop, pause) and not an echo of what it said; a safety intent cuts the speech at once (barge-in)
before the engine even sees it. "While it spoke" is judged by when the words were said, not when the
recogniser delivered them: Whisper's answer to a question can arrive after the next sentence began, and its
echo of the companion's last words after they ended.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from companion.errors import AudioDeviceError
from companion.session.events import Action, AdjustVoice, Earcon, Listen, Prepare, Say, StopSpeech
from companion.session.intents import Intent
from companion.session.pacing import SpeechPace
from companion.speech.phrases import load_phrases, normalise
from companion.speech.recognizer import Recognition, Recognizer

ECHO_TAIL_S = 0.5  # the companion's voice reaches the microphone this much after the player says it ended
SPEAKING_GAP_S = 0.2  # a shorter silence between two sentences is one stretch of speech
ECHO_MEMORY_S = 15.0  # how long what was said counts as a possible echo
PARTIAL_DEDUP_S = 2.5  # a final result this soon after an early (partial) one of the same intent is the same utterance
BACK_AFTER_S = 3.0
# Words heard that hold no command become "unclear" (the session then says what it can answer) only when short,
# as an answer is, and heard this surely: pocketsphinx's readings of noise and of other words are below 0.3,
# Whisper's of words it heard ("seven", "zero", "four" it was unsure of) 0.4-0.93.
UNCLEAR_MAX_WORDS = 4
UNCLEAR_MIN_CONFIDENCE = 0.4
# Instructions and questions a little slower than the voice's rate, confirmations a little quicker.
PACE = {"announce": 0.92, "question": 0.92, "confirm": 1.08}


# What a voice change is answered with: done, or already at the end of its range (only the speaker knows).
VOICE_REPLIES = {("rate", -1): ("Slower.", "That is as slow as I speak."),
                 ("rate", 1): ("Faster.", "That is as fast as I speak."),
                 ("volume", 1): ("Louder.", "That is as loud as I speak."),
                 ("volume", -1): ("Quieter.", "That is as quiet as I speak.")}


class SpeakerSink:
    """A Sink that speaks: Say, earcons, barge-in, voice changes and pre-synthesis go to a Speaker. A voice
    change is answered by what it did ("Louder." or "That is as loud as I speak.", the new voice's name), which
    only the speaker knows: the reply goes to ``answer`` (in a session, back to the engine, which says and
    records it like any other reply)."""

    def __init__(self, speaker, clock: Callable[[], float] = time.monotonic,
                 answer: Callable[[str], None] = lambda reply: None) -> None:
        self.speaker = speaker
        self.clock = clock
        self.answer = answer
        self.recent: deque[tuple[float, str]] = deque(maxlen=20)  # (when said, text)

    def _say(self, text: str, kind: str) -> None:
        self.recent.append((self.clock(), text))
        self.speaker.say(text, PACE.get(kind, 1.0))

    def __call__(self, t: float, action: Action) -> None:
        if isinstance(action, Say):
            self._say(action.text, action.kind)
        elif isinstance(action, StopSpeech):
            self.speaker.stop()
        elif isinstance(action, Earcon):
            self.speaker.earcon(action.name)
        elif isinstance(action, Prepare):
            self.speaker.prepare(action.text, PACE["announce"])
        elif isinstance(action, AdjustVoice):
            self.answer(self._adjust(action))

    def _adjust(self, action: AdjustVoice) -> str:
        """Change the voice; what to say about it."""
        if action.setting == "voice":
            return f"This is the {self.speaker.change_voice().name.replace('-', ' ')} voice."
        before = getattr(self.speaker.profile, action.setting)
        changed = self.speaker.adjust(action.setting, action.direction) != before
        return VOICE_REPLIES[action.setting, action.direction][not changed]


@dataclass
class ListenSink:
    """A Sink that tells the recogniser what the session listens for (the Listen actions)."""

    recognizer: Recognizer

    def __call__(self, t: float, action: Action) -> None:
        if isinstance(action, Listen):
            self.recognizer.expect(action.intents)


def announce_pace(profile, speed: float = 1.0) -> SpeechPace:
    """How fast a voice profile says the step announcements (the speaker's rate for them, its pauses), in
    session time: a session clock running ``speed`` times faster than real time leaves the voice that much
    less of a step."""
    from companion.speech.speaker import paced_rate

    return SpeechPace(paced_rate(profile.rate, PACE["announce"]) / speed, profile.sentence_pause * speed)


class PaceSink:
    """Keeps the engine's idea of the voice's pace (SessionOptions.pace, which keeps the step announcements
    inside their steps) in step with the speaker: from the start, and after each voice change. Goes after the
    SpeakerSink, which makes the change; only the speaker knows what it came to (its range, the next voice)."""

    def __init__(self, engine, speaker, speed: float = 1.0) -> None:
        self.engine = engine
        self.speaker = speaker
        self.speed = speed  # the session clock's, as given to the engine
        self._follow()

    def _follow(self) -> None:
        self.engine.set_pace(announce_pace(self.speaker.profile, self.speed))

    def __call__(self, t: float, action: Action) -> None:
        if isinstance(action, AdjustVoice):
            self._follow()


@dataclass
class EchoGate:
    """Decides which recognitions reach the engine (see the module's docstring); ``safety``: the intents that
    pass over the companion's voice and cut it (the phrase table's)."""

    sink: SpeakerSink
    safety: frozenset[str]
    clock: Callable[[], float] = time.monotonic
    spoke: deque[list[float]] = field(default_factory=lambda: deque(maxlen=64))  # [from, until] the companion spoke
    last_partial: tuple[Intent, float] | None = None  # the last safety intent delivered early, and when

    def note_speaking(self) -> None:
        """Called every few tens of milliseconds: extends the stretch of speech going on, or opens one."""
        if not self.sink.speaker.is_speaking():
            return
        now = self.clock()
        if self.spoke and now - self.spoke[-1][1] <= SPEAKING_GAP_S:
            self.spoke[-1][1] = now
        else:
            self.spoke.append([now, now])

    def admit(self, rec: Recognition) -> Intent | None:
        """The intent to deliver for ``rec``, or None. The full reading of an utterance whose safety word was
        delivered early is not delivered again, unless it names the spot the early one had not heard yet
        ("pain in my left | heel"): then it comes as a refinement of it."""
        if rec.intent is None:
            return None
        now = self.clock()
        early = self.last_partial
        if not rec.partial and early and early[0].name == rec.intent.name and now - early[1] < PARTIAL_DEDUP_S:
            spot = (rec.intent.foot, rec.intent.area)
            if rec.intent.name != "pain" or spot == (early[0].foot, early[0].area) or spot == (None, None):
                return None  # already delivered early
            self.last_partial = (rec.intent, now)
            return dataclasses.replace(rec.intent, refines=True)
        self.note_speaking()
        said_over_speech = self.spoke_during(rec.said_from or now, rec.said_until or now)
        safety = rec.intent.name in self.safety
        if said_over_speech and (not safety or self.is_echo(rec.text, now)):
            return None
        if safety and self.sink.speaker.is_speaking():
            self.sink.speaker.stop()  # barge-in, before the engine even hears of it
        if rec.partial:
            self.last_partial = (rec.intent, now)
        return rec.intent

    def unclear(self, rec: Recognition) -> Intent | None:
        """Words heard that hold no command, as the intent "unclear" (see UNCLEAR_MAX_WORDS), unless they came
        over the companion's own voice."""
        words = normalise(rec.text).split()
        if rec.intent is not None or rec.partial or not words or len(words) > UNCLEAR_MAX_WORDS or \
                rec.confidence < UNCLEAR_MIN_CONFIDENCE:
            return None
        now = self.clock()
        self.note_speaking()
        if self.spoke_during(rec.said_from or now, rec.said_until or now):
            return None
        return Intent("unclear", text=rec.text)

    def spoke_during(self, start: float, end: float) -> bool:
        return any(began <= end and start <= ended + ECHO_TAIL_S for began, ended in self.spoke)

    def is_echo(self, heard: str, now: float) -> bool:
        words = normalise(heard).split()
        current = self.sink.speaker.current_text() or ""
        recent = [text for when, text in self.sink.recent if now - when < ECHO_MEMORY_S] + [current]
        return bool(words) and any(_contains(normalise(text).split(), words) for text in recent)


def _contains(said: list[str], heard: list[str]) -> bool:
    n = len(heard)
    return any(all(map(_same_word, said[i : i + n], heard)) for i in range(len(said) - n + 1))


def _same_word(said: str, heard: str) -> bool:
    """The companion's "Paused." comes back as "pause", its "stops" as "stop": an ending is not a new word."""
    return said == heard or (said.startswith(heard) and len(said) - len(heard) <= 2 and len(heard) >= 3)


def heard_line(rec: Recognition, admitted: bool) -> str:
    """One line on what was heard and what came of it: `heard "stop" (0.91, early) → stop: obeyed`."""
    how = f"{rec.confidence:.2f}" + (", early" if rec.partial else "")
    if rec.intent is None:
        outcome = "no command"
    else:
        value = f" {rec.intent.value}" if rec.intent.value is not None else ""
        ignored = "ignored (said over the companion's voice, or heard twice)"
        outcome = f"{rec.intent.name}{value}: " + ("obeyed" if admitted else ignored)
    return f'heard "{rec.text}" ({how}) → {outcome}'


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
                 announce: Callable[[str], None] = print, show_heard: Callable[[str], None] | None = None) -> None:
        from companion.audio.capture import Microphone
        from companion.audio.player import Player
        from companion.speech.engines import open_recognizer
        from companion.speech.speaker import Speaker
        from companion.speech.voices import default_voice_name, load_voice

        self.inbox: queue.SimpleQueue | None = None
        profile = load_voice(voice or default_voice_name())
        self.devices = {what: DeviceState(what, self._put) for what in ("speaker", "microphone")}
        hint = " (No audio at all? Type the commands instead: companion session --text)"
        try:  # fail now, with the list of devices, rather than mid-session
            self.player = Player(output_device, on_error=lambda exc: self.devices["speaker"].lost(),
                                 on_back=self.devices["speaker"].back)
        except AudioDeviceError as exc:
            raise AudioDeviceError(f"{exc}{hint}") from None
        try:  # a stream left open made the exit hang in PortAudio's teardown
            with Microphone(input_device):
                pass
            self.recognizer, description = open_recognizer(engine, lang)
        except BaseException as exc:
            self.player.close()
            if isinstance(exc, AudioDeviceError):
                raise AudioDeviceError(f"{exc}{hint}") from None
            raise
        self.speaker = Speaker(profile, self.player)
        self.sink = SpeakerSink(self.speaker, answer=lambda reply: self._put(("voice", reply)))
        self.sinks = [self.sink, ListenSink(self.recognizer)]  # what the session's actions go to
        self.gate = EchoGate(self.sink, load_phrases(lang).safety)
        self.microphone = lambda: Microphone(input_device)
        announce(f"companion: {description}; speaking with the voice '{profile.name}' on {self.player.device.name}")
        self._stopping = threading.Event()
        self._show_heard = show_heard

    def _put(self, item: tuple) -> None:
        if self.inbox is not None:
            self.inbox.put(item)

    def _heard(self, rec: Recognition) -> None:
        intent = self.gate.admit(rec)
        if self._show_heard is not None:
            self._show_heard(heard_line(rec, intent is not None))
        intent = intent or self.gate.unclear(rec)
        if intent is not None:
            self._put(("intent", intent))

    def _lost(self, exc: AudioDeviceError) -> None:
        self.devices["microphone"].lost()

    def _watch(self) -> None:
        """Keeps the echo gate's idea of 'speaking' fresh."""
        while not self._stopping.wait(0.05):
            self.gate.note_speaking()

    def start(self, inbox: queue.SimpleQueue) -> Callable[[], None]:
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
            try:
                self.speaker.wait(timeout=30)  # let the last words be heard ...
            except KeyboardInterrupt:  # ... unless Ctrl-C comes again (everything is recorded by now)
                self.speaker.stop()
            self._stopping.set()
            # Closing audio after a device was lost can block inside PortAudio: never let it hold the exit.
            closing = threading.Thread(target=close, name="voice-close", daemon=True)
            closing.start()
            closing.join(timeout=5)

        return stop
