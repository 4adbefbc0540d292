"""The session screen: what is being done now, how far along it is, and what was last heard and said.

A Sink for the runner (``screen(t, action)``). The picture is drawn from the engine's own state on every
refresh (a rich Live with a get-renderable), so timers move between events; the actions only tell it
what was heard and said. Big, bold text in the terminal's own colours (no fixed backgrounds), so it
reads from a massage table on dark and light terminals alike. On a pipe or a dumb terminal use the
plain output instead: see ``Screen.supported``.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from companion.session.engine import Engine
from companion.session.events import Action, Record, Say

MIN_WIDTH = 40
LABEL_WIDTH = len("Technique")
STAGE_TITLES = {"opening": "Safety check and first ratings", "closing": "Final ratings", "ended": "Session ended"}


class Screen:
    """Shows a running session; call it with every action, and ``close()`` at the end."""

    def __init__(self, engine: Engine, console: Console | None = None, refresh_per_second: float = 4) -> None:
        self.engine = engine
        self.console = console or Console()
        self.heard: str | None = None  # the words of the last "intent" record
        self.did: str | None = None  # what that did: the Say that followed it, or "not used here"
        self.said: str | None = None  # the last thing said
        self._waiting_for_effect = False
        self._live = Live(console=self.console, get_renderable=self.render, refresh_per_second=refresh_per_second,
                          redirect_stdout=False, redirect_stderr=False)
        self._started = False

    @staticmethod
    def supported(console: Console | None = None) -> bool:
        """Whether this console can show a live screen (a real terminal, wide enough); else use plain lines."""
        console = console or Console()
        return console.is_terminal and not console.is_dumb_terminal and console.width >= MIN_WIDTH

    def __call__(self, t: float, action: Action) -> None:
        if isinstance(action, Record) and action.type == "intent":
            data = action.data
            self.heard = str(data.get("text") or data.get("intent") or "?")
            self.did = "not used here" if data.get("ignored") else None
            self._waiting_for_effect = not data.get("ignored")
        elif isinstance(action, Say):
            self.said = action.text
            if self._waiting_for_effect:
                self.did, self._waiting_for_effect = action.text, False
        if not self._started:
            self._live.start()
            self._started = True
        else:
            self._live.refresh()

    def close(self) -> None:
        """Draw the last state and stop refreshing (safe to call twice, or before anything was shown)."""
        if self._started:
            self._live.stop()
            self._started = False

    # -- drawing ---------------------------------------------------------------------------------

    def render(self) -> RenderableType:
        engine = self.engine
        title = Text(engine.routine.title, style="bold")
        return Panel(Group(*self._status(), self._where(), Text(""), self._progress(), Text(""), self._talk()),
                     title=title, title_align="left", border_style="cyan", padding=(0, 1))

    def _status(self) -> list[RenderableType]:
        engine = self.engine
        lines: list[RenderableType] = []
        if engine.paused:
            lines.append(Text(f"PAUSED: {engine.paused}. Say resume.", style="bold yellow"))
        if engine.stage == "ended":
            lines.append(Text(f"Session ended: {engine.end_reason or 'done'}.", style="bold green"))
        elif engine.asking is not None:
            lines.append(Text(f"Question: {engine.asking.text}", style="bold magenta"))
        return lines

    def _where(self) -> RenderableType:
        engine = self.engine
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True, min_width=LABEL_WIDTH)
        grid.add_column(style="bold")
        planned = engine.current
        if planned is None:
            grid.add_row("Phase", Text(STAGE_TITLES.get(engine.stage, engine.stage)))
            return grid
        step = planned.step
        feet = "both feet" if step.foot == "both" else f"{step.foot} foot"
        rows = {
            "Phase": engine.routine.phases.get(step.phase, step.phase.capitalize()),
            "Foot": feet,
            "Area": "whole foot" if step.area == "whole" else step.area,
            "Technique": step.technique,
            "Pressure": "no pressure" if planned.pressure == "none" else planned.pressure,
        }
        for label, value in rows.items():
            grid.add_row(label, Text(value))  # Text: words from a routine file are not markup
        return grid

    def _progress(self) -> RenderableType:
        engine = self.engine
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True, min_width=LABEL_WIDTH)
        grid.add_column(ratio=1)
        grid.add_column(style="bold", no_wrap=True, justify="right")
        planned = engine.current
        if planned is not None:
            elapsed = min(engine.elapsed, planned.duration)
            grid.add_row("Step", ProgressBar(total=max(planned.duration, 1.0), completed=elapsed),
                         f"{_clock(elapsed)} of {_clock(planned.duration)}")
        done, left = self._session_times()
        grid.add_row("Session", ProgressBar(total=max(done + left, 1.0), completed=done), f"{_clock(left)} left")
        return grid

    def _session_times(self) -> tuple[float, float]:
        """Massage time done and still planned (steps left out count as neither)."""
        engine = self.engine
        left = engine.remaining_seconds()
        if engine.stage == "opening":
            return 0.0, left
        if engine.stage != "steps":
            return 1.0, 0.0
        done = sum(p.duration for p in engine.plan[: engine.index] if p.active) + engine.elapsed
        return done, left

    def _talk(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True, min_width=LABEL_WIDTH)
        grid.add_column()
        if self.heard is not None:
            heard = Text(f"“{self.heard}”", style="bold")
            if self.did:
                heard.append(f" → {self.did}", style="")
            grid.add_row("Heard", heard)
        grid.add_row("Said", Text(self.said or "…"))
        return grid


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"
