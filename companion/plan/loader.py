"""Loading routines from TOML, with validation errors of the form ``file:line: what is wrong``.

Shipped routines live in the package (``plan/routines``); a person's own routines in
``<config dir>/routines/*.toml`` add to them or override them by name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from companion import paths
from companion.errors import UserError
from companion.tomlfile import parse_toml
from companion.plan.model import AREAS, PRESSURES, Measure, Routine, Step

STEP_KEYS = {
    "id", "phase", "foot", "area", "technique", "pressure", "duration", "instruction", "cues",
    "min_duration", "optional", "focused", "needs_no_swelling", "redo_on_resume", "caution", "source",
}
REQUIRED_STEP_KEYS = ("id", "phase", "foot", "area", "technique", "pressure", "duration", "instruction")
TOP_KEYS = {"name", "title", "minutes", "source", "phases", "measure", "step"}
MEASURE_KEYS = {"id", "label", "low", "high"}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
HEADER = re.compile(r"""\s*\[\[?\s*["']?([^\]"']+?)["']?\s*\]\]?\s*(?:#.*)?$""")
TABLES = {"step": "[[step]]", "measure": "[[measure]]", "phases": "[phases]"}  # as each is written
MINUTES_SLACK = 30  # seconds: 'minutes' is a whole number, the steps' total rounded to the nearest minute


class RoutineError(UserError):
    """A mistake in a routine file, located at a line."""


class _Locator:
    """Finds the line of a key inside the n-th ``[[table]]`` of a TOML text (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [(i, m.group(1)) for i, ln in enumerate(self.lines) if (m := HEADER.match(ln))]

    def line(self, table: str | None = None, index: int = 0, key: str | None = None) -> int:
        """The 1-based line of ``key`` in the ``index``-th ``table`` (its header line without ``key``). With no
        ``table``: of the top-level ``key``, else of a table header named ``key`` (``[[steps]]``); else 1."""
        if table is None:
            start, end = 0, self.headers[0][0] if self.headers else len(self.lines)
        else:
            starts = [i for i, name in self.headers if name == table]
            start, end = 0, len(self.lines)
            if index < len(starts):
                start = starts[index]
                end = next((i for i, _ in self.headers if i > start), len(self.lines))
        if key is not None:
            for i in range(start, end):
                if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                    return i + 1
            if table is None:
                return next((i + 1 for i, name in self.headers if name == key), 1)
        return start + 1


def load_routine_file(path: Path) -> Routine:
    """Parse and validate one routine file; RoutineError ``path:line: problem`` on any mistake. Its ``name``
    must be its file name (``my-routine.toml`` holds ``name = "my-routine"``), as for voice profiles."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise RoutineError(f"no routine file {path}; check its name and folder "
                           "(see: companion routines list)") from None
    except UnicodeDecodeError:
        raise RoutineError(f"{path} is not a text file; a routine is a TOML text file "
                           "(see the template in the README)") from None
    except OSError as exc:
        raise RoutineError(f"{path}: cannot read the routine file ({exc.strerror or exc}); check the file") from None
    routine = parse_routine(text, str(path))
    if routine.name != path.stem:  # it is chosen by its file name (--routine NAME) and recorded by its name
        raise RoutineError(f"{path}:{_Locator(text).line(key='name')}: name {routine.name!r} must match the file "
                           f"name {path.name!r}; rename one of them")
    return routine


def parse_routine(text: str, origin: str) -> Routine:
    raw = parse_toml(text, origin, RoutineError)
    return _Validator(raw, _Locator(text), origin).routine()


