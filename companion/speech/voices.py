"""Voice profiles: which engine and voice speaks, how fast, how loud, how long it pauses.

Profiles are TOML files: the shipped ones in the repository's ``voices/`` folder, and the user's in
``config_dir()/"voices"``, which may add profiles or override shipped ones of the same name. A file's
``name`` must equal its file name (``calm.toml`` holds ``name = "calm"``). Mistakes are reported as
``FILE:LINE: what is wrong``; a broken file puts only its own profile out of use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import companion
from companion.tomlfile import parse_toml
from companion.errors import UserError
from companion.paths import config_dir
from companion.speech.synth import ENGINES, unavailable_reason

MIN_RATE, MAX_RATE = 80.0, 400.0  # words per minute
MAX_PAUSE = 5.0  # seconds
DEFAULT_VOICE = "calm"
PIPER_VOICE = "calm-piper"


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    engine: str  # "pyttsx3" | "piper"
    voice: str  # the engine's voice id, e.g. "gmw/en-us" or "en_US-joe-medium"
    description: str = ""
    rate: float = 150.0  # words per minute
    volume: float = 0.8  # 0..1
    sentence_pause: float = 0.6  # seconds of silence between sentences
    earcons: bool = True
    source: Path | None = None  # the file it came from


_REQUIRED = ("name", "engine", "voice")
_FIELDS = ("name", "description", "engine", "voice", "rate", "volume", "sentence_pause", "earcons")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


def shipped_voices_dir() -> Path:
    return Path(companion.__file__).parent.parent / "voices"


def user_voices_dir() -> Path:
    return config_dir() / "voices"


def parse_profile(text: str, path: Path) -> VoiceProfile:
    """The profile in ``text`` (the content of ``path``); UserError "PATH:LINE: what is wrong"."""
    data = parse_toml(text, str(path))

    def fail(key: str | None, what: str) -> UserError:
        return UserError(f"{path}:{_line_of(text, key)}: {what}")

    for key in data:
        if key not in _FIELDS:
            raise fail(key, f"unknown key {key!r}; the keys are: {', '.join(_FIELDS)}")
    for key in _REQUIRED:
        if key not in data:
            raise fail(None, f"missing {key!r}; a voice profile needs {', '.join(_REQUIRED)}")
    for key in ("name", "description", "engine", "voice"):
        if key in data and not isinstance(data[key], str):
            raise fail(key, f"{key} must be text in quotes, not {data[key]!r}")
    name = data["name"]
    if not _NAME.match(name):
        raise fail("name", f"name {name!r} must be lowercase letters, digits, '-' or '_'")
    if name != path.stem:
        raise fail("name", f"name {name!r} must match the file name {path.name!r}; rename one of them")
    if data["engine"] not in ENGINES:
        raise fail("engine", f"engine {data['engine']!r} is not one of: {', '.join(ENGINES)}")
    if not data["voice"].strip():
        raise fail("voice", "voice is empty; give the engine's voice id, e.g. \"gmw/en-us\"")
    _check_number(data, "rate", MIN_RATE, MAX_RATE, "words per minute", fail)
    _check_number(data, "volume", 0.0, 1.0, "(1 is full volume)", fail, above_low=True)
    _check_number(data, "sentence_pause", 0.0, MAX_PAUSE, "seconds", fail)
    if "earcons" in data and not isinstance(data["earcons"], bool):
        raise fail("earcons", f"earcons must be true or false, not {data['earcons']!r}")
    return VoiceProfile(**{k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                           for k, v in data.items()}, source=path)


def _check_number(
    data: dict[str, Any], key: str, low: float, high: float, unit: str, fail: Any, above_low: bool = False
) -> None:
    if key not in data:
        return
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(key, f"{key} must be a number, not {value!r}")
    if math.isnan(value) or value > high or value < low or (above_low and value == low):
        bounds = f"above {low:g}" if above_low else f"from {low:g}"
        raise fail(key, f"{key} {value:g} is out of range; use a value {bounds} to {high:g} {unit}")


def _line_of(text: str, key: str | None) -> int:
    """The 1-based line where ``key`` is set (1 when absent)."""
    if key is not None:
        pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.match(line):
                return number
    return 1


def load_profile_file(path: Path) -> VoiceProfile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}:1: cannot read it ({exc}); check the file") from None
    return parse_profile(text, path)


def _scan() -> tuple[dict[str, VoiceProfile], dict[str, UserError]]:
    """The profiles by name, and the error of each broken file by its name (its file name without .toml).

    A user's file replaces the shipped one of the same name, broken or not."""
    profiles: dict[str, VoiceProfile] = {}
    broken: dict[str, UserError] = {}
    for folder in (shipped_voices_dir(), user_voices_dir()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                try:
                    profiles[path.stem] = load_profile_file(path)
                    broken.pop(path.stem, None)
                except UserError as exc:
                    broken[path.stem] = exc
                    profiles.pop(path.stem, None)
    return profiles, broken


def list_voices() -> list[VoiceProfile]:
    """Every usable profile, sorted by name; a broken file leaves out only its own (see voice_problems)."""
    profiles = _scan()[0]
    return [profiles[name] for name in sorted(profiles)]


def voice_problems() -> list[str]:
    """One line per broken profile file: ``FILE:LINE: what is wrong``."""
    broken = _scan()[1]
    return [str(broken[name]) for name in sorted(broken)]


def load_voice(name: str) -> VoiceProfile:
    """The profile called ``name``; UserError with the file's mistake when it is broken, or listing the
    known ones when there is none."""
    profiles, broken = _scan()
    if name in broken:
        raise broken[name]
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise UserError(
            f"unknown voice profile {name!r}; known: {known} (or add {user_voices_dir() / (name + '.toml')})"
        )
    return profiles[name]


def availability(profile: VoiceProfile) -> str | None:
    """Why ``profile`` cannot speak on this machine (one line saying what to do), or None if it can."""
    return unavailable_reason(profile.engine, profile.voice)


def configured_voice_name() -> str:
    """The voice a session speaks with when no --voice is given: the config's, else the default."""
    from companion.config import load_config

    return load_config().voice or default_voice_name()


def default_voice_name() -> str:
    """calm-piper when Piper and its voice are installed, else calm."""
    try:
        piper = load_voice(PIPER_VOICE)
    except UserError:
        return DEFAULT_VOICE
    return PIPER_VOICE if availability(piper) is None else DEFAULT_VOICE


def available_voices() -> list[VoiceProfile]:
    """The profiles that can speak on this machine, sorted by name."""
    return [p for p in list_voices() if availability(p) is None]
