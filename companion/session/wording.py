"""What the companion says, in English: numbers and durations said naturally, step announcements."""

from __future__ import annotations

from companion.plan.model import Step

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0..999 in words: 45 -> "forty-five"."""
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


def ordinal_words(n: int) -> str:
    """1..999 as a place in a row: 3 -> "third", 21 -> "twenty-first", 40 -> "fortieth"."""
    words = number_words(n)
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    irregular = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                 "nine": "ninth", "twelve": "twelfth"}
    if last in irregular:
        return head + irregular[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def duration_words(seconds: float) -> str:
    """A duration as a person says it: "thirty seconds", "one minute", "one and a half minutes",
    "two minutes and fifteen seconds"."""
    s = int(round(seconds / 5.0) * 5) if seconds >= 10 else int(round(seconds))
    minutes, rest = divmod(s, 60)
    if minutes == 0:
        return f"{number_words(rest)} second{'s' if rest != 1 else ''}"
    if rest == 0:
        return f"{number_words(minutes)} minute{'s' if minutes != 1 else ''}"
    if rest == 30:
        return f"{number_words(minutes)} and a half minutes"
    return f"{number_words(minutes)} minute{'s' if minutes != 1 else ''} and {number_words(rest)} seconds"


def approx_minutes(seconds: float) -> str:
    """Rough time left in a session: "about twelve minutes", "less than a minute"."""
    if seconds < 60:
        return "less than a minute"
    return f"about {duration_words(60 * round(seconds / 60))}"


def place(foot: str, area: str) -> str:
    """Where the work is: "left foot, heel", "both feet", "right foot"."""
    feet = "both feet" if foot == "both" else f"{foot} foot"
    return feet if area == "whole" else f"{feet}, {area_name(area)}"


def area_name(area: str) -> str:
    """"heel", "ball of the foot"."""
    return {"ball": "ball of the foot", "top": "top of the foot"}.get(area, area)


def feet_of(feet: set[str]) -> str:
    """The feet a routine works on, from its steps' feet: "your left foot", "both feet"."""
    return f"your {next(iter(feet))} foot" if len(feet) == 1 and feet <= {"left", "right"} else "both feet"


def spot(foot: str, area: str) -> str:
    """A spot as part of a sentence: "your left heel", "the ball of your left foot", "the arch of each foot",
    "both feet"."""
    feet = "both feet" if foot == "both" else f"your {foot} foot"
    if area == "whole":
        return feet
    if foot == "both":
        return f"the {area} of each foot"
    return f"your {foot} {area}" if area in ("toes", "heel", "ankle") else f"the {area} of {feet}"


def pressure_on(foot: str, area: str) -> str:
    """Where a pressure applies: "on the ball of your left foot", "for the strokes over your left foot" (a
    pressure asked for during a whole-foot step holds for the whole-foot strokes, not the area work)."""
    return f"for the strokes over {spot(foot, area)}" if area == "whole" else f"on {spot(foot, area)}"


def was_sore(foot: str, area: str) -> str:
    """"your left heel was sore", "your left toes were sore"."""
    return f"{spot(foot, area)} {'were' if _plural(foot, area) else 'was'} sore"


def still_sore(foot: str, area: str) -> str:
    """"Is it still sore?", "Are they still sore?" (of the spot named before: "the arch of each foot" too)."""
    return "Are they still sore?" if _plural(foot, area) or foot == "both" else "Is it still sore?"


def _plural(foot: str, area: str) -> bool:
    return area == "toes" or (foot, area) == ("both", "whole")


def step_heading(step: Step, pressure: str, duration: float, where: str | None = None, technique: bool = True,
                 remaining: bool = False) -> str:
    """"Left foot, arch. Fingertip friction in very small circles, light pressure, thirty seconds."; without
    ``technique`` (the same as the step before): "Left foot, arch. Same technique, light pressure, thirty seconds.";
    ``where``: the place as said (default: foot and area; "" for none); ``remaining``: the duration is what is
    left ("…, fifteen seconds left.")."""
    parts = [step.technique[0].upper() + step.technique[1:] if technique else "Same technique"]
    if pressure != "none":
        parts.append(f"{pressure} pressure")
    parts.append(duration_words(duration) + (" left" if remaining else ""))
    heading = f"{', '.join(parts)}."
    where = place(step.foot, step.area) if where is None else where
    return f"{where[0].upper()}{where[1:]}. {heading}" if where else heading


def announcement(step: Step, pressure: str, duration: float, where: str | None = None, technique: bool = True,
                 remaining: bool = False) -> str:
    return f"{step_heading(step, pressure, duration, where, technique, remaining)} {step.guidance}"


def and_list(items: list[str]) -> str:
    """"toes, arch and heel"."""
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def step_name(step: Step) -> str:
    """"left foot, arch, fingertip friction in very small circles", "right foot, palm warming"."""
    return f"{place(step.foot, step.area)}, {step.technique}"


def step_names(steps: list[Step]) -> str:
    """Several steps, those of one technique on one foot together: "right foot, ankle and heel, fingertip
    friction in very small circles; right foot, long strokes alternating with short circular strokes"."""
    groups: dict[tuple[str, str], list[str]] = {}
    for step in steps:
        areas = groups.setdefault((step.foot, step.technique), [])
        if step.area not in areas:
            areas.append(step.area)
    names = []
    for (foot, technique), areas in groups.items():
        feet = "both feet" if foot == "both" else f"{foot} foot"
        spots = and_list([area_name(a) for a in areas if a != "whole"])
        names.append(f"{feet}, {spots + ', ' if spots else ''}{technique}")
    return "; ".join(names)


def next_up(step: Step | None) -> str:
    if step is None:
        return "Ten seconds left, then we finish."
    return f"Ten seconds left. Next: {step_name(step)}."


def work_on(step: Step) -> str:
    """"the work on the arch of your left foot", "the palm warming on both feet"."""
    what = step.technique if step.area == "whole" else "work"
    return f"the {what} on {spot(step.foot, step.area)}"
