"""Offline means offline: sessions behave the same with sockets blocked (a sitecustomize that makes every
socket creation fail, and log it) and in a network namespace with no network; importing the package opens no
socket."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fault_helpers import LiveRun, companion_command

BLOCKER = textwrap.dedent(
    """
    # Loaded at start-up through PYTHONPATH: every socket creation fails, and is written to $SOCKET_LOG.
    import os, socket, _socket, traceback

    def _blocked(*args, **kwargs):
        with open(os.environ["SOCKET_LOG"], "a") as log:
            log.write(f"socket{args!r}\\n" + "".join(traceback.format_stack(limit=8)) + "\\n")
        raise OSError("network blocked by test_no_network")

    class BlockedSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            _blocked(*args, **kwargs)

    socket.socket = BlockedSocket
    _socket.socket = BlockedSocket
    socket.create_connection = _blocked
    socket.socketpair = _blocked
    """
)

SCRIPT = textwrap.dedent(
    """
    > no
    > no
    > no
    > no
    > 3
    > 2
    > 4
    > 3
    01:10 more pressure
    02:00 pause
    02:20 resume
    04:30 that hurts
    06:00 skip
    08:15 more time
    10:00 back
    > 4
    > 3
    > 4
    > 5
    """
)
UNSHARE = shutil.which("unshare")


def _unshare_works() -> bool:
    return UNSHARE is not None and subprocess.run([UNSHARE, "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture
def blocked(tmp_path: Path) -> dict[str, str]:
    """Environment for a child whose sockets are blocked; its attempts go to ``SOCKET_LOG``."""
    folder = tmp_path / "blocker"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "sockets.log"
    log.touch()
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "SOCKET_LOG": str(log)}


def _run(args: list[str], env: dict[str, str] | None = None, prefix: tuple[str, ...] = (), stdin: str = "",
         timeout: float = 60) -> subprocess.CompletedProcess:
    done = subprocess.run([*prefix, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _simulate(tmp_path: Path, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()) -> list[dict]:
    script = tmp_path / "script.txt"
    script.write_text(SCRIPT)
    db = tmp_path / f"simulated-{len(list(tmp_path.glob('simulated-*')))}.sqlite3"
    done = _run(companion_command("simulate", str(script), "--json", "--db", str(db)), env, prefix)
    return [json.loads(line) for line in done.stdout.splitlines()]


def _text_sessions(tmp_path: Path, *setups: tuple[dict[str, str] | None, tuple[str, ...]]) -> list[list[str]]:
    """Whole typed sessions at --speed 200, one per (env, prefix), run side by side; the plain lines of each
    without their times (the clock is real)."""
    runs = [LiveRun(tmp_path / f"typed-{n}.sqlite3", speed=200, minutes=15, rate_after="4", env=env, prefix=prefix)
            for n, (env, prefix) in enumerate(setups)]
    outputs = []
    for run in runs:
        assert run.finish(timeout=60) == 0, run.stderr
        assert "Traceback" not in run.stderr, run.stderr
        outputs.append([re.sub(r"^\d{2,}:\d{2} ", "", line) for line in run.printed()])
    return outputs


def _kept(lines: list[str]) -> list[str]:
    """The lines that do not depend on how the wall clock's ticks fall: steps, answers, ratings and the end
    (without its duration)."""
    return [re.sub(r" duration=\S+", "", line) for line in lines
            if line.split(":", 1)[0] in ("step", "safety", "rating", "end", "intent")]


def test_the_blocker_blocks(tmp_path: Path, blocked: dict[str, str]) -> None:
    probe = "import urllib.request\ntry:\n    urllib.request.urlopen('http://127.0.0.1:9', timeout=1)\n" \
            "except OSError as exc:\n    print(exc)\n"
    done = _run([sys.executable, "-c", probe], blocked)
    assert "network blocked by test_no_network" in done.stdout
    assert Path(blocked["SOCKET_LOG"]).read_text().startswith("socket(")


def test_a_simulated_session_is_the_same_with_sockets_blocked(tmp_path: Path, blocked: dict[str, str]) -> None:
    free = _simulate(tmp_path)
    assert free == _simulate(tmp_path, blocked)
    assert Path(blocked["SOCKET_LOG"]).read_text() == ""
    assert {"step", "rating", "end", "plan"} <= {event["type"] for event in free}


def test_a_typed_session_is_the_same_with_sockets_blocked(tmp_path: Path, blocked: dict[str, str]) -> None:
    free, without = _text_sessions(tmp_path, (None, ()), (blocked, ()))
    assert _kept(without) == _kept(free)
    assert Path(blocked["SOCKET_LOG"]).read_text() == ""
    assert free[-1].startswith("end: reason=routine complete")


@pytest.mark.skipif(not _unshare_works(), reason="unshare -n needs root (or user namespaces) here")
def test_sessions_are_the_same_in_a_namespace_without_network(tmp_path: Path) -> None:
    isolated = (UNSHARE, "-n")
    assert _simulate(tmp_path, prefix=isolated) == _simulate(tmp_path)
    free, without = _text_sessions(tmp_path, (None, ()), (None, isolated))
    assert _kept(without) == _kept(free)


IMPORT_ALL = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    import companion
    names = [m.name for m in pkgutil.walk_packages(companion.__path__, "companion.") if m.name != "companion.__main__"]
    for name in names:
        importlib.import_module(name)
    print(len(names))
    """
)


def test_importing_every_module_opens_no_socket(tmp_path: Path, blocked: dict[str, str]) -> None:
    done = _run([sys.executable, "-c", IMPORT_ALL], blocked)
    assert int(done.stdout) >= 40
    assert Path(blocked["SOCKET_LOG"]).read_text() == ""
