"""The microphone: 16 kHz mono int16 blocks, as the recognisers want them.

The stream's callback only copies each block onto a queue; conversion (when the device would not open
at 16 kHz) happens in `read()`, on the caller's thread. A lost device surfaces as AudioDeviceError from
`read()`, after the audio captured before the loss, so the caller can pause and `open()` it again later.
"""

from __future__ import annotations

import queue

import numpy as np

from companion.audio import devices
from companion.audio.resample import StreamResampler
from companion.speech.wav import to_pcm16

_LOST = object()  # queued by the stream's end when we did not end it ourselves


class Microphone:
    def __init__(
        self,
        device: int | str | None = None,
        rate: int = 16000,
        block_ms: int = 20,
        max_buffered_s: float = 10.0,
    ) -> None:
        self._device_spec = device
        self.rate = rate
        self.block_ms = block_ms
        self._max_blocks = max(1, int(max_buffered_s * 1000 / block_ms))
        self._blocks: queue.Queue = queue.Queue(self._max_blocks)
        self._stream = None
        self._generation = 0
        self._lost = False
        self._resampler: StreamResampler | None = None
        self.device: devices.Device | None = None
        self.device_rate: int | None = None  # the rate the device actually runs at

    def open(self) -> None:
        """Open the device at `rate`, or at its own rate (then converted). AudioDeviceError if not."""
        sd = devices.sounddevice()
        self.close()
        device = devices.resolve("input", self._device_spec)
        self._blocks = queue.Queue(self._max_blocks)
        self._lost = False
        generation = self._generation
        last_error: Exception | None = None
        for rate in dict.fromkeys([self.rate, device.default_rate]):
            try:
                stream = sd.RawInputStream(
                    device=device.index,
                    samplerate=rate,
                    channels=1,
                    dtype="int16",
                    blocksize=int(rate * self.block_ms / 1000),
                    callback=self._callback,
                    finished_callback=lambda: self._finished(generation),
                )
                stream.start()
            except sd.PortAudioError as exc:
                last_error = exc
                continue
            self._stream, self.device, self.device_rate = stream, device, rate
            self._resampler = StreamResampler(rate, self.rate) if rate != self.rate else None
            return
        raise devices.open_failed("input", device, last_error) from None

    def close(self) -> None:
        self._generation += 1
        stream, self._stream = self._stream, None
        devices.close_quietly(stream)

    def __enter__(self) -> Microphone:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, timeout: float) -> bytes | None:
        """The next block (int16 LE mono at `rate`), None if none came within `timeout` seconds.
        Raises AudioDeviceError once the device is lost (after the audio captured before)."""
        if self._stream is None and not self._lost:
            raise RuntimeError("Microphone.read() before open()")
        if not self._lost:
            try:
                block = self._blocks.get(timeout=timeout)
            except queue.Empty:
                if self._stream is not None and self._stream.active:
                    return None
                block = _LOST
            if block is not _LOST:
                return self._convert(block)
            self._lost = True
            self.close()
        raise devices.lost("input", self.device)

    def _convert(self, block: bytes) -> bytes:
        if self._resampler is None:
            return block
        samples = np.frombuffer(block, dtype="<i2").astype(np.float32) / 32768.0
        return to_pcm16(self._resampler.process(samples))

    def _callback(self, indata: object, frames: int, time: object, status: object) -> None:
        try:
            self._blocks.put_nowait(bytes(indata))
        except queue.Full:  # nobody read for max_buffered_s: what is heard now is lost, not what came before
            pass

    def _finished(self, generation: int) -> None:
        if generation != self._generation:
            return
        try:
            self._blocks.put_nowait(_LOST)
        except queue.Full:  # read() notices the stopped stream when the queue runs dry
            pass
