"""Simulation scripts: what a simulated person says, and when.

    # comment
    > no                    the answer to the next question the companion asks, in order
    02:30 more pressure     said at 2 min 30 s of session time  # a comment after a line
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from companion.errors import UserError

TIMED = re.compile(r"^(\d{1,3}):([0-5]\d)(?:\.(\d+))?\s+(\S.*)$")


@dataclass
class Script:
    timed: list[tuple[float, str]] = field(default_factory=list)  # sorted by time
    answers: deque[str] = field(default_factory=deque)


def parse_script(text: str, origin: str = "<script>") -> Script:
    """Parse a script; UserError ``origin:line: problem`` on the first bad line."""
    script = Script()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith(">"):
            answer = line[1:].strip()
            if not answer:
                raise UserError(f"{origin}:{number}: '>' needs an answer after it, e.g. '> no'")
            script.answers.append(answer)
            continue
        match = TIMED.match(line)
        if not match:
            raise UserError(f"{origin}:{number}: expected 'MM:SS words', '> answer' or '# comment', got {line[:40]!r}")
        minutes, seconds, fraction, words = match.groups()
        t = int(minutes) * 60 + int(seconds) + (float(f"0.{fraction}") if fraction else 0.0)
        script.timed.append((t, words.strip()))
    script.timed.sort(key=lambda item: item[0])
    return script


def load_script(path: Path) -> Script:
    """The script in the file at ``path``; UserError ``path[:line]: problem`` when it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the script ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{path}:{line}: not UTF-8 text; save the script as UTF-8 text") from None
    return parse_script(text, str(path))
