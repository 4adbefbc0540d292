"""`companion doctor`: each check on this machine, each failure with its fix, and the exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from companion.cli import doctor_cmds as doctor
from companion.speech import models
from fixtures.model_archives import fake_vosk_zip, fixture_spec

@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COMPANION_DB", raising=False)
    return tmp_path / "data"


def doctor_process(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion", "doctor"], capture_output=True,
                          text=True, env={**os.environ, "PYTHONIOENCODING": "utf-8", **env},
                          timeout=120)


def line_of(output: str, label: str) -> str:
    return next(line for line in output.splitlines() if label in line)


# --- each check, on this machine and broken ---------------------------------------------------------


@pytest.mark.parametrize("module", ["pyttsx3", "pocketsphinx", "vosk"])
def test_installed_packages_pass(module):
    check = doctor.check_package(module, "pip install " + module)
    assert check.ok and check.detail  # the version


def test_missing_package_fails_with_its_fix():
    check = doctor.check_package("no_such_module_xyz", "pip install no-such-module")
    assert not check.ok and check.fix == "pip install no-such-module"
    assert "no_such_module_xyz" in check.detail


def test_sounddevice_and_portaudio_load():
    check = doctor.check_sounddevice()
    assert check.ok and "PortAudio" in check.detail


def test_espeak_present(monkeypatch):
    assert doctor.check_espeak().ok
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    check = doctor.check_espeak()
    assert not check.ok and check.fix == "sudo apt-get install espeak-ng"


def test_pyttsx3_speaks_a_word():
    check = doctor.check_speech_synthesis()
    assert check.ok, check.fix
    assert "22050 Hz" in check.detail


def test_pocketsphinx_model_present(monkeypatch):
    assert doctor.check_pocketsphinx_model().ok
    monkeypatch.setattr(models, "model_path", lambda name: None)
    check = doctor.check_pocketsphinx_model()
    assert not check.ok and "pocketsphinx" in check.fix


def test_whisper_loads_and_a_bad_model_directory_is_an_optional_failure_with_its_fix(monkeypatch, tmp_path):
    check = doctor.check_whisper()
    assert check.ok and not check.essential and check.detail  # the model's directory
    monkeypatch.setenv("COMPANION_WHISPER_MODEL", str(tmp_path))  # empty: no model.bin
    check = doctor.check_whisper()
    assert not check.ok and not check.essential and "COMPANION_WHISPER_MODEL" in check.fix


def test_the_default_voice_can_speak_or_says_how_to_fix_it(monkeypatch):
    from companion.speech import synth

    assert doctor.check_default_voice().ok
    monkeypatch.setattr(synth, "unavailable_reason", lambda engine, voice: "pip install piper-tts")
    check = doctor.check_default_voice()
    assert not check.ok and check.essential and check.fix == "pip install piper-tts"


def test_no_vosk_model_is_an_optional_failure(monkeypatch):
    monkeypatch.setattr(models, "installed_models", lambda: [])
    check = doctor.check_vosk_models()
    assert not check.ok and not check.essential
    assert "companion models install vosk-en-small" in check.fix


def test_vosk_models_are_listed_with_their_languages(monkeypatch, tmp_path):
    monkeypatch.setitem(models.CATALOGUE, "test-vosk", fixture_spec())
    archive = tmp_path / "m.zip"
    archive.write_bytes(fake_vosk_zip())
    models.install("test-vosk", from_file=archive)

    check = doctor.check_vosk_models()

    assert check.ok and "test-vosk (en)" in check.detail


def test_database_directory_writable(data_dir):
    check = doctor.check_database_dir()
    assert check.ok and check.detail == f"{data_dir / 'history.sqlite3'} (made at the first session)"


def test_a_damaged_or_foreign_database_fails(monkeypatch, tmp_path):
    """doctor said "✓ database directory writable" for a database every other command refused."""
    from companion.store import Store

    good = tmp_path / "good.sqlite3"
    with Store(good) as store:
        store.begin_session("me", "foot-circulation", 20)
    monkeypatch.setenv("COMPANION_DB", str(good))
    assert doctor.check_database_dir().detail == f"{good}, 1 session"
    for name, content in (("damaged.sqlite3", b"SQLite format 3\x00" + b"\xff" * 200), ("notes.sqlite3", b"buy arnica\n")):
        bad = tmp_path / name
        bad.write_bytes(content)
        monkeypatch.setenv("COMPANION_DB", str(bad))
        check = doctor.check_database_dir()
        assert not check.ok and check.essential and check.fix, name


def test_the_configured_voice_is_the_one_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('voice = "clear"\n')
    check = doctor.check_default_voice()
    assert check.ok and check.label == "the voice 'clear' (from your config)"


def test_database_directory_not_writable(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("COMPANION_DB", str(blocker / "db" / "history.sqlite3"))
    check = doctor.check_database_dir()
    assert not check.ok and check.essential and "COMPANION_DB" in check.fix


def test_a_crashing_check_is_reported_not_raised(monkeypatch):
    def check_explodes() -> doctor.Check:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "CHECKS", (check_explodes, doctor.check_database_dir))
    results = doctor.run_checks()
    assert [r.ok for r in results] == [False, True]
    assert results[0].label == "check_explodes" and "boom" in results[0].detail


def test_format_shows_mark_detail_and_fix():
    bad = doctor.Check("speaker", False, "none found", "start the audio server")
    assert doctor.format_check(bad) == "✗ speaker: none found — fix: start the audio server"
    assert doctor.format_check(bad, ascii_only=True) == "NO  speaker: none found - fix: start the audio server"
    good = doctor.Check("vosk models", True, "vosk-ko (ko)", essential=False)
    assert doctor.format_check(good) == "✓ vosk models (optional): vosk-ko (ko)"


# --- the command ------------------------------------------------------------------------------------


def test_without_audio_server_doctor_says_how_to_start_one_and_fails(tmp_path, data_dir):
    client_conf = tmp_path / "client.conf"
    client_conf.write_text("autospawn = no\n")
    done = doctor_process({"PULSE_SERVER": f"unix:{tmp_path}/no-such-socket",
                           "PULSE_CLIENTCONFIG": str(client_conf), "COMPANION_DATA_DIR": str(data_dir)})

    assert done.returncode == 1, done.stdout + done.stderr
    assert line_of(done.stdout, "microphone").startswith("✗")
    assert "start the audio server" in line_of(done.stdout, "microphone")
    assert line_of(done.stdout, "speaker").startswith("✗")
    assert line_of(done.stdout, "pyttsx3 speaks").startswith("✓")
    assert done.stdout.splitlines()[-1].startswith("2 essential checks failed: ")
    assert "Traceback" not in done.stderr


@pytest.mark.audio
def test_with_the_audio_bus_every_essential_check_passes(audio_bus, data_dir):
    done = doctor_process({**audio_bus.env(), "COMPANION_DATA_DIR": str(data_dir)})

    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("microphone", "speaker", "audio server", "pocketsphinx English model"):
        assert line_of(done.stdout, label).startswith("✓"), done.stdout
    assert done.stdout.splitlines()[-1] == "ready: every essential check passed"


@pytest.mark.parametrize(("failing", "said"), [(1, "1 essential check failed"), (3, "3 essential checks failed")])
def test_the_count_of_failed_checks_reads_as_words(monkeypatch, failing, said):
    from click.testing import CliRunner

    from companion.cli import main

    checks = [doctor.Check(f"check {n}", False, "broken") for n in range(failing)]
    monkeypatch.setattr(doctor, "run_checks", lambda: checks)
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"{said}: apply the fixes above, then run companion doctor again"
