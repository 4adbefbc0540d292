"""scripts/audio-bus: independent instances, idempotent start/stop, env lines for clients."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from audio_bus import AudioBus

pytestmark = pytest.mark.audio


def test_a_second_bus_runs_beside_the_first_and_stops_alone(audio_bus: AudioBus, tmp_path: Path) -> None:
    other = AudioBus(tmp_path / "bus")
    try:
        other.start()
        pid = (other.directory / "pids" / "daemon.pid").read_text().strip()
        started = time.monotonic()
        other.start()  # already running: nothing new is started
        assert time.monotonic() - started < 2
        assert (other.directory / "pids" / "daemon.pid").read_text().strip() == pid
        assert other.env()["PULSE_SERVER"] != audio_bus.env()["PULSE_SERVER"]
        sinks = other.pactl("list", "short", "sinks")
        assert "\tmouth\t" in sinks and "\tears\t" in sinks
        info = other.pactl("info")
        assert "Default Sink: ears" in info and "Default Source: mouth.monitor" in info
    finally:
        other.stop()
    assert not other.running()
    assert not Path(f"/proc/{pid}/cmdline").exists() or b"pulseaudio" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    other.stop()  # stopping twice is fine
    assert audio_bus.running()


def test_env_lines_can_be_evaluated_by_a_shell(audio_bus: AudioBus) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "audio-bus"
    result = subprocess.run(
        ["bash", "-c", f'eval "$({script} env)" && pactl get-default-sink'],
        env={"PATH": "/usr/bin:/bin", "AUDIO_BUS_DIR": str(audio_bus.directory)},
        capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ears"
