"""The two-hour listening soak (slow tier, on demand): memory flat, no thread or file-descriptor leak."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.audio]
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "soak.py"


def test_listening_soak_keeps_memory_threads_and_files_flat(audio_bus):
    minutes = os.environ.get("COMPANION_SOAK_MINUTES", "120")
    done = subprocess.run([sys.executable, str(SCRIPT), "--minutes", minutes, "--every", "5"],
                          env={**os.environ, **audio_bus.env()}, capture_output=True, text=True,
                          timeout=float(minutes) * 60 + 600)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "RSS" in done.stdout.splitlines()[-1]
