"""Shared fixtures. `audio_bus` starts private virtual audio devices once per test session, only when
a test asks for it (tests marked `audio`), and points this process and its subprocesses at them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from audio_bus import AudioBus


@pytest.fixture(scope="session")
def audio_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioBus]:
    bus = AudioBus(tmp_path_factory.mktemp("audio-bus"))
    bus.start()
    saved = {name: os.environ.get(name) for name in bus.env()}
    os.environ.update(bus.env())
    if "sounddevice" in sys.modules:  # PortAudio listed devices before the bus existed: look again
        from companion.audio import devices

        devices.refresh()
    try:
        yield bus
    finally:
        bus.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
