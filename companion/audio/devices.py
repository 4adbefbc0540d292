"""Which microphones and speakers exist, and which one a `--input-device`/`--output-device` value means.

Every failure is an AudioDeviceError whose one line names the devices that do exist and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from companion.errors import AudioDeviceError

Kind = Literal["input", "output"]
_NOUN = {"input": "microphone", "output": "speaker"}
_OPTION = {"input": "--input-device", "output": "--output-device"}


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    input_channels: int
    output_channels: int
    default_rate: int

    def channels(self, kind: Kind) -> int:
        return self.input_channels if kind == "input" else self.output_channels


_alsa_handler = None  # the callback given to ALSA, once


def quiet_alsa() -> None:
    """Stop ALSA's library from writing its own lines to stderr ("ALSA lib pcm.c:...: underrun occurred",
    "Unknown PCM ...") when a device is lost or slow: a screen reader would read them out in the middle of
    a session, and each such event already reaches the person as one line of ours. No-op without ALSA."""
    global _alsa_handler
    if _alsa_handler is not None:
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if name is None:
        return
    try:
        alsa = ctypes.CDLL(name)
    except OSError:
        return
    # void (*)(const char *file, int line, const char *function, int err, const char *fmt, ...)
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
    _alsa_handler = handler_type(lambda *_: None)  # kept: ALSA holds on to it
    alsa.snd_lib_error_set_handler(_alsa_handler)


def sounddevice() -> ModuleType:
    """The sounddevice module; a missing PortAudio library becomes a one-line fix."""
    quiet_alsa()
    try:
        import sounddevice as sd
    except OSError as exc:  # raised by the import when libportaudio is not installed
        raise AudioDeviceError(
            "PortAudio is not installed: run `sudo apt-get install libportaudio2` "
            "(or scripts/setup), then try again."
        ) from exc
    return sd


def refresh() -> None:
    """Re-scan devices (PortAudio lists them once, when first loaded); closes any open stream."""
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[Device]:
    """Every device PortAudio knows, inputs and outputs alike."""
    return [
        Device(
            index=int(info["index"]),
            name=str(info["name"]),
            input_channels=int(info["max_input_channels"]),
            output_channels=int(info["max_output_channels"]),
            default_rate=int(info["default_samplerate"]),
        )
        for info in sounddevice().query_devices()
    ]


def devices_of(kind: Kind) -> list[Device]:
    return [d for d in list_devices() if d.channels(kind) > 0]


def default_index(kind: Kind) -> int | None:
    """The system's default device of this kind, or None when there is none."""
    index = sounddevice().default.device[0 if kind == "input" else 1]
    return None if index is None or int(index) < 0 else int(index)


def resolve(kind: Kind, value: int | str | None) -> Device:
    """The device meant by `value`: None = the default, an index, or a case-insensitive part of a name
    (an exact name wins over partial matches)."""
    candidates = devices_of(kind)
    noun = _NOUN[kind]
    if not candidates:
        raise AudioDeviceError(_no_devices_message(kind))
    if value is None or (isinstance(value, str) and not value.strip()):
        index = default_index(kind)
        for device in candidates:
            if device.index == index:
                return device
        raise AudioDeviceError(
            f"There is no default {noun}; choose one with {_OPTION[kind]} "
            f"({_listing(candidates)})."
        )
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        for device in candidates:
            if device.index == int(text):
                return device
        raise AudioDeviceError(
            f"No {noun} has index {text}; use one of: {_listing(candidates)} (see `companion devices`)."
        )
    exact = [d for d in candidates if d.name.casefold() == text.casefold()]
    matches = exact or [d for d in candidates if text.casefold() in d.name.casefold()]
    if not matches:
        raise AudioDeviceError(
            f"No {noun} matches {text!r}; use an index or part of a name from: {_listing(candidates)}."
        )
    if len(matches) > 1:
        raise AudioDeviceError(
            f"{text!r} matches several {noun}s: {_listing(matches)}; give the index or more of the name."
        )
    return matches[0]


def open_failed(kind: Kind, device: Device, exc: Exception) -> AudioDeviceError:
    """The error for a device that exists but would not open (busy, unplugged, server gone)."""
    return AudioDeviceError(
        f"Could not open the {_NOUN[kind]} {device.index} {device.name!r} ({exc}); check that it is "
        f"connected and not in use, or choose another with {_OPTION[kind]}."
    )


def lost(kind: Kind, device: Device) -> AudioDeviceError:
    """The error for a device that stopped working mid-stream."""
    return AudioDeviceError(
        f"The {_NOUN[kind]} {device.name!r} stopped working; reconnect it (or restart the audio "
        f"server) and the session can resume."
    )


def _no_devices_message(kind: Kind) -> str:
    others = list_devices()
    if not others:
        return (
            "No audio devices found: start the audio server (PulseAudio or PipeWire; "
            "for tests `scripts/audio-bus start`) or plug in a headset, then try again."
        )
    return f"No {_NOUN[kind]} found (only {_listing(others)}); plug one in and try again."


def _listing(devices: list[Device]) -> str:
    return ", ".join(f"{d.index} {d.name!r}" for d in devices)


def close_quietly(stream: object | None) -> None:
    """Abort and close a sounddevice stream; one whose device vanished may fail to close: it is gone anyway."""
    if stream is None:
        return
    try:
        stream.abort()
        stream.close()
    except Exception:
        pass