class _Validator:
    def __init__(self, raw: dict[str, Any], locator: _Locator, origin: str) -> None:
        self.raw, self.loc, self.origin = raw, locator, origin

    def fail(self, message: str, table: str | None = None, index: int = 0, key: str | None = None) -> RoutineError:
        return RoutineError(f"{self.origin}:{self.loc.line(table, index, key)}: {message}")

    def text(self, data: dict[str, Any], key: str, table: str | None = None, index: int = 0) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            where = f"step {index + 1}: " if table == "step" else ""
            raise self.fail(f"{where}'{key}' must be a non-empty text", table, index, key if key in data else None)
        return value.strip()

    def routine(self) -> Routine:
        raw = self.raw
        for key in raw:
            if key not in TOP_KEYS:
                close = difflib.get_close_matches(key, TOP_KEYS, n=1)
                hint = f"; did you mean {TABLES.get(close[0], repr(close[0]))}?" if close else ""
                raise self.fail(f"unknown key {key!r}{hint} (expected one of: {', '.join(sorted(TOP_KEYS))})", key=key)
        name = self.text(raw, "name")
        if not ID_PATTERN.match(name):
            raise self.fail("'name' must be lowercase letters, digits and dashes", key="name")
        minutes = raw.get("minutes", 20)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 5 <= minutes <= 120:
            raise self.fail("'minutes' must be a whole number from 5 to 120", key="minutes")
        phases = raw.get("phases", {})
        if not isinstance(phases, dict) or not all(isinstance(v, str) for v in phases.values()):
            raise self.fail("[phases] must map each phase id to its spoken title", table="phases")
        measures = tuple(self.measure(m, i) for i, m in enumerate(self._tables("measure")))
        first: dict[str, int] = {}
        for index, measure in enumerate(measures):
            if first.setdefault(measure.id, index) != index:
                raise self.fail(f"measure {index + 1}: id {measure.id!r} is already used by measure "
                                f"{first[measure.id] + 1}", "measure", index, "id")
        steps = self.steps(phases)
        self.check_minutes(minutes, steps)
        return Routine(
            name=name,
            title=raw.get("title", name),
            minutes=minutes,
            steps=steps,
            measures=measures,
            phases=dict(phases),
            source=str(raw.get("source", "")),
        )

    def check_minutes(self, minutes: int, steps: tuple[Step, ...]) -> None:
        """'minutes' says what the durations add up to (--minutes scales them from there): a routine whose
        steps add up to something else would have every step stretched or shrunk unexpectedly."""
        total = sum(s.duration for s in steps)
        if abs(total - minutes * 60) <= MINUTES_SLACK:
            return
        said = f"minutes = {minutes}" if "minutes" in self.raw else f"'minutes' is not set ({minutes} by default)"
        each_foot = any(table.get("foot") == "each" for table in self.raw["step"])
        each = ', foot = "each" steps counted for both feet' if each_foot else ""
        fits = round(total / 60)  # a 'minutes' the steps fit, if it is one a routine can have
        low, high = minutes * 60 - MINUTES_SLACK, minutes * 60 + MINUTES_SLACK
        durations = f"change the durations to add up to {low} to {high} s"
        fix = f"set minutes = {fits} or {durations}" if 5 <= fits <= 120 else durations
        raise self.fail(f"{said}, but the steps' durations add up to {total:g} s ({total / 60:.1f} minutes{each}); "
                        f"{fix}", key="minutes")

    def _tables(self, key: str) -> list[dict[str, Any]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"'{key}' must be written as [[{key}]] tables", key=key)
        return value

    def measure(self, data: dict[str, Any], index: int) -> Measure:
        for key in data:
            if key not in MEASURE_KEYS:
                raise self.fail(f"measure {index + 1}: unknown key {key!r}", "measure", index, key)
        mid = self.text(data, "id", "measure", index)
        return Measure(
            id=mid,
            label=self.text(data, "label", "measure", index),
            low=self.text(data, "low", "measure", index),
            high=self.text(data, "high", "measure", index),
        )

    def steps(self, phases: dict[str, str]) -> tuple[Step, ...]:
        """Validate each [[step]]; ``foot = "each"`` runs of steps are repeated for the left, then the right foot."""
        tables = self._tables("step")
        if not tables:
            raise self.fail("a routine needs at least one [[step]]")
        out: list[tuple[int, Step]] = []  # each step with the index of the [[step]] it comes from
        each_block: list[tuple[int, Step]] = []
        for index, data in enumerate(tables):
            step = self.step(data, index, phases)
            if step.foot == "each":
                each_block.append((index, step))
                continue
            out += _for_each_foot(each_block)
            each_block = []
            out.append((index, step))
        out += _for_each_foot(each_block)
        first: dict[str, int] = {}
        for index, step in out:
            if first.setdefault(step.id, index) != index:
                other = first[step.id]
                each = any(tables[i]["foot"] == "each" for i in (index, other))
                hint = ' (a foot = "each" step has the ids left-ID and right-ID)' if each else ""
                raise self.fail(f"step {index + 1}: id {step.id!r} is already used by step {other + 1}{hint}",
                                "step", index, "id")
        return tuple(step for _, step in out)

    def step(self, data: dict[str, Any], index: int, phases: dict[str, str]) -> Step:
        def fail(message: str, key: str | None = None) -> RoutineError:
            return self.fail(f"step {index + 1}: {message}", "step", index, key)

        for key in data:
            if key not in STEP_KEYS:
                raise fail(f"unknown key {key!r} (expected one of: {', '.join(sorted(STEP_KEYS))})", key)
        for key in REQUIRED_STEP_KEYS:
            if key not in data:
                raise fail(f"missing '{key}'")
        sid = self.text(data, "id", "step", index)
        if not ID_PATTERN.match(sid):
            raise fail("'id' must be lowercase letters, digits and dashes", "id")
        phase = self.text(data, "phase", "step", index)
        if phases and phase not in phases:
            raise fail(f"phase {phase!r} is not in [phases] ({', '.join(phases)})", "phase")
        choices = {"foot": ("left", "right", "both", "each"), "area": AREAS, "pressure": PRESSURES}
        for key, allowed in choices.items():
            if data[key] not in allowed:
                raise fail(f"{key} {data[key]!r} is not one of: {', '.join(allowed)}", key)
        numbers = {}
        for key in ("duration", "min_duration"):
            value = data.get(key, 15 if key == "min_duration" else None)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 3600:
                raise fail(f"'{key}' must be a number of seconds from 1 to 3600", key)
            numbers[key] = float(value)
        if numbers["min_duration"] > numbers["duration"]:
            raise fail("'min_duration' is longer than 'duration'", "min_duration")
        cues = data.get("cues", [])
        if not isinstance(cues, list) or not all(isinstance(c, str) and c.strip() for c in cues):
            raise fail("'cues' must be a list of texts", "cues")
        flags = {}
        for key in ("optional", "focused", "needs_no_swelling", "redo_on_resume"):
            value = data.get(key, False)
            if not isinstance(value, bool):
                raise fail(f"'{key}' must be true or false", key)
            flags[key] = value
        return Step(
            id=sid,
            phase=phase,
            foot=data["foot"],
            area=data["area"],
            technique=self.text(data, "technique", "step", index),
            pressure=data["pressure"],
            duration=numbers["duration"],
            instruction=self.text(data, "instruction", "step", index),
            caution=self.text(data, "caution", "step", index) if "caution" in data else "",
            cues=tuple(c.strip() for c in cues),
            min_duration=numbers["min_duration"],
            source=str(data.get("source", "")).strip(),
            **flags,
        )


def _for_each_foot(block: list[tuple[int, Step]]) -> list[tuple[int, Step]]:
    return [(i, replace(s, id=f"{foot}-{s.id}", foot=foot)) for foot in ("left", "right") for i, s in block]


def _shipped() -> dict[str, Any]:
    folder = resources.files("companion.plan") / "routines"
    return {p.name.removesuffix(".toml"): p for p in folder.iterdir() if p.name.endswith(".toml")}


def _user() -> dict[str, Path]:
    folder = paths.config_dir() / "routines"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def routine_names() -> list[str]:
    return sorted({**_shipped(), **_user()})


def load_routine(name_or_path: str) -> Routine:
    """A routine by name (the user's config directory first, then the shipped ones) or by file path."""
    user, shipped = _user(), _shipped()
    if name_or_path in user:
        return load_routine_file(user[name_or_path])
    if name_or_path in shipped:
        return parse_routine(shipped[name_or_path].read_text("utf-8"), f"{name_or_path}.toml")
    if name_or_path.endswith(".toml") or Path(name_or_path).exists():
        return load_routine_file(Path(name_or_path))
    raise UserError(f"no routine named {name_or_path!r}; known: {', '.join(routine_names())} (see: companion routines list)")
