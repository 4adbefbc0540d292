"""``companion session``, ``simulate`` and ``routines``."""

from __future__ import annotations

import queue
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from companion import paths
from companion.config import ENGINES
from companion.errors import UserError
from companion.plan.loader import load_routine, load_routine_file, routine_names
from companion.plan.model import Routine
from companion.plan.scale import minutes_range, scale_steps
from companion.session import wording

if TYPE_CHECKING:
    from companion.runner import Sink
    from companion.session.engine import Engine

Command = TypeVar("Command", bound=Callable[..., Any])  # what an option decorator is given and gives back


def configured(**given: Any) -> list[Any]:
    """Each option the person did not give on the command line falls back to the config file
    (companion config), then to the built-in default. Returns the values in the order given."""
    from companion.config import load_config

    context = click.get_current_context()
    config = load_config()
    values = []
    for name, value in given.items():
        from_file = getattr(config, name)
        if context.get_parameter_source(name) == ParameterSource.DEFAULT and from_file is not None:
            value = from_file
        values.append(value)
    return values


def check_configured_minutes(routine: Routine, minutes: int | None) -> None:
    """A length from the config file that ``routine`` cannot run is refused saying where it came from and how
    to change it (scale_steps would point at --minutes, which the person did not give)."""
    if minutes is None or click.get_current_context().get_parameter_source("minutes") != ParameterSource.DEFAULT:
        return
    low, high = minutes_range(routine)
    if not low <= minutes <= high:
        raise UserError(f"routine '{routine.name}' can be from {low} to {high} minutes long, not {minutes} "
                        "(minutes in the config file: companion config unset minutes, or choose --minutes from "
                        f"{low} to {high})")


def from_config(builtin: str) -> str:
    """How --help names the default of an option the config file can set (see ``configured``)."""
    return f"default: from companion config, else {builtin}"


def routine_option(f: Command) -> Command:
    return click.option("--routine", "routine", default="foot-circulation",
                        help=f"Routine name (see: companion routines list) or a .toml file; "
                             f"{from_config('foot-circulation')}.")(f)


def minutes_option(f: Command) -> Command:
    return click.option("--minutes", type=int, default=None,
                        help=f"Session length for both feet in minutes; {from_config('the routine length')} "
                             "(foot-circulation: 20, it can run 15 to 30).")(f)


def client_option(f: Command) -> Command:
    return click.option("--client", default="me", callback=_client_name,
                        help=f"Whose session this is; {from_config('me')}.")(f)


def _client_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """"Anna " is Anna: a stray space must not start a new client's history."""
    if not value.strip():
        raise click.BadParameter("give a name, e.g. --client Anna")
    return " ".join(value.split())


def db_option(f: Command) -> Command:
    return click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Session database (default: $COMPANION_DB or the user data directory).")(f)


def cleared_option(f: Command) -> Command:
    return click.option("--cleared-by-physician", is_flag=True,
                        help="A physician has cleared massage despite a contraindication: start, with light pressure.")(f)


@click.command()
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@routine_option
@minutes_option
@client_option
@cleared_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event on stdout.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also store the simulated session in this database.")
def simulate(script: Path, routine: str, minutes: int | None, client: str, cleared_by_physician: bool, as_json: bool,
             db: Path | None) -> None:
    """Run a session in simulated time from SCRIPT (lines 'MM:SS words' and '> answer')."""
    from companion.runner import JsonSink, PlainSink, Session, StoreSink, build_engine, simulate as run
    from companion.script import load_script
    from companion.speech.phrases import load_phrases
    from companion.store import Store

    routine, minutes, client = configured(routine=routine, minutes=minutes, client=client)
    check_configured_minutes(load_routine(routine), minutes)
    parsed = load_script(script)
    with Store(db) if db is not None else nullcontext() as store:
        profile = store.profile(client) if store is not None else None
        engine = build_engine(routine, minutes, profile, cleared_by_physician, recorded=store is not None)
        sinks = [JsonSink(sys.stdout) if as_json else PlainSink(sys.stdout)]
        if store is not None:
            sinks.append(StoreSink(store, store.begin_session(client, engine.routine.name, engine.options.minutes)))
        run(Session(engine, sinks), parsed, load_phrases("en"))


@click.command()
@routine_option
@minutes_option
@client_option
@db_option
@cleared_option
@click.option("--engine", type=click.Choice(ENGINES), default="auto",
              help=f"Listening engine; text = type commands (same as --text); {from_config('auto')}.")
@click.option("--lang", default="en", help=f"Language of the spoken commands (en, ko); {from_config('en')}.")
@click.option("--voice", default=None, help="Voice profile (see: companion voices list); "
                                            f"{from_config('calm-piper when Piper is installed, else calm')}.")
@click.option("--input-device", default=None, help="Microphone: index or part of its name (see: companion "
                                                   f"devices); {from_config('the system default')}.")
@click.option("--output-device", default=None, help="Speaker: index or part of its name (see: companion devices); "
                                                    f"{from_config('the system default')}.")
@click.option("--text", is_flag=True, help="Type commands and read the companion instead of speaking and listening.")
@click.option("--plain", is_flag=True, help="One plain line per recorded event (screen readers, logs).")
@click.option("--said-only", is_flag=True,
              help="Print only what the companion says, one plain line each (screen readers).")
@click.option("--speed", type=click.FloatRange(0.1, 1000), default=1.0, show_default=True,
              help="Run the session clock this many times faster (tests, demos).")
@click.option("--show-heard", is_flag=True,
              help="Print each utterance heard and what came of it on stderr (why a command was missed or obeyed).")
