"""Device listing and choice: each failure is one line naming the devices that exist and what to do."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from companion.audio import devices
from companion.errors import AudioDeviceError

REPO = Path(__file__).resolve().parents[1]


def fake_sounddevice(entries: list[tuple[str, int, int]], default: tuple[int, int] = (-1, -1)):
    infos = [
        {"index": i, "name": name, "max_input_channels": ins, "max_output_channels": outs,
         "default_samplerate": 44100.0}
        for i, (name, ins, outs) in enumerate(entries)
    ]
    return SimpleNamespace(query_devices=lambda: infos, default=SimpleNamespace(device=list(default)))


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch):
    """A machine with a USB headset, the laptop's speakers and mic, and HDMI output."""
    sd = fake_sounddevice(
        [("USB Headset: Audio (hw:1,0)", 1, 2), ("HDA Intel PCH: ALC257 Analog (hw:0,0)", 2, 2),
         ("HDA Intel PCH: HDMI 0 (hw:0,3)", 0, 8), ("pulse", 32, 32)],
        default=(3, 3),
    )
    monkeypatch.setattr(devices, "sounddevice", lambda: sd)
    return sd


def test_lists_inputs_and_outputs_separately(machine) -> None:
    assert [d.index for d in devices.devices_of("input")] == [0, 1, 3]
    assert [d.index for d in devices.devices_of("output")] == [0, 1, 2, 3]


def test_resolves_default_index_and_part_of_a_name(machine) -> None:
    assert devices.resolve("output", None).name == "pulse"
    assert devices.resolve("output", "2").name.startswith("HDA Intel PCH: HDMI")
    assert devices.resolve("output", 0).name.startswith("USB Headset")
    assert devices.resolve("input", "usb").index == 0
    assert devices.resolve("output", "hdmi").index == 2
    assert devices.resolve("output", "PULSE").index == 3  # exact name, case-insensitive


def test_unknown_name_lists_devices_that_exist(machine) -> None:
    with pytest.raises(AudioDeviceError) as info:
        devices.resolve("input", "bluetooth")
    message = str(info.value)
    assert "'bluetooth'" in message and "0 'USB Headset: Audio (hw:1,0)'" in message and "\n" not in message
    assert "HDMI" not in message  # an output only: not offered as a microphone


def test_ambiguous_name_names_the_candidates(machine) -> None:
    with pytest.raises(AudioDeviceError, match=r"matches several speakers: 1 .*, 2 .*index"):
        devices.resolve("output", "hda intel")


def test_index_of_an_output_only_device_is_not_a_microphone(machine) -> None:
    with pytest.raises(AudioDeviceError, match="No microphone has index 2"):
        devices.resolve("input", 2)


def test_no_default_device_says_to_choose_one(machine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.default.device = [-1, -1]
    with pytest.raises(AudioDeviceError, match="no default microphone; choose one with --input-device"):
        devices.resolve("input", None)


def test_no_devices_at_all_says_to_start_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "sounddevice", lambda: fake_sounddevice([]))
    with pytest.raises(AudioDeviceError, match="No audio devices found: start the audio server"):
        devices.resolve("output", None)


def test_only_outputs_says_no_microphone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "sounddevice", lambda: fake_sounddevice([("HDMI", 0, 2)], (-1, 0)))
    with pytest.raises(AudioDeviceError, match="No microphone found .*plug one in"):
        devices.resolve("input", None)


def test_missing_portaudio_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(AudioDeviceError, match="PortAudio is not installed: run `sudo apt-get install libportaudio2`"):
        devices.list_devices()


# --- the real thing --------------------------------------------------------------------------------------


def run_companion(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "companion", *args], env=env, capture_output=True, text=True, timeout=60, cwd=REPO
    )


@pytest.mark.skipif(Path("/dev/snd").exists(), reason="a real sound card would be listed")
def test_no_audio_server_gives_the_fix_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "client.conf"
    config.write_text("autospawn = no\n")
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket", "PULSE_CLIENTCONFIG": str(config)}
    result = run_companion("devices", env=env)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("companion: No audio devices found: start the audio")


@pytest.mark.audio
def test_devices_command_lists_the_bus_with_defaults_marked(audio_bus) -> None:
    result = run_companion("devices", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Microphones") and any(line.startswith("Speakers") for line in lines)
    assert sum(line.lstrip().startswith("*") for line in lines) == 2
    assert any("default" in line for line in lines)


@pytest.mark.audio
def test_unknown_device_on_a_real_server(audio_bus) -> None:
    with pytest.raises(AudioDeviceError) as info:
        devices.resolve("output", "usb headset")
    assert "No speaker matches 'usb headset'" in str(info.value) and "'pulse'" in str(info.value)


ALSA_COMPLAINS = """
import ctypes, ctypes.util
{prepare}
alsa = ctypes.CDLL(ctypes.util.find_library("asound"))
handle = ctypes.c_void_p()
assert alsa.snd_pcm_open(ctypes.byref(handle), b"no_such_device", 0, 0) < 0
"""


@pytest.mark.skipif(__import__("ctypes.util").util.find_library("asound") is None, reason="no ALSA library")
def test_alsa_lines_never_reach_stderr_once_sounddevice_is_loaded() -> None:
    """ALSA writes its own lines to stderr on device trouble; through companion they never appear."""
    def stderr_of(prepare: str) -> str:
        code = ALSA_COMPLAINS.format(prepare=prepare)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        return run.stderr

    assert "no_such_device" in stderr_of("")  # what ALSA does on its own
    assert stderr_of("from companion.audio import devices; devices.sounddevice()") == ""
