"""What carries over from one session to the next for a client: sore areas, pressure preferences and how
the last session ended (its ratings after the massage)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Profile:
    client: str = "me"
    sensitive: set[tuple[str, str]] = field(default_factory=set)  # (foot, area) sore last time
    pressure: dict[tuple[str, str], str] = field(default_factory=dict)  # (foot, area) -> light|medium|firm
    last_after: dict[str, int] = field(default_factory=dict)  # measure -> rating after the last rated session
