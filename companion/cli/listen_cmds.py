"""`companion listen`: what the recogniser hears, from WAV files or live from the microphone."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import click

from companion.config import LANGS
from companion.errors import AudioDeviceError, UserError
from companion.speech.engines import ENGINES, open_recognizer
from companion.speech.recognizer import Recognition, Recognizer

BLOCK_BYTES = 640  # 20 ms at 16 kHz, as the microphone delivers it


@click.command("listen")
@click.option("--from-wav", "wavs", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Decode these WAV files (any rate/channels) instead of the microphone; repeatable.")
@click.argument("more_wavs", nargs=-1, type=click.Path(path_type=Path), metavar="[FILE]...")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="auto: the most accurate engine installed for the language (see README).")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--input-device", default=None, metavar="DEV", help="Microphone index or name (see: companion devices).")
def listen_command(
    wavs: tuple[Path, ...], more_wavs: tuple[Path, ...], engine: str, lang: str, as_json: bool, input_device: str | None
) -> None:
    """Print each recognised command: one line per WAV file, or live until Ctrl-C."""
    from companion.audio.capture import Microphone

    files = (*wavs, *more_wavs)
    device: int | str | None = int(input_device) if input_device and input_device.isdigit() else input_device
    if not files:
        with Microphone(device):  # a missing or unknown microphone is said before the model is loaded
            pass
    recognizer, description = open_recognizer(engine, lang)
    click.echo(description, err=True)
    if files:
        failed = sum(not _decode_file(recognizer, path, as_json) for path in files)
        if failed:
            raise click.exceptions.Exit(2)
    else:
        _listen_live(recognizer, device, as_json)


def decode_pcm(recognizer: Recognizer, pcm: bytes) -> list[Recognition]:
    """Every recognition in ``pcm``, fed as a microphone would (20 ms blocks), from a fresh stream."""
    recognizer.reset()
    out: list[Recognition] = []
    for i in range(0, len(pcm), BLOCK_BYTES):
        out.extend(recognizer.accept(pcm[i : i + BLOCK_BYTES]))
    out.extend(recognizer.flush())
    # An early (partial) safety detection counts, as in a session; its own final result does not again.
    kept: list[Recognition] = []
    for r in out:
        early = kept[-1] if kept and kept[-1].partial else None
        if not r.partial and early and early.intent and r.intent and early.intent.name == r.intent.name:
            continue
        kept.append(r)
    return kept


def best(recognitions: list[Recognition]) -> Recognition | None:
    """The file's answer: its first command, else the first thing heard, else None."""
    return next((r for r in recognitions if r.intent is not None), recognitions[0] if recognitions else None)


def _decode_file(recognizer: Recognizer, path: Path, as_json: bool) -> bool:
    from companion.speech.wav import read_wav

    try:
        pcm = read_wav(path)
    except UserError as exc:
        click.echo(f"companion: {exc}", err=True)
        if as_json:
            click.echo(json.dumps({"file": str(path), "error": str(exc)}, ensure_ascii=False))
        return False
    heard = best(decode_pcm(recognizer, pcm))
    if as_json:
        click.echo(json.dumps({"file": str(path), **_fields(heard)}, ensure_ascii=False))
    else:
        click.echo(f"{path}\t{_line(heard)}")
    return True


def _fields(heard: Recognition | None) -> dict:
    if heard is None:
        return {"t": None, "text": "", "intent": None, "confidence": 0.0}
    return {
        "t": heard.start,
        "text": heard.text,
        "intent": heard.intent.name if heard.intent else None,
        "confidence": heard.confidence,
    }


def _line(heard: Recognition | None) -> str:
    if heard is None:
        return "(nothing heard)"
    intent = heard.intent.name if heard.intent else "(not a command)"
    value = f"={heard.intent.value}" if heard.intent and heard.intent.value is not None else ""
    early = "  [early]" if heard.partial else ""
    return f"{heard.start:6.2f}s  {intent}{value}  {heard.confidence:.2f}  \"{heard.text}\"{early}"


def _listen_live(recognizer: Recognizer, device: int | str | None, as_json: bool) -> None:
    from companion.audio.capture import Microphone
    from companion.speech.listener import Listener

    lock = threading.Lock()

    def show(recognition: Recognition) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        with lock:
            if as_json:
                click.echo(json.dumps({"time": stamp, **_fields(recognition), "partial": recognition.partial},
                                      ensure_ascii=False))
            else:
                click.echo(f"{stamp}  {_line(recognition)}")
            sys.stdout.flush()

    def lost(exc: AudioDeviceError) -> None:
        click.echo(f"companion: {exc} (retrying every 2 s)", err=True)

    def back() -> None:
        click.echo("companion: microphone is back", err=True)

    click.echo("listening; press Ctrl-C to stop", err=True)
    listener = Listener(recognizer, lambda: Microphone(device), show, lost, back).start()
    try:
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()


commands = [listen_command]
