"""`companion export`, `import`, `forget` and `rename`: a person's records out of, into, removed from the
database, and filed under another name."""

from __future__ import annotations

import shlex
import sys
from contextlib import suppress
from pathlib import Path

import click

from companion.config import load_config
from companion.errors import UserError
from companion.exchange import FORMATS, collect, export, import_sessions, read_export, write_private
from companion.paths import default_db
from companion.store import Store, client_key

_DB_OPTION = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Session database (default: $COMPANION_DB, else history.sqlite3 in the data folder).",
)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True,
              help="json (complete, can be imported again), csv (one row per event) or ratings (CSV: one row per "
                   "session and measure, before, after and change, to chart progress in a spreadsheet).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (readable by you only) instead of the screen.")
@click.option("--client", help="Only this client's sessions.")
@_DB_OPTION
def export_command(fmt: str, output: Path | None, client: str | None, db_path: Path | None) -> None:
    """Export sessions with their events and ratings."""
    path = db_path or default_db()
    if not path.exists():
        raise UserError(f"no sessions recorded yet ({path} does not exist)")
    with Store(path) as store:
        if client is not None:
            store.check_client(client)
        details = collect(store, client)
    text = export(details, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    write_private(output, text)
    click.echo(f"Exported {len(details)} session{'s' if len(details) != 1 else ''} to {output}.", err=True)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_DB_OPTION
def import_command(file: Path, db_path: Path | None) -> None:
    """Import sessions from FILE (made by companion export --format json; they get new ids), or the events
    a session saved in a rescue file (DB.unsaved-….jsonl) when its database could not be written."""
    sessions = read_export(file)
    result = import_sessions(db_path or default_db(), sessions)
    count = len(result.imported)
    message = f"Imported {count} session{'s' if count != 1 else ''}"
    if result.imported:
        message += f" (ids {result.imported[0]}–{result.imported[-1]})" if count > 1 else f" (id {result.imported[0]})"
    if result.skipped:
        message += f"; {result.skipped} already in the database, not imported again"
    click.echo(message + ".")


@click.command("forget")
@click.argument("client", metavar="CLIENT")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_DB_OPTION
def forget_command(client: str, yes: bool, db_path: Path | None) -> None:
    """Delete CLIENT and every session, event, rating and note about them, for good."""
    path = db_path or default_db()
    if not path.exists():
        raise UserError(f"no client named {client}: no sessions recorded yet ({path} does not exist)")
    with Store(path) as store:
        name, *also = store.check_client(client)
        spelt = f" (also spelt {', '.join(also)})" if also else ""
        what = f"{name}{spelt} and their {_sessions(len(store.sessions(client)))}"
        if not yes:
            _confirm(f"Delete {what} for good?", f"no terminal to confirm on; to delete {what} for good, add --yes",
                     "Nothing deleted.")
        deleted = store.forget(client)
    click.echo(f"Forgot {name}{spelt}: {_sessions(deleted)} deleted.")


@click.command("rename")
@click.argument("client", metavar="CLIENT")
@click.argument("new", metavar="NEW_NAME")
@click.option("--yes", is_flag=True, help="Merge without asking when NEW_NAME is another client.")
@_DB_OPTION
def rename_command(client: str, new: str, yes: bool, db_path: Path | None) -> None:
    """Give CLIENT the name NEW_NAME (every spelling of it); when NEW_NAME is another client, merge CLIENT
    into them: one history, and their next session carries over from the latest of both."""
    path = db_path or default_db()
    if not path.exists():
        raise UserError(f"no client named {client}: no sessions recorded yet ({path} does not exist)")
    with Store(path) as store:
        name = store.check_client(client)[0]
        others = [spelling for spelling in store.spellings(new) if client_key(spelling) != client_key(client)]
        if others and not yes:
            _confirm(f"Merge {name} ({_sessions(len(store.sessions(client)))}) into {others[0]} "
                     f"({_sessions(len(store.sessions(new)))})?",
                     f"{others[0]} is another client; to merge {name} into them, add --yes", "Nothing changed.")
        target, moved = store.rename_client(client, new)
    done = "Merged" if others else "Renamed"
    click.echo(f"{done} {name} {'into' if others else 'to'} {target}: {_sessions(moved)} moved.")
    with suppress(UserError):  # a broken config file is reported where it is used
        default = load_config().client
        if default is not None and client_key(default) == client_key(client):
            click.echo(f"The default client is still {default}; to change it: companion config set client "
                       f"{shlex.quote(target)}", err=True)


def _confirm(question: str, refused: str, declined: str) -> None:
    """Go on only when the person answers yes to ``question`` on their terminal. With none to ask on (input
    piped or closed): UserError ``refused``, which says to add --yes (exit 2); a "no" prints ``declined`` and
    exits 1, as click's own abort."""
    if not sys.stdin.isatty():
        raise UserError(refused)
    if not click.confirm(question):
        click.echo(declined, err=True)
        raise click.exceptions.Exit(1)


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


commands = [export_command, import_command, forget_command, rename_command]
