"""`companion voices list|preview` and `companion say`, as a user runs them."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from companion.cli import main


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))


def run(*args: str):
    return CliRunner().invoke(main, list(args), standalone_mode=False, catch_exceptions=True)


def test_voices_list_shows_every_profile_and_whether_it_can_speak() -> None:
    result = run("voices", "list")
    assert result.exit_code == 0, result.output
    rows = {line[2:].split()[0]: line for line in result.output.splitlines() if not line.startswith("    ")}
    assert {"calm", "clear", "brisk", "calm-piper"} <= set(rows)
    for name in ("calm", "clear", "brisk"):
        assert rows[name].split()[-1] == "available" and "pyttsx3" in rows[name]
    assert "en_US-joe-medium" in rows["calm-piper"]


def test_voices_list_says_how_to_get_piper(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a))
    result = run("voices", "list")
    line = next(line for line in result.output.splitlines() if "calm-piper" in line)
    assert "unavailable: Piper is not installed; pip install companion[piper]" in line
    assert next(line for line in result.output.splitlines() if " calm " in line).startswith("*")


def test_voices_list_marks_the_configured_voice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.toml").write_text('voice = "clear"\n')
    marked = [line.split()[1] for line in run("voices", "list").output.splitlines() if line.startswith("*")]
    assert marked == ["clear"]


def test_say_to_wav_writes_the_speech(tmp_path: Path) -> None:
    out = tmp_path / "arch.wav"
    result = run("say", "Left foot, arch. Small circles.", "--voice", "brisk", "--to-wav", str(out))
    assert result.exit_code == 0, result.output
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768
    assert 1.5 < len(samples) / 22050 < 5 and np.abs(samples).max() > 0.5
    assert "wrote" in result.output
    assert out.stat().st_mode & 0o777 == 0o600  # like every file companion writes


@pytest.mark.skipif(importlib.util.find_spec("piper") is None, reason="Piper is not installed")
def test_say_to_wav_with_piper(tmp_path: Path) -> None:
    out = tmp_path / "joe.wav"
    assert run("say", "Pause.", "--voice", "calm-piper", "--to-wav", str(out)).exit_code == 0
    assert out.stat().st_size > 10_000


def test_errors_are_one_line_with_what_to_do(tmp_path: Path) -> None:
    env = {**os.environ, "COMPANION_CONFIG_DIR": str(tmp_path), "COMPANION_CACHE_DIR": str(tmp_path)}
    cases = [
        (["say", "Hello", "--voice", "nope", "--to-wav", str(tmp_path / "x.wav")], "unknown voice profile 'nope'"),
        (["say", "Hello", "--voice", "calm", "--to-wav", str(tmp_path / "no" / "x.wav")], "choose another file with --to-wav"),
        (["voices", "preview", "nope"], "unknown voice profile 'nope'; known: brisk, calm"),
        (["say", " ", "--to-wav", str(tmp_path / "x.wav")], "nothing to say"),
    ]
    for args, message in cases:
        done = subprocess.run([sys.executable, "-m", "companion", *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == "" and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


@pytest.mark.audio
def test_preview_and_say_play_through_the_speaker(audio_bus) -> None:
    from audio_bus import Recorder, sound_bounds

    with Recorder() as recorder:
        assert run("say", "Left foot, arch.", "--voice", "brisk").exit_code == 0
        heard = recorder.stop()
    start, end = sound_bounds(heard)
    assert 0.5 < (end - start) / 16000 < 3
    assert run("voices", "preview", "clear").exit_code == 0
