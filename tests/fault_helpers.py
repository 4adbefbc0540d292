"""Fault injection helpers: a live text session in a subprocess, plain-line parsing, permission-bound children."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

SAFETY_AND_BASELINE = ["no"] * 4 + ["3"] * 4  # four safety answers, four baseline ratings
AFTER_RATINGS_CUE = "Now let's rate how the feet feel"
PLAIN_LINE = re.compile(r"^(\d{2,}):(\d{2}) (\w+): ")


def companion_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "companion", *args]


class LiveRun:
    """``companion session --text --plain`` in a subprocess: answers written to its stdin, its output lines
    collected as they come (with the wall time each arrived), and the after-session ratings answered with
    ``rate_after`` when they are asked (None: leave them unanswered, the session then waits there).
    ``prefix`` runs it through another command (e.g. ``unshare -n``)."""

    def __init__(self, db: Path, *, speed: float = 60, minutes: int = 15, answers: list[str] = SAFETY_AND_BASELINE,
                 rate_after: str | None = "4", env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*prefix, *companion_command("session", "--text", "--plain", "--speed", str(speed), "--minutes", str(minutes),
                              "--db", str(db))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[tuple[float, str]] = []
        self.stderr = ""
        self._changed = threading.Condition()
        self._rate_after = rate_after
        self.type(*answers)
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def type(self, *lines: str) -> None:
        try:
            self.process.stdin.write("".join(line + "\n" for line in lines))
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # it has ended: nobody is listening
            pass

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))
                self._changed.notify_all()
            if self._rate_after is not None and AFTER_RATINGS_CUE in line:
                self.type(*[self._rate_after] * 4)
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        self.stderr = self.process.stderr.read()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30) -> str:
        """The first output line that satisfies ``predicate``, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for _, line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._readers[0].is_alive()):
                    raise AssertionError(f"no such line within {timeout} s; got: {self.printed()[-5:]}")
                self._changed.wait(min(left, 0.2))

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end and for its output to be read; returns its exit code."""
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        self.process.stdin.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.finish()

    def printed(self) -> list[str]:
        with self._changed:
            return [line for _, line in self.lines]


def plain_events(lines: list[str]) -> list[tuple[int, str]]:
    """(whole seconds, type) of each plain event line."""
    events = []
    for line in lines:
        match = PLAIN_LINE.match(line)
        assert match, f"not a plain event line: {line!r}"
        events.append((int(match[1]) * 60 + int(match[2]), match[3]))
    return events


def stored_events(db: Path, session_id: int | None = None) -> list[tuple[int, str]]:
    """(whole seconds, type) of each event of the (latest) session that a plain line shows (no earcons)."""
    raw = sqlite3.connect(db)
    try:
        if session_id is None:
            row = raw.execute("SELECT MAX(id) FROM sessions").fetchone()
            session_id = row[0]
        rows = raw.execute("SELECT t, type FROM events WHERE session_id = ? AND type != 'earcon' ORDER BY seq",
                           (session_id,)).fetchall()
    finally:
        raw.close()
    return [(int(t), kind) for t, kind in rows]


def integrity(db: Path) -> str:
    raw = sqlite3.connect(db)
    try:
        return raw.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        raw.close()


NOBODY = 65534


def give_to_nobody(folder: Path) -> None:
    """Let the user 'nobody' reach ``folder`` (through its parents) and own it and what is in it."""
    for parent in folder.parents:
        parent.chmod(stat.S_IMODE(parent.stat().st_mode) | 0o005)
    for path in (folder, *folder.rglob("*")):
        os.chown(path, NOBODY, NOBODY)


def in_child_as_nobody(action: Callable[[], str]) -> str:
    """Run ``action`` in a forked child as 'nobody', where file permissions bite (as root they do not);
    returns what it returned, or "ExceptionName: message". Everything it needs must already be imported."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        try:
            if os.geteuid() == 0:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            message = action()
        except BaseException as exc:  # noqa: BLE001 - the message is what is tested
            message = f"{type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def wait_until(predicate: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()

