"""What the person said, as the engine sees it."""

from __future__ import annotations

from dataclasses import dataclass, replace


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

    def with_other_foot(self, foot: str | None) -> Intent:
        """This intent with "the other foot" made the foot that is not ``foot`` (the one being massaged), or
        unknown (None) while no single foot is."""
        other = {"left": "right", "right": "left"}.get(foot or "")

        def resolved(said: str | None) -> str | None:
            return other if said == "other" else said

        return replace(self, value=resolved(self.value) if self.name == "foot" else self.value,  # type: ignore[arg-type]
                       foot=resolved(self.foot), others=tuple((resolved(f), a) for f, a in self.others))
