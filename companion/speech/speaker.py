"""The Speaker: turns text into queued, interruptible speech on a Player, with the profile's voice.

One background thread synthesises sentence by sentence and hands each to the player as soon as it is
ready, so the first sentence plays while the next is synthesised. Utterances play in the order given
(a new ``say`` never cuts a word of the current one); ``stop`` is the one way to cut speech (barge-in).
``prepare`` synthesises ahead into the speech cache, at a lower priority than speaking.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass, replace
from typing import Callable, Protocol

import numpy as np

from companion.speech.speech_cache import CachedSynthesizer, SpeechCache
from companion.speech.synth import Audio, Synthesizer, open_synthesizer, split_sentences
from companion.speech.voices import MAX_RATE, MIN_RATE, VoiceProfile, available_voices

log = logging.getLogger(__name__)

RATE_STEP = 1.15  # "slower"/"faster" multiply or divide the rate by this (±15 %)
VOLUME_STEP = 0.15
MIN_VOLUME, MAX_VOLUME = 0.1, 1.0  # never so quiet that a user who relies on audio loses the voice
EARCON_TAG = "earcon:"


class Player(Protocol):
    """What the Speaker needs of companion.audio.player.Player."""

    def play(self, samples: np.ndarray, rate: int, tag: str = "") -> None: ...
    def stop(self) -> None: ...
    def is_playing(self) -> bool: ...
    def current_tag(self) -> str | None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True, order=True)
class _Job:
    priority: int  # 0 speak or earcon, 1 prepare, 2 close
    seq: int
    kind: str = ""
    text: str = ""
    pace: float = 1.0  # times the profile's rate


_SPEAK, _PREPARE, _CLOSE = 0, 1, 2


class Speaker:
    def __init__(
        self,
        profile: VoiceProfile,
        player: Player,
        *,
        cache: SpeechCache | None = None,
        open_synth: Callable[[VoiceProfile], Synthesizer] | None = None,
        profiles: Callable[[], list[VoiceProfile]] = available_voices,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """``open_synth`` makes the synthesizer for a profile (default: the process's engine for it);
        ``profiles`` lists those ``change_voice`` cycles through; ``on_error`` hears synthesis
        failures, which happen on the speaker's thread (default: logged)."""
        self._profile = profile
        self._player = player
        self._cache = cache if cache is not None else SpeechCache()
        self._open_synth = open_synth or (lambda p: open_synthesizer(p.engine, p.voice))
        self._profiles = profiles
        self._on_error = on_error or (lambda exc: log.error("speech failed: %s", exc))
        self._synths: dict[tuple[str, str], CachedSynthesizer] = {}
        self._lock = threading.Lock()  # guards _active and hand-over to the player against stop()
        self._active: set[int] = set()  # speak/earcon jobs not yet fully handed to the player
        self._handed = threading.Condition(self._lock)
        self._seq = itertools.count()
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    @property
    def profile(self) -> VoiceProfile:
        return self._profile

    # --- the public verbs ------------------------------------------------------------------------

    def say(self, text: str, pace: float = 1.0) -> None:
        """Speak ``text`` after whatever is already queued, at ``pace`` times the voice's rate (instructions
        a little slower than confirmations); returns at once."""
        self._submit(_SPEAK, "say", text, pace)

    def earcon(self, name: str) -> None:
        """Play the earcon ``name`` in turn with speech, when the profile has earcons on."""
        from companion.audio import earcons

        if name not in earcons.EARCONS:
            raise ValueError(f"unknown earcon {name!r}; known: {', '.join(earcons.EARCONS)}")
        if self._profile.earcons:
            self._submit(_SPEAK, "earcon", name)

    def prepare(self, text: str, pace: float = 1.0) -> None:
        """Synthesise ``text`` in the background so that a later ``say(text, pace)`` starts at once."""
        self._jobs.put(_Job(_PREPARE, next(self._seq), "prepare", text, pace))

    def stop(self) -> None:
        """Barge-in: cut the speech now and forget everything queued (prepared audio stays cached)."""
        with self._lock:
            self._active.clear()
            self._player.stop()
            self._handed.notify_all()

    def is_speaking(self) -> bool:
        with self._lock:
            if self._active:
                return True
        return self._player.is_playing()

    def current_text(self) -> str | None:
        """The text (as given to ``say``) being heard now; None in silence or during an earcon."""
        tag = self._player.current_tag()
        return tag if tag is not None and not tag.startswith(EARCON_TAG) else None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until everything said so far has been heard; False on timeout."""
        with self._lock:
            if not self._handed.wait_for(lambda: not self._active, timeout):
                return False
        return self._player.wait(timeout)

    def adjust(self, setting: str, direction: int) -> float:
        """"rate" or "volume" one step up (direction > 0) or down; returns the new value. Applies to
        everything not yet synthesised."""
        sign = (direction > 0) - (direction < 0)
        with self._lock:
            p = self._profile
            if setting == "rate":
                value = min(MAX_RATE, max(MIN_RATE, p.rate * RATE_STEP**sign))
                self._profile = replace(p, rate=value)
            elif setting == "volume":
                value = min(MAX_VOLUME, max(MIN_VOLUME, p.volume + VOLUME_STEP * sign))
                self._profile = replace(p, volume=value)
            else:
                raise ValueError(f"cannot adjust {setting!r}; use 'rate' or 'volume'")
            return value

    def change_voice(self) -> VoiceProfile:
        """Switch to the next profile that can speak here (by name, wrapping round); returns it. The rate and
        volume the person set with slower/louder carry over: "slower" twice, then a new voice, stays slower."""
        choices = sorted(self._profiles(), key=lambda p: p.name)
        if not choices:
            return self._profile
        with self._lock:
            current = self._profile
            base = next((p for p in choices if p.name == current.name), current)
            following = ([p for p in choices if p.name > current.name] or choices)[0]
            self._profile = replace(
                following,
                rate=min(MAX_RATE, max(MIN_RATE, following.rate * current.rate / base.rate)),
                volume=min(MAX_VOLUME, max(MIN_VOLUME, following.volume + current.volume - base.volume)))
        return self._profile

    def close(self) -> None:
        """Stop speaking and end the speaker's thread (the player stays open: its owner closes it)."""
        self.stop()
        self._jobs.put(_Job(_CLOSE, next(self._seq), "close"))
        self._thread.join(timeout=5)

    # --- the speaker's thread --------------------------------------------------------------------

    def _submit(self, priority: int, kind: str, text: str, pace: float = 1.0) -> None:
        job = _Job(priority, next(self._seq), kind, text, pace)
        with self._lock:
            self._active.add(job.seq)
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job.kind == "close":
                return
            try:
                if job.kind == "prepare":
                    self._prepare(job)
                elif job.kind == "say":
                    self._speak(job)
                else:
                    self._play_earcon(job)
            except Exception as exc:  # a broken voice must not end the speaker: report and go on
                self._on_error(exc)
            finally:
                self._done(job)

    def _done(self, job: _Job) -> None:
        with self._lock:
            self._active.discard(job.seq)
            self._handed.notify_all()

    def _synth(self, profile: VoiceProfile) -> CachedSynthesizer:
        key = (profile.engine, profile.voice)
        if key not in self._synths:
            self._synths[key] = CachedSynthesizer(self._open_synth(profile), self._cache)
        return self._synths[key]

    def _prepare(self, job: _Job) -> None:
        profile = self._profile
        synth = self._synth(profile)
        for sentence in split_sentences(job.text):
            synth.synthesize(sentence, paced_rate(profile.rate, job.pace), profile.volume)

    def _speak(self, job: _Job) -> None:
        for index, sentence in enumerate(split_sentences(job.text)):
            if not self._is_active(job):
                return
            profile = self._profile
            audio = self._synth(profile).synthesize(sentence, paced_rate(profile.rate, job.pace), profile.volume)
            with self._lock:
                if job.seq not in self._active:
                    return
                # A pause between sentences, and before an utterance that follows queued sound.
                if index > 0 or self._player.is_playing():
                    audio = Audio.silence(profile.sentence_pause, audio.rate) + audio
                self._player.play(audio.samples, audio.rate, tag=job.text)

    def _play_earcon(self, job: _Job) -> None:
        from companion.audio import earcons

        samples = earcons.earcon(job.text, earcons.RATE)
        with self._lock:
            if job.seq in self._active:
                self._player.play(samples, earcons.RATE, tag=EARCON_TAG + job.text)

    def _is_active(self, job: _Job) -> bool:
        with self._lock:
            return job.seq in self._active


def paced_rate(rate: float, pace: float) -> float:
    """The words a minute a voice of ``rate`` speaks at ``pace`` (announcements a little slower, confirmations a
    little quicker), inside the synthesiser's range; also what the engine fits its announcements to."""
    return round(min(MAX_RATE, max(MIN_RATE, rate * pace)), 1)
