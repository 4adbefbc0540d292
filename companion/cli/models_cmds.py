"""`companion models`: install speech models and list what is installed or installable."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from companion.errors import UserError
from companion.speech import models


@click.group("models")
def models_group() -> None:
    """Speech models: list them, install one."""


@models_group.command("list")
def list_models() -> None:
    """Installed models (name, language, engine, size, path), then the ones you can install."""
    installed = models.installed_models()
    click.echo("Installed:")
    for m in installed:
        click.echo(f"  {m.name:<20} {m.language:<3} {m.engine:<13} {_mb(m.size):>9}  {m.path}"
                   f"{'' if m.source == 'installed' else f'  ({m.source})'}")
    if not installed:
        click.echo("  none")
    present = {m.name for m in installed}
    installable = [s for s in models.CATALOGUE.values() if s.name not in present]
    click.echo("Installable (companion models install NAME):")
    for spec in installable:
        click.echo(f"  {spec.name:<20} {spec.language:<3} {spec.engine:<13} "
                   f"{_mb(spec.size) if spec.size else '':>9}  {spec.description}")
    if not installable:
        click.echo("  none")


@models_group.command("install")
@click.argument("name")
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Install from a zip you downloaded yourself (no network).")
@click.option("--url", help="Download the zip from this address instead of the catalogue's.")
def install_model(name: str, from_file: Path | None, url: str | None) -> None:
    """Download (or take from --from-file), check and install the model NAME."""
    if from_file is not None and url is not None:
        raise UserError("give either --from-file or --url, not both")
    found = models.model_path(name)
    if found is not None and from_file is None and url is None and models.catalogue_entry(name).url is None:
        click.echo(f"{name} is already installed in {found}")  # and there is nothing to download it from
        return
    reporter = _ProgressReporter(name)
    try:
        path = models.install(name, source_url=url, from_file=from_file, progress=reporter)
    finally:
        reporter.close()
    click.echo(f"installed {name} in {path}")


class _ProgressReporter:
    """Download progress on stderr: a bar on a terminal, otherwise a line at every 10 %."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar = None
        self.shown = 0  # bytes already shown on the bar, or the last 10 % step printed
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        if self.tty and total:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=f"downloading {self.name}",
                                             file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.shown)
            self.shown = done
        elif total:
            step = done * 10 // total
            if step > self.shown:
                self.shown = step
                click.echo(f"downloading {self.name}: {step * 10} % of {_mb(total)}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


commands = [models_group]
