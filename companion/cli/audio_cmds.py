"""`companion devices`: the microphones and speakers companion can use, defaults marked."""

from __future__ import annotations

import click

from companion.audio import devices


@click.command("devices")
def devices_command() -> None:
    """List input (microphone) and output (speaker) devices; * marks the default."""
    for kind, title in (("input", "Microphones (--input-device)"), ("output", "Speakers (--output-device)")):
        found = devices.devices_of(kind)
        if not found:
            devices.resolve(kind, None)  # raises the one-line fix: no devices, or none of this kind
        default = devices.default_index(kind)
        click.echo(f"{title}:")
        for device in found:
            mark = "*" if device.index == default else " "
            click.echo(
                f"  {mark} {device.index:>3}  {device.name}  "
                f"({device.channels(kind)} ch, {device.default_rate} Hz)"
            )


commands = [devices_command]