def session(routine: str, minutes: int | None, client: str, db: Path | None, cleared_by_physician: bool, engine: str,
            lang: str, voice: str | None, input_device: str | None, output_device: str | None, text: bool,
            plain: bool, said_only: bool, speed: float, show_heard: bool) -> None:
    """Run a guided session by voice (or typed, with --text). Say "help" at any time."""
    from companion import live
    from companion.runner import PlainSink, build_engine

    routine, minutes, client, engine, lang, voice, input_device, output_device = configured(
        routine=routine, minutes=minutes, client=client, engine=engine, lang=lang, voice=voice,
        input_device=input_device, output_device=output_device)
    check_configured_minutes(load_routine(routine), minutes)
    build_engine(routine, minutes)  # a mistake in the routine or its length is said before anything is opened
    if voice is not None:
        from companion.speech.voices import load_voice

        load_voice(voice)  # an unknown voice is the same mistake in a typed session, which does not speak
    typed = text or engine == "text"
    if typed and show_heard:
        click.echo("companion: --show-heard has no effect in a typed session: nothing is heard", err=True)
    options = live.LiveOptions(routine=routine, minutes=minutes, client=client, db=db,
                               cleared_by_physician=cleared_by_physician, speed=speed, lang=lang)

    def warn(line: str) -> None:
        click.echo(line, err=True)

    def outputs(session_engine: Engine) -> list[Sink]:
        from companion.screen import Screen

        if said_only or plain or typed or not Screen.supported():  # typed lines would scroll a screen
            return [PlainSink(sys.stdout, said_only=said_only)]
        return [Screen(session_engine)]

    def keyboard(inbox: queue.SimpleQueue, only_input: bool = False) -> Callable[[], None]:
        live.read_lines(sys.stdin, inbox, only_input)
        return lambda: None

    if typed:
        live.run(options, outputs, lambda inbox: keyboard(inbox, only_input=True), warn)
        return
    from companion.voice import PaceSink, VoiceIO

    voice_io = VoiceIO(engine=engine, lang=lang, voice=voice, input_device=input_device, output_device=output_device,
                       announce=warn, show_heard=warn if show_heard else None)

    def voice_and_keyboard(inbox: queue.SimpleQueue) -> Callable[[], None]:
        """Typed commands work in a voice session too."""
        keyboard(inbox)
        return voice_io.start(inbox)

    def voice_outputs(session_engine: Engine) -> list[Sink]:  # the announcements fit the steps at the voice's pace
        return [*voice_io.sinks, PaceSink(session_engine, voice_io.speaker, speed), *outputs(session_engine)]

    live.run(options, voice_outputs, voice_and_keyboard, warn)


@click.group()
def routines() -> None:
    """List, show and check routines."""


@routines.command("list")
def routines_list() -> None:
    """The routines you can choose with --routine; a broken file is left out with a warning."""
    for name in routine_names():
        try:
            routine = load_routine(name)
        except UserError as exc:
            click.echo(f"companion: warning: {exc} (this routine is left out until the file is fixed)", err=True)
            continue
        click.echo(f"{name:24} {routine.minutes:3d} min  {len(routine.steps):2d} steps  {routine.title}")
    click.echo(f"(your own routines go in {paths.config_dir() / 'routines'})")


@routines.command("show")
@click.argument("name")
@minutes_option
def routines_show(name: str, minutes: int | None) -> None:
    """Every step of a routine, timed for --minutes (default: minutes in companion config, else its own length)."""
    routine = load_routine(name)
    (minutes,) = configured(minutes=minutes)
    check_configured_minutes(routine, minutes)
    minutes = routine.minutes if minutes is None else minutes
    steps = scale_steps(routine, minutes)
    click.echo(f"{routine.title} ({routine.name}), {minutes} minutes")
    if routine.source:
        click.echo(f"From: {routine.source}")
    click.echo("Measures: " + ", ".join(f"{m.label} (1 {m.low} .. 5 {m.high})" for m in routine.measures))
    places = [wording.place(step.foot, step.area) for step in steps]
    # each column as wide as its longest entry: "left foot, ball of the foot" pushed the rest along
    ids, wide, pressures = (max(map(len, column)) for column in ([s.id for s in steps], places,
                                                                 [s.pressure for s in steps]))
    t = 0.0
    for step, place in zip(steps, places):
        flags = [f for f, on in (("optional", step.optional), ("focused", step.focused),
                                  ("not with swelling", step.needs_no_swelling),
                                  ("again on resume", step.redo_on_resume)) if on]
        click.echo(f"{int(t // 60):02d}:{int(t % 60):02d}  {step.id:{ids}}  {place:{wide}}  {step.pressure:{pressures}}  "
                   f"{int(step.duration):4d}s  {step.technique}" + (f"  [{', '.join(flags)}]" if flags else ""))
        t += step.duration


@routines.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def routines_validate(file: Path) -> None:
    """Check a routine file; errors are printed as FILE:LINE: problem (exit code 2)."""
    routine = load_routine_file(file)
    scale_steps(routine, routine.minutes)
    click.echo(f"{file}: ok ({len(routine.steps)} steps, {routine.minutes} minutes)")


@click.command()
@click.option("--lang", default="en", show_default=True, help="Language of the phrase table.")
def phrases(lang: str) -> None:
    """What you can say: every voice command and its phrasings (from the language's phrase table)."""
    from companion.speech.phrases import load_phrases

    table = load_phrases(lang)
    for intent in table.intents():
        marker = "  (heard even while the companion speaks)" if intent in table.safety else ""
        click.echo(f"{intent:14} {' | '.join(table.phrases_for(intent))}{marker}")


commands = [session, simulate, routines, phrases]
