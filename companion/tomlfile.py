"""Reading the project's TOML files (routines, voices, config) with mistakes reported as ``FILE:LINE: …``."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from companion.errors import UserError


# What tomllib says of a quote or bracket left open, and what that looks like to the person who wrote it: a line
# that ends inside a string is found on that line, anything else left open at the end of the file.
HINTS = ((re.compile(r"Illegal character '\\n'"), "it looks like an unclosed quote"),
         (re.compile(r"Unterminated string|Expected \"'|Unclosed"),
          "it looks like an unclosed quote or bracket, on this line or one before it"))


def parse_toml(text: str, origin: str, error: type[UserError] = UserError) -> dict[str, Any]:
    """``text`` parsed; a syntax mistake raises ``error`` with one line: ``origin:line: not valid TOML: …``,
    and what to do."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = match.group(1) if match else max(1, len(text.splitlines()))  # else: at the end of the file
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        hint = next((f" ({hint})" for pattern, hint in HINTS if pattern.search(message)), "")
        raise error(f"{origin}:{line}: not valid TOML: {message}{hint}; edit the file to fix it") from None
