"""`companion config show|set|unset|path`: the defaults command-line options fall back to."""

from __future__ import annotations

import click

from companion.config import KEYS, config_path, load_config, set_value, unset_value


@click.group("config")
def config() -> None:
    """Your defaults: voice, engine, lang, devices, minutes, routine, client."""


@config.command("show")
def show() -> None:
    """Every setting and its value ('not set': the built-in default applies)."""
    current = load_config()
    for key in KEYS:
        value = getattr(current, key)
        click.echo(f"{key:14} {'not set' if value is None else value}")


@config.command("set")
@click.argument("key", metavar="KEY")
@click.argument("value", metavar="VALUE")
def set_command(key: str, value: str) -> None:
    """Set KEY to VALUE (checked first). Keys: voice, engine, lang, input_device, output_device, minutes,
    routine, client."""
    updated = set_value(key, value)
    name = key.replace("-", "_")
    click.echo(f"{name} = {getattr(updated, name)} (in {config_path()})")


@config.command("unset")
@click.argument("key", metavar="KEY")
def unset_command(key: str) -> None:
    """Remove KEY: the built-in default applies again."""
    unset_value(key)
    click.echo(f"{key.replace('-', '_')}: the built-in default applies")


@config.command("path")
def path() -> None:
    """Where the config file is (it may not exist yet)."""
    click.echo(str(config_path()))


commands = [config]
