"""The interruptible speaker: clips are queued and played in order on one background output stream.

The stream stays open and plays silence between clips, so a new clip starts without opening a device
and `stop()` only has to empty the queue. A lost device never raises in the caller's thread: the
player reports it through `on_error`, `ok()` turns False, clips given meanwhile are dropped, and a
supervisor thread reopens the device as soon as it works again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from time import monotonic
from dataclasses import dataclass
from typing import Callable

import numpy as np

from companion.audio import devices
from companion.audio.resample import resample
from companion.errors import AudioDeviceError

ErrorHandler = Callable[[Exception], None]
log = logging.getLogger(__name__)
# Output buffer. Through PulseAudio's ALSA plugin, 8.5 ms ('low') dropped out audibly on a busy 2-core
# machine, and 30 ms often fell into a loop of underruns right after the stream (re)started; 60 ms
# (with the underrun guard in _callback) lost nothing in our runs. stop() discards this buffer, so it
# does not delay stopping; it only delays the start of a clip by about as much.
_LATENCY_S = 0.06


@dataclass
class _Clip:
    samples: np.ndarray  # float32 mono at the stream's rate
    tag: str


class Player:
    def __init__(
        self,
        device: int | str | None = None,
        rate: int = 22050,
        on_error: ErrorHandler | None = None,
        retry_interval: float = 1.0,
        on_back: Callable[[], None] | None = None,
    ) -> None:
        """Opens the output device (AudioDeviceError if it cannot). `rate` is the preferred stream
        rate (that of the speech voice); the device's own rate is used when it rejects it."""
        self._device_spec = device
        self._preferred_rate = rate
        self._on_error = on_error
        self._on_back = on_back  # called (off the audio thread) once a lost device works again
        self._retry_interval = retry_interval
        self._lock = threading.Lock()  # guards the queue and the current clip (callback side)
        self._stream_lock = threading.Lock()  # guards opening and closing the stream
        self._queue: deque[_Clip] = deque()
        self._current: _Clip | None = None
        self._pos = 0
        self._last_tag: str | None = None  # of the clip whose end may still be in the device buffer
        self._audible_until = 0.0  # monotonic() time when the device buffer has played out
        self._idle = threading.Event()
        self._idle.set()
        self._stream = None
        self._generation = 0
        self._restarting = False
        self._ok = False
        self._closed = threading.Event()
        self._losses: queue.Queue[Exception | None] = queue.Queue()
        self._open()
        self._supervisor = threading.Thread(target=self._supervise, name="player-supervisor", daemon=True)
        self._supervisor.start()

    @property
    def rate(self) -> int:
        """The rate the output stream runs at."""
        return self._rate

    @property
    def device(self) -> devices.Device:
        return self._device

    def play(self, samples: np.ndarray, rate: int, tag: str = "") -> None:
        """Queue a float32 mono clip; returns at once. Dropped while the device is lost."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size == 0 or not self._ok:
            return
        clip = _Clip(resample(samples, rate, self._rate), tag)
        with self._lock:
            self._queue.append(clip)
            self._idle.clear()

    def stop(self) -> None:
        """Cut what is playing and drop everything queued, including what the device has buffered.

        Returns at once: the queue is emptied here (the callback then plays silence), and the device
        buffer is discarded on a helper thread, since aborting a stream whose device has just vanished
        can block inside PortAudio and the caller (the session loop) must never wait on it."""
        self._drop_queue()
        threading.Thread(target=self._discard_buffer, name="player-stop", daemon=True).start()

    def _discard_buffer(self) -> None:
        if not self._stream_lock.acquire(timeout=2.0):
            return  # another abort is stuck on a lost device; the supervisor will reopen it
        try:
            stream = self._stream
            if stream is None or not self._ok:
                return
            self._restarting = True  # abort() ends the stream: not a device loss
            try:
                stream.abort()
                stream.start()
            except devices.sounddevice().PortAudioError:
                self._ok = False
                self._losses.put(devices.lost("output", self._device))
            finally:
                self._restarting = False
        finally:
            self._stream_lock.release()

    def is_playing(self) -> bool:
        """True until the last queued sample has left the speaker."""
        with self._lock:
            return self._current is not None or bool(self._queue) or monotonic() < self._audible_until

    def current_tag(self) -> str | None:
        """The tag of the clip being heard (the text being spoken), None when silent."""
        with self._lock:
            if self._current is not None:
                return self._current.tag
            return self._last_tag if monotonic() < self._audible_until else None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until everything queued has been heard (queue drained and device buffer played);
        False on timeout."""
        deadline = None if timeout is None else monotonic() + timeout
        if not self._idle.wait(timeout):
            return False
        remaining = self._audible_until - monotonic()
        if remaining > 0:
            if deadline is not None and monotonic() + remaining > deadline:
                return False
            self._closed.wait(remaining)
        return True

    def ok(self) -> bool:
        """False while the output device is lost."""
        return self._ok

    def reopen(self) -> bool:
        """Try to open the device again now; True when it works."""
        try:
            self._open()
        except AudioDeviceError:
            return False
        return True

    def close(self) -> None:
        self._closed.set()
        self._losses.put(None)
        self.stop()
        with self._stream_lock:
            self._ok = False
            self._close_stream()
        if threading.current_thread() is not self._supervisor:
            self._supervisor.join(timeout=5)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- stream management -------------------------------------------------------------------

    def _open(self) -> None:
        sd = devices.sounddevice()
        with self._stream_lock:
            if self._closed.is_set():
                raise AudioDeviceError("The player is closed.")
            self._close_stream()
            device = devices.resolve("output", self._device_spec)
            rate = self._preferred_rate
            try:
                sd.check_output_settings(device=device.index, samplerate=rate, channels=1, dtype="float32")
            except sd.PortAudioError:
                rate = device.default_rate
            generation = self._generation
            try:
                stream = sd.OutputStream(
                    device=device.index,
                    samplerate=rate,
                    channels=1,
                    dtype="float32",
                    latency=_LATENCY_S,
                    callback=self._callback,
                    finished_callback=lambda: self._finished(generation),
                )
                stream.start()
            except sd.PortAudioError as exc:
                raise devices.open_failed("output", device, exc) from None
            self._stream, self._device, self._rate = stream, device, rate
            self._ok = True

    def _close_stream(self) -> None:
        """Close the current stream (caller holds _stream_lock); its end is not a device loss."""
        self._generation += 1
        stream, self._stream = self._stream, None
        devices.close_quietly(stream)

    def _callback(self, out: np.ndarray, frames: int, timing: object, status: object) -> None:
        if status.output_underflow:
            # While PulseAudio's ALSA plugin recovers from an underrun it can call back in a tight loop
            # and drop what it is given: hold the clip back until the stream plays again.
            out[:] = 0
            return
        filled = 0
        with self._lock:
            while filled < frames:
                clip = self._current
                if clip is None:
                    if not self._queue:
                        break
                    clip = self._current = self._queue.popleft()
                    self._pos = 0
                n = min(frames - filled, clip.samples.size - self._pos)
                out[filled : filled + n, 0] = clip.samples[self._pos : self._pos + n]
                filled += n
                self._pos += n
                if self._pos >= clip.samples.size:
                    self._current = None
                    self._last_tag = clip.tag
            if self._current is None and not self._queue and not self._idle.is_set():
                buffered = max(timing.outputBufferDacTime - timing.currentTime, 0.0)
                self._audible_until = monotonic() + buffered + filled / self._rate
                self._idle.set()
        out[filled:] = 0

    def _finished(self, generation: int) -> None:
        """PortAudio ended the stream: a device loss unless we closed it ourselves."""
        if generation != self._generation or self._restarting or self._closed.is_set():
            return
        self._ok = False
        self._drop_queue()
        self._losses.put(devices.lost("output", self._device))

    def _drop_queue(self) -> None:
        with self._lock:
            self._queue.clear()
            self._current = None
            self._audible_until = 0.0
            self._idle.set()

    def _supervise(self) -> None:
        """Reports each loss to on_error (off the audio thread), then retries until the device works."""
        while True:
            exc = self._losses.get()
            if exc is None or self._closed.is_set():
                return
            if self._on_error is not None:
                try:
                    self._on_error(exc)
                except Exception:  # the handler's own bug must not stop the recovery loop
                    log.exception("the player's on_error handler failed")
            while not self._closed.is_set() and not self.reopen():
                self._closed.wait(self._retry_interval)
            if self._on_back is not None and not self._closed.is_set():
                try:
                    self._on_back()
                except Exception:
                    log.exception("the player's on_back handler failed")
