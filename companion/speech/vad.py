"""A voice-activity gate: cuts a stream of 16 kHz mono audio into speech segments.

Engines that are not streaming (Whisper) need whole utterances, and must not be handed silence or room
noise, on which they invent words. The gate is deliberately simple (numpy only): per 20 ms frame it
measures the energy and compares it with a noise floor that follows the room (a low percentile of the
last few seconds), with hysteresis: a segment opens when the energy rises ``open_db`` above the floor
and ends after ``end_silence`` seconds below ``close_db``. High zero-crossing frames just above the floor
(fricatives: the "s" of "stop", "yes") keep a segment open. Digital silence (quieter than ``min_abs_db``)
is not the room: a device that sends exact zeros between sounds (a headset's noise gate, the virtual
devices) would sink the floor to the bottom, and the room tone around a word would count as speech.
Segments with too little speech are dropped; segments that run on are cut at ``max_length``.

With ``early_silence`` set, a short segment is also reported at each short quiet, before it ends, marked
not final: a recogniser can read it then and be ready (or deliver a safety word) when it ends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME = 320  # samples: 20 ms at 16 kHz
SILENCE_DB = -100.0


@dataclass(frozen=True)
class SpeechSegment:
    audio: np.ndarray  # float32 in [-1, 1], pre-roll included
    start: float  # seconds since the stream began
    end: float
    speech_seconds: float  # time of frames above the gate
    peak_snr_db: float  # loudest frame above the noise floor
    final: bool = True  # False: the segment so far, at a short quiet (see early_silence)


@dataclass(frozen=True)
class GateSettings:
    sample_rate: int = 16000
    open_db: float = 9.0  # above the noise floor to start a segment
    close_db: float = 5.0  # above the noise floor to stay in it
    fricative_zcr: float = 0.25  # zero crossings per sample that count as speech just above the floor
    min_abs_db: float = -70.0  # quieter than this is never speech (digital silence, dither)
    min_speech: float = 0.15  # seconds of speech frames for a segment to count
    max_length: float = 4.0  # seconds; longer segments are cut here
    end_silence: float = 0.3  # seconds below the gate that end a segment
    pre_roll: float = 0.2  # seconds kept before the opening frame (soft onsets)
    floor_window: float = 3.0  # seconds of sound (not digital silence) the noise floor is taken from
    floor_percentile: float = 10.0
    early_silence: float = 0.0  # seconds of quiet after which a segment so far is reported (0: never)
    early_max: float = 1.2  # only segments this short so far are reported early


class VoiceGate:
    """Feed int16 or float samples with :meth:`feed`; it returns the segments that ended."""

    def __init__(self, settings: GateSettings | None = None) -> None:
        self.settings = s = settings or GateSettings()
        self._frames_per_second = s.sample_rate / FRAME
        self._history: deque[float] = deque(maxlen=max(1, round(s.floor_window * self._frames_per_second)))
        self._pre: deque[np.ndarray] = deque(maxlen=max(1, round(s.pre_roll * self._frames_per_second)))
        self._rest = np.zeros(0, np.float32)
        self._frame_index = 0
        self._clear_segment()

    @property
    def noise_floor_db(self) -> float:
        """The room's current noise level in dBFS (a low percentile of recent frames)."""
        if not self._history:
            return SILENCE_DB
        return float(np.percentile(np.fromiter(self._history, float), self.settings.floor_percentile))

    @property
    def in_speech(self) -> bool:
        return self._frames is not None

    def feed(self, samples: np.ndarray | bytes) -> list[SpeechSegment]:
        audio = to_float(samples)
        if self._rest.size:
            audio = np.concatenate([self._rest, audio])
        whole = audio.size // FRAME * FRAME
        self._rest = audio[whole:].copy()
        finished: list[SpeechSegment] = []
        for frame in audio[:whole].reshape(-1, FRAME):
            segment = self._step(frame)
            if segment is not None:
                finished.append(segment)
        return finished

    def flush(self) -> list[SpeechSegment]:
        """End of stream: close the open segment, if it holds enough speech."""
        segment = self._close() if self.in_speech else None
        self._rest = np.zeros(0, np.float32)
        return [segment] if segment is not None else []

    def reset(self) -> None:
        """Drop the current segment (keeps the noise floor: the room has not changed)."""
        self._clear_segment()
        self._pre.clear()
        self._rest = np.zeros(0, np.float32)

    def _clear_segment(self) -> None:
        self._frames: list[np.ndarray] | None = None
        self._start_index = 0
        self._speech_frames = 0
        self._silent_run = 0
        self._peak_snr = SILENCE_DB

    def _step(self, frame: np.ndarray) -> SpeechSegment | None:
        s = self.settings
        level = frame_db(frame)
        loud = level >= s.min_abs_db
        if loud:  # the floor counts this frame (a stream that starts noisy is not speech); digital silence not
            self._history.append(level)
        floor = max(self.noise_floor_db, s.min_abs_db - s.open_db)
        self._frame_index += 1
        snr = level - floor
        if self._frames is None:
            if loud and snr >= s.open_db:
                self._frames = list(self._pre)
                self._start_index = self._frame_index - 1 - len(self._pre)
                self._pre.clear()
                self._frames.append(frame)
                self._speech_frames, self._silent_run, self._peak_snr = 1, 0, snr
            else:
                self._pre.append(frame)
            return None
        self._frames.append(frame)
        fricative = snr >= s.close_db / 2 and zero_crossing_rate(frame) >= s.fricative_zcr
        if loud and (snr >= s.close_db or fricative):
            self._speech_frames += 1
            self._silent_run = 0
            self._peak_snr = max(self._peak_snr, snr)
        else:
            self._silent_run += 1
        if self._silent_run >= s.end_silence * self._frames_per_second:
            return self._close()
        if len(self._frames) >= s.max_length * self._frames_per_second:
            return self._close()
        if s.early_silence and self._silent_run == round(s.early_silence * self._frames_per_second) \
                and len(self._frames) <= (s.early_max + s.early_silence) * self._frames_per_second:
            return self._segment(final=False)
        return None

    def _close(self) -> SpeechSegment | None:
        segment = self._segment(final=True)
        self._clear_segment()
        return segment

    def _segment(self, final: bool) -> SpeechSegment | None:
        """The open segment as it is now; None when it holds too little speech."""
        assert self._frames is not None
        frames, start, speech = self._frames, self._start_index, self._speech_frames
        if speech / self._frames_per_second < self.settings.min_speech:
            return None
        return SpeechSegment(
            audio=np.concatenate(frames),
            start=start / self._frames_per_second,
            end=(start + len(frames)) / self._frames_per_second,
            speech_seconds=speech / self._frames_per_second,
            peak_snr_db=self._peak_snr,
            final=final,
        )


def to_float(samples: np.ndarray | bytes) -> np.ndarray:
    """int16 PCM (bytes or array) or float audio → float32 in [-1, 1]."""
    if isinstance(samples, (bytes, bytearray, memoryview)):
        samples = np.frombuffer(samples, dtype=np.int16)
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False)


def frame_db(frame: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 1e-5 else SILENCE_DB


def zero_crossing_rate(frame: np.ndarray) -> float:
    return float(np.count_nonzero(np.signbit(frame[1:]) != np.signbit(frame[:-1]))) / max(1, frame.size - 1)
