"""The user's defaults: a small TOML file, ``config_dir()/"config.toml"``.

Command-line options fall back to these values; a value left unset (None) means "use the built-in
default". ``set_value`` checks a value before writing and writes the whole file atomically, so a
crash never leaves half a file. A mistake in a hand-edited file is reported as ``FILE:LINE: problem``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from companion.errors import UserError
from companion.paths import config_dir
from companion.tomlfile import parse_toml

ENGINES = ("auto", "pocketsphinx", "vosk", "whisper", "text")
LANGS = ("en", "ko")


@dataclass(frozen=True)
class Config:
    voice: str | None = None
    engine: str | None = None
    lang: str | None = None
    input_device: str | None = None
    output_device: str | None = None
    minutes: int | None = None
    routine: str | None = None
    client: str | None = None


KEYS = tuple(f.name for f in fields(Config))


def config_path() -> Path:
    return config_dir() / "config.toml"


# -- checking values -----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A problem with a free-text value, or None if it is fine."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty text"
    return None


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _minutes(value: Any) -> str | None:
    """Any length: each routine has its own range, checked when a session uses it (foot-circulation: 15 to 30,
    a routine of your own perhaps 4 to 7)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a whole number of minutes, 1 or more"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "voice": _text,
    "engine": _one_of(ENGINES),
    "lang": _one_of(LANGS),
    "input_device": _text,
    "output_device": _text,
    "minutes": _minutes,
    "routine": _text,
    "client": _text,
}


def _known_voice(value: str) -> str | None:
    from companion.speech.voices import list_voices

    names = [profile.name for profile in list_voices()]
    return None if value in names else f"must be a voice profile: {', '.join(names)} (see: companion voices list)"


def _known_routine(value: str) -> str | None:
    from companion.plan.loader import routine_names

    names = routine_names()
    if value in names or (value.endswith(".toml") and Path(value).is_file()):
        return None
    return f"must be a routine name ({', '.join(names)}) or an existing .toml file"


# Only when setting a value: the voices and routines installed may change after the file is written,
# and the session itself reports a name that has gone.
_SET_CHECKS: dict[str, Callable[[str], str | None]] = {"voice": _known_voice, "routine": _known_routine}


# -- reading -------------------------------------------------------------------------------------


def load_config(path: Path | None = None, without: str | None = None) -> Config:
    """The defaults in the config file; every field None if there is no file. ``without``: a setting
    left out unread, so that setting or unsetting it repairs a file where its value is wrong."""
    path = path or config_path()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the config file ({exc.__class__.__name__}); fix or delete it") from None
    return parse_config(text, str(path), without)


def parse_config(text: str, origin: str, without: str | None = None) -> Config:
    """The settings in ``text`` (from ``origin``), all but ``without``; each mistake says how to repair it."""
    raw = parse_toml(text, origin)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        line = _line_of(text, key)
        if key not in _CHECKS:
            raise UserError(f"{origin}:{line}: unknown setting {key!r} (known: {', '.join(KEYS)}); "
                            "delete that line from the file")
        if key == without:
            continue
        problem = _CHECKS[key](value)
        if problem:
            raise UserError(f"{origin}:{line}: {key} {problem}; fix it with: companion config set {key} VALUE "
                            f"(or: companion config unset {key})")
        values[key] = value
    return Config(**values)


def _line_of(text: str, key: str) -> int:
    pattern = re.compile(rf"""\s*["']?{re.escape(key)}["']?\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


# -- writing -------------------------------------------------------------------------------------


def normalise_key(key: str) -> str:
    """'input-device' and 'input_device' name the same setting; UserError for an unknown one."""
    name = key.strip().replace("-", "_")
    if name not in KEYS:
        raise UserError(f"unknown setting {key!r}; known: {', '.join(KEYS)}")
    return name


def parse_value(key: str, value: str) -> str | int:
    """A value typed on the command line, as the setting holds it (checked)."""
    name = normalise_key(key)
    parsed: str | int = value.strip()
    if name == "minutes":
        try:
            parsed = int(parsed)
        except ValueError:
            raise UserError(f"minutes {_minutes(None)}, not '{value}'") from None
    problem = _CHECKS[name](parsed) or (_SET_CHECKS[name](str(parsed)) if name in _SET_CHECKS else None)
    if problem:
        raise UserError(f"{name} {problem}, not '{value}'")
    return parsed


def set_value(key: str, value: str, path: Path | None = None) -> Config:
    """Check ``value`` and store it under ``key``, whatever the file held there; returns the new config."""
    path = path or config_path()
    name = normalise_key(key)
    config = replace(load_config(path, without=name), **{name: parse_value(name, value)})
    write_config(config, path)
    return config


def unset_value(key: str, path: Path | None = None) -> Config:
    """Remove ``key`` from the file: the built-in default applies again."""
    path = path or config_path()
    config = load_config(path, without=normalise_key(key))
    write_config(config, path)
    return config


def render_config(config: Config) -> str:
    lines = ["# companion defaults; change them with: companion config set KEY VALUE"]
    for key in KEYS:
        value = getattr(config, key)
        if value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def write_config(config: Config, path: Path) -> None:
    """Write the file atomically (a temporary file in the same folder, then rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(render_config(config))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UserError(f"{path}: cannot write the config file ({exc.strerror or exc}); check its folder") from None
