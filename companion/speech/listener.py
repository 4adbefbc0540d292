"""The live listening loop: microphone blocks -> recogniser -> callback, on its own thread.

A lost microphone (unplugged headset, audio server gone) must not end a session: the loop reports it,
retries every ``retry_s`` seconds and reports when it is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Protocol

from companion.errors import AudioDeviceError
from companion.speech.recognizer import SAMPLE_RATE, Recognition, Recognizer


class Microphone(Protocol):
    """What the loop needs of companion.audio.capture.Microphone (an open one)."""

    def read(self, timeout: float) -> bytes | None: ...


MicrophoneFactory = Callable[[], AbstractContextManager[Microphone]]


class Listener:
    """Runs ``recognizer`` over a microphone until :meth:`stop`; every recognition goes to
    ``on_recognition`` as soon as it is made (on the listener's thread)."""

    def __init__(
        self,
        recognizer: Recognizer,
        microphone_factory: MicrophoneFactory,
        on_recognition: Callable[[Recognition], None],
        on_device_lost: Callable[[AudioDeviceError], None] | None = None,
        on_device_back: Callable[[], None] | None = None,
        retry_s: float = 2.0,
        read_timeout: float = 0.2,
    ) -> None:
        self.recognizer = recognizer
        self._open = microphone_factory
        self._on_recognition = on_recognition
        self._on_lost = on_device_lost or (lambda exc: None)
        self._on_back = on_device_back or (lambda: None)
        self._retry_s = retry_s
        self._read_timeout = read_timeout
        self._stopping = threading.Event()
        self._fed = 0  # samples given to the recogniser since its last reset
        self._thread = threading.Thread(target=self.run, name="listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, deliver what the recogniser still holds, and wait for the thread."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> None:
        """The loop itself (``start`` runs it on a thread; call it directly to block)."""
        lost = False
        while not self._stopping.is_set():
            try:
                with self._open() as mic:
                    if lost:
                        lost = False
                        self._on_back()
                    self._pump(mic)
            except AudioDeviceError as exc:
                self.recognizer.reset()  # half an utterance from before the loss is not a command
                self._fed = 0
                if not lost:
                    lost = True
                    self._on_lost(exc)
                self._stopping.wait(self._retry_s)
        for recognition in self.recognizer.flush():
            self._on_recognition(self._stamped(recognition))

    def _pump(self, mic: Microphone) -> None:
        while not self._stopping.is_set():
            block = mic.read(self._read_timeout)
            if block:
                self._fed += len(block) // 2
                for recognition in self.recognizer.accept(block):
                    self._on_recognition(self._stamped(recognition))

    def _stamped(self, rec: Recognition) -> Recognition:
        """``rec`` with the clock times it was said: the audio fed so far ends now (a block is read as soon
        as it is captured), and the recogniser's times count from its last reset, as ``_fed`` does."""
        now, fed = time.monotonic(), self._fed / SAMPLE_RATE
        return replace(rec, said_from=now - (fed - rec.start), said_until=now - (fed - rec.end))
