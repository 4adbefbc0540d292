"""The command line: click commands only; each module of this package owns a group of commands."""

from __future__ import annotations

import importlib
import os
import sys

import click

from companion import __version__

# Each module defines ``commands``: a list of click commands added to the top-level group.
MODULES = ("session_cmds", "store_cmds", "audio_cmds", "models_cmds", "doctor_cmds", "voice_cmds", "listen_cmds",
           "config_cmds", "data_cmds")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="companion")
def main() -> None:
    """Offline, voice-guided foot massage for circulation."""


for _name in MODULES:
    for _command in importlib.import_module(f"companion.cli.{_name}").commands:
        main.add_command(_command)


def entry() -> None:
    """The `companion` command: ``run``, then, when audio was used, leave without PortAudio's teardown at
    interpreter exit: it can hang on a PulseAudio stream (4 runs in 6 after a wrong --input-device) or abort
    after a lost device. Everything is recorded and closed by then."""
    try:
        run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    if "sounddevice" in sys.modules:
        os._exit(code)
    raise SystemExit(code)


def run() -> None:
    """The command line: a UserError becomes one line on stderr and its exit code, never a traceback."""
    raise SystemExit(_main())


def _main() -> int:
    from companion.errors import UserError

    try:
        code = main(standalone_mode=False, prog_name="companion")
    except UserError as exc:
        click.echo(f"companion: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        click.echo("companion: aborted", err=True)
        raise SystemExit(130) from None
    except click.exceptions.NoArgsIsHelpError as exc:  # `companion` alone: its help, as asked for
        click.echo(exc.format_message())
        return 0
    except click.UsageError as exc:  # click's own is four lines: usage, a hint, a blank line, the error
        where = exc.ctx.command_path if exc.ctx is not None else _command_path(sys.argv[1:])
        click.echo(f"{where}: {exc.format_message()} (see: {where} --help)", err=True)
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        click.echo(f"companion: {exc.format_message()}", err=True)
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    return code if isinstance(code, int) else 0


def _command_path(args: list[str]) -> str:
    """"companion history" for ``history --client``: the commands named before the mistake (click gives no
    context for a mistake in an option's value)."""
    names, command = ["companion"], main
    for arg in args:
        if not isinstance(command, click.Group) or arg not in command.commands:
            break
        names.append(arg)
        command = command.commands[arg]
    return " ".join(names)
