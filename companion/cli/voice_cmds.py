"""`companion voices list|preview` and `companion say`: the voice profiles, heard or written to a WAV."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from companion.errors import UserError
from companion.speech.speaker import Speaker
from companion.speech.synth import Audio
from companion.exchange import write_private
from companion.speech.wav import to_pcm16, wav_bytes
from companion.speech.voices import (
    VoiceProfile, availability, configured_voice_name, list_voices, load_voice, voice_problems,
)

SAMPLE = "This is the {name} voice. Left foot, arch. Fingertip friction in small circles, light pressure."


@click.group("voices")
def voices() -> None:
    """Voice profiles: how the companion sounds."""


@voices.command("list")
def list_command() -> None:
    """Every voice profile: its engine and voice, and whether it can speak here (or what to install)."""
    for problem in voice_problems():
        click.echo(f"companion: warning: {problem} (this voice is left out until the file is fixed)", err=True)
    default = configured_voice_name()  # * marks the voice a session uses
    for profile in list_voices():
        reason = availability(profile)
        mark = "*" if profile.name == default else " "
        state = "available" if reason is None else f"unavailable: {reason}"
        click.echo(f"{mark} {profile.name:<12} {profile.engine:<8} {profile.voice:<18} {state}")
        if profile.description:
            click.echo(f"    {profile.description} ({profile.rate:g} wpm, pauses {profile.sentence_pause:g} s)")


@voices.command("preview")
@click.argument("name")
@click.option("--output-device", default=None, help="Speaker index or part of its name (see `companion devices`).")
def preview_command(name: str, output_device: str | None) -> None:
    """Speak a sample sentence with the voice profile NAME."""
    profile = _usable(load_voice(name))
    _speak(profile, SAMPLE.format(name=profile.name), output_device)


@click.command("say")
@click.argument("text")
@click.option("--voice", "voice_name", default=None,
              help="Voice profile (default: the config's voice, else calm-piper if installed, else calm).")
@click.option("--output-device", default=None, help="Speaker index or part of its name (see `companion devices`).")
@click.option("--to-wav", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the speech to this WAV file instead of playing it.")
def say_command(text: str, voice_name: str | None, output_device: str | None, to_wav: Path | None) -> None:
    """Speak TEXT with a voice profile, or write it to a WAV file."""
    if not text.strip():
        raise UserError("nothing to say; give the text in quotes, e.g. companion say \"Left foot, arch.\"")
    profile = _usable(load_voice(voice_name or configured_voice_name()))
    if to_wav is None:
        _speak(profile, text, output_device)
        return
    collector = _Collector()
    speaker = Speaker(profile, collector, on_error=collector.fail)
    speaker.say(text)
    speaker.wait()
    speaker.close()
    collector.write(to_wav)
    click.echo(f"wrote {to_wav} ({collector.audio().duration:.1f} s)")


def _usable(profile: VoiceProfile) -> VoiceProfile:
    reason = availability(profile)
    if reason is not None:
        raise UserError(f"voice {profile.name!r} cannot speak here: {reason}")
    return profile


def _speak(profile: VoiceProfile, text: str, output_device: str | None) -> None:
    from companion.audio.player import Player

    errors: list[Exception] = []
    with Player(device=output_device, on_error=errors.append) as player:
        speaker = Speaker(profile, player, on_error=errors.append)
        speaker.say(text)
        speaker.wait()
        speaker.close()
    if errors:
        raise errors[0] if isinstance(errors[0], UserError) else UserError(f"speech failed: {errors[0]}")


class _Collector:
    """A Player stand-in that keeps the clips in order instead of playing them."""

    def __init__(self) -> None:
        self._clips: list[Audio] = []
        self._error: Exception | None = None

    def play(self, samples: np.ndarray, rate: int, tag: str = "") -> None:
        self._clips.append(Audio(np.asarray(samples, np.float32), rate))

    def stop(self) -> None:
        """Nothing to cut: every clip counts as heard the moment it is given."""

    def is_playing(self) -> bool:
        return False

    def current_tag(self) -> str | None:
        return None

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def fail(self, exc: Exception) -> None:
        self._error = exc

    def audio(self) -> Audio:
        if self._error is not None:
            raise self._error if isinstance(self._error, UserError) else UserError(f"speech failed: {self._error}")
        if not self._clips:
            raise UserError("the voice produced no audio; try another with --voice")
        joined = self._clips[0]
        for clip in self._clips[1:]:
            joined = joined + clip
        return joined

    def write(self, path: Path) -> None:
        audio = self.audio()
        write_private(path, wav_bytes(to_pcm16(audio.samples), audio.rate), option="--to-wav")  # 0600, as every file


commands = [voices, say_command]
