"""What the person said, as the engine sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    """A recognised intent. ``value`` carries numbers, feet and areas; ``foot``/``area`` are optional
    slots found in the same utterance ("pain in my left heel")."""

    name: str
    text: str = ""
    value: int | str | None = None
    foot: str | None = None
    area: str | None = None
    # Pain heard in full after its first words were delivered early ("pain in my left | heel"): the spot
    # it names belongs to that report, it is no new one.
    refines: bool = False
    # Further spots named with it, in order ("yes, my left heel and my right arch": (("right", "arch"),)).
    others: tuple[tuple[str | None, str | None], ...] = ()
