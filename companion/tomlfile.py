"""Reading the project's TOML files (routines, voices, config) with mistakes reported as ``FILE:LINE: …``."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from companion.errors import UserError


def parse_toml(text: str, origin: str, error: type[UserError] = UserError) -> dict[str, Any]:
    """``text`` parsed; a syntax mistake raises ``error`` with one line: ``origin:line: not valid TOML: …``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise error(f"{origin}:{match.group(1) if match else 1}: not valid TOML: {message}") from None
