"""Fuzzing what people type and write: routine files, voice profiles, simulate scripts and CLI options.

Whatever the input, the only thing allowed to escape is a UserError of one line ("file:line: problem" where
it is about a file), or click's own usage error (exit code 2). Each target runs ~200 examples in the fast tier
and 10,000 in the slow tier.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.cli import main
from companion.config import ENGINES, parse_config
from companion.errors import UserError
from companion.plan.loader import TOP_KEYS, parse_routine
from companion.plan.model import AREAS, PRESSURES
from companion.plan.scale import scale_steps
from companion.script import parse_script
from companion.speech.phrases import load_phrases
from companion.speech.voices import parse_profile, shipped_voices_dir

FAST, SLOW = 200, 10_000
SHIPPED_ROUTINE = (resources.files("companion.plan") / "routines" / "foot-circulation.toml").read_text("utf-8")
SHIPPED_VOICES = [(p.read_text("utf-8"), p.name) for p in sorted(shipped_voices_dir().glob("*.toml"))]
WORK = Path(tempfile.mkdtemp(prefix="companion-fuzz-"))


def fuzz(strategy: st.SearchStrategy) -> Callable[[Callable[[Any], None]], tuple[Callable, Callable]]:
    """A fast-tier and a slow-tier hypothesis test of ``check`` on values drawn from ``strategy``."""
    def decorate(check: Callable[[Any], None]) -> tuple[Callable, Callable]:
        def tier(examples: int) -> Callable:
            @settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(strategy)
            def test(value: Any) -> None:
                check(value)
            return test
        return tier(FAST), pytest.mark.slow(tier(SLOW))
    return decorate


def only_user_errors(call: Callable[[], Any], origin: str | None = None) -> Any:
    """``call()``; a UserError must be one line, and ``origin:line: problem`` when it is about a file."""
    try:
        return call()
    except UserError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
        if origin is not None:
            assert re.match(rf"{re.escape(origin)}:\d+: \S", message), message
        return exc


# --- TOML text from generated values ----------------------------------------------------------------
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
SCALARS = st.one_of(TEXT, st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans())
PROSE = TEXT.filter(str.strip)
ANY_VALUE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(TEXT, inner, max_size=3)), max_leaves=6)


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes would split astral characters into surrogates TOML refuses)."""
    def escape(char: str) -> str:
        if char in '"\\':
            return "\\" + char
        return f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char
    return '"' + "".join(escape(c) for c in text) + '"'


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_text(top: dict[str, Any], tables: dict[str, dict[str, Any]], arrays: dict[str, list[dict[str, Any]]]) -> str:
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines += [f"[{toml_key(name)}]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())]
    for name, items in arrays.items():
        for item in items:
            lines += [f"[[{toml_key(name)}]]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items())]
    return "\n".join(lines) + "\n"


IDS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True)
PHASES = ("preparation", "warming", "focused")
STEP_VALUES: dict[str, st.SearchStrategy] = {
    "id": IDS, "phase": st.sampled_from(PHASES), "foot": st.sampled_from(("left", "right", "both", "each")),
    "area": st.sampled_from(AREAS), "technique": PROSE, "pressure": st.sampled_from(PRESSURES),
    "duration": st.one_of(st.integers(60, 400), st.floats(0, 4000)), "instruction": PROSE,
    "cues": st.lists(PROSE, max_size=3), "min_duration": st.integers(1, 60), "optional": st.booleans(),
    "focused": st.booleans(), "needs_no_swelling": st.booleans(), "source": TEXT,
}
MEASURE_VALUES = {key: IDS if key == "id" else PROSE for key in ("id", "label", "low", "high")}
TOP_VALUES = {"name": IDS, "title": PROSE, "minutes": st.integers(5, 120), "source": PROSE}


@st.composite
def keyed(draw: st.DrawFn, values: dict[str, st.SearchStrategy], required: tuple[str, ...], clean: bool) -> dict[str, Any]:
    """A table with its required keys and some optional ones, of valid values; unless ``clean``, one value
    in ten is anything, a required key may be missing and a stray key may come in."""
    # hypothesis favours small integers: the rare branch is the largest one
    keys = [k for k in values if k in required and (clean or draw(st.integers(0, 19)) < 19)]
    keys += [k for k in values if k not in required and draw(st.booleans())]
    table = {key: draw(values[key] if clean or draw(st.integers(0, 9)) < 9 else ANY_VALUE) for key in keys}
    if not clean and draw(st.integers(0, 19)) == 19:
        table[draw(TEXT)] = draw(ANY_VALUE)
    return table


@st.composite
def routine_texts(draw: st.DrawFn) -> str:
    """Routine files: half of them built of valid values only (to reach the checks after parsing)."""
    clean = draw(st.booleans())
    top = draw(keyed(TOP_VALUES, ("name",), clean))
    tables = {}
    if draw(st.booleans()):
        tables["phases"] = draw(st.dictionaries(st.sampled_from(PHASES), PROSE if clean else ANY_VALUE, max_size=3))
    arrays = {"measure": draw(st.lists(keyed(MEASURE_VALUES, tuple(MEASURE_VALUES), clean), max_size=3,
                                       unique_by=lambda m: str(m.get("id")))),
              "step": draw(st.lists(keyed(STEP_VALUES, tuple(STEP_VALUES)[:8], clean), min_size=int(clean), max_size=5,
                                    unique_by=lambda m: str(m.get("id"))))}
    if not clean and draw(st.integers(0, 19)) == 19:
        top[draw(st.sampled_from(sorted(TOP_KEYS)))] = draw(ANY_VALUE)
    return toml_text(top, tables, arrays)


@st.composite
def mutated(draw: st.DrawFn, original: str) -> str:
    """``original`` with a few lines deleted, duplicated, moved, re-valued, or cut, or with bytes inserted."""
    lines = original.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(("delete", "duplicate", "move", "value", "insert", "cut")))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "move":
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(i))
        elif op == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + toml_value(draw(ANY_VALUE))
        elif op == "insert":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(TEXT) + lines[i][at:]
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines) + "\n"


def _check_routine(text: str) -> None:
    routine = only_user_errors(lambda: parse_routine(text, "mine.toml"), "mine.toml")
    if not isinstance(routine, UserError):
        assert routine.steps and 5 <= routine.minutes <= 120
        only_user_errors(lambda: scale_steps(routine, routine.minutes))
        for minutes in (15, 30):
            only_user_errors(lambda: scale_steps(routine, minutes))


test_generated_routines, test_generated_routines_slow = fuzz(routine_texts())(_check_routine)
test_mutated_shipped_routine, test_mutated_shipped_routine_slow = fuzz(mutated(SHIPPED_ROUTINE))(_check_routine)
test_routine_noise, test_routine_noise_slow = fuzz(st.text(max_size=200))(_check_routine)


# --- voice profiles -------------------------------------------------------------------------------------
NUMBERS = st.floats(allow_nan=True, allow_infinity=True)
PROFILE_VALUES: dict[str, st.SearchStrategy] = {
    "name": st.just("calm"), "description": TEXT, "engine": st.sampled_from(("pyttsx3", "piper")),
    "voice": st.sampled_from(("gmw/en-us", "x", " ")), "rate": st.one_of(st.floats(80, 400), NUMBERS),
    "volume": st.one_of(st.floats(0, 1), NUMBERS), "sentence_pause": st.one_of(st.floats(0, 5), NUMBERS),
    "earcons": st.booleans(),
}
PROFILE_TEXTS = st.one_of(  # (text, file name)
    st.booleans().flatmap(lambda clean: keyed(PROFILE_VALUES, ("name", "engine", "voice"), clean))
    .map(lambda table: (toml_text(table, {}, {}), "calm.toml")),
    st.sampled_from(SHIPPED_VOICES).flatmap(lambda shipped: mutated(shipped[0]).map(lambda t: (t, shipped[1]))),
    st.text(max_size=200).map(lambda t: (t, "calm.toml")))


def _check_profile(text_and_name: tuple[str, str]) -> None:
    text, name = text_and_name
    path = Path("voices") / name
    profile = only_user_errors(lambda: parse_profile(text, path), str(path))
    if not isinstance(profile, UserError):
        assert 80 <= profile.rate <= 400 and 0 < profile.volume <= 1 and 0 <= profile.sentence_pause <= 5
        assert profile.name == path.stem and isinstance(profile.earcons, bool) and profile.voice.strip()


test_voice_profiles, test_voice_profiles_slow = fuzz(PROFILE_TEXTS)(_check_profile)


# --- the config file ------------------------------------------------------------------------------------
CONFIG_VALUES: dict[str, st.SearchStrategy] = {
    "voice": st.one_of(st.sampled_from(("calm", "clear")), TEXT), "engine": st.one_of(st.sampled_from(ENGINES), TEXT),
    "lang": st.one_of(st.sampled_from(("en", "ko")), TEXT), "input_device": TEXT, "output_device": TEXT,
    "minutes": st.one_of(st.integers(10, 35), NUMBERS, TEXT), "routine": TEXT, "client": TEXT,
}
CONFIG_TEXTS = st.one_of(
    st.booleans().flatmap(lambda clean: keyed(CONFIG_VALUES, (), clean)).map(lambda table: toml_text(table, {}, {})),
    st.text(max_size=200))


def _check_config(text: str) -> None:
    config = only_user_errors(lambda: parse_config(text, "config.toml"), "config.toml")
    if not isinstance(config, UserError) and config.minutes is not None:
        assert config.minutes >= 1


test_config_files, test_config_files_slow = fuzz(CONFIG_TEXTS)(_check_config)


# --- simulate scripts ----------------------------------------------------------------------------------
WORDS = st.sampled_from(sorted(load_phrases("en").vocabulary()) or ["pause"])
SCRIPT_LINES = st.one_of(
    st.builds(lambda m, s, w: f"{m:02d}:{s:02d} {w}", st.integers(0, 40), st.integers(0, 59), WORDS),
    st.builds(lambda w: f"> {w}", st.one_of(WORDS, st.sampled_from(["no", "yes", "3", "skip"]))),
    st.just("# a comment"), st.just(""), st.text(max_size=30),
    st.from_regex(r"\d{1,4}:\d{1,3}(\.\d{0,3})?\s*\S{0,6}", fullmatch=True),
)
SCRIPTS = st.lists(SCRIPT_LINES, max_size=12).map("\n".join)


def _check_script(text: str) -> None:
    script = only_user_errors(lambda: parse_script(text, "talk.txt"), "talk.txt")
    if not isinstance(script, UserError):
        times = [t for t, _ in script.timed]
        assert times == sorted(times) and all(t >= 0 for t in times)
        assert all(words.strip() for _, words in script.timed) and all(a.strip() for a in script.answers)


test_scripts, test_scripts_slow = fuzz(SCRIPTS)(_check_script)


# --- CLI options ---------------------------------------------------------------------------------------
def invoke(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output, result.output
    exception = result.exception
    assert exception is None or isinstance(exception, SystemExit | UserError), repr(exception)
    if isinstance(exception, UserError):
        assert "\n" not in str(exception)
    elif result.exit_code != 0:
        assert result.exit_code == 2 and "Error:" in result.output, (result.exit_code, result.output)


NUMBERISH = st.one_of(st.integers(-50, 2000).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                      st.text(max_size=8))


@st.composite
def simulate_args(draw: st.DrawFn) -> list[str]:
    script = WORK / f"script-{draw(st.integers(0, 3))}.txt"
    script.write_text(draw(SCRIPTS), "utf-8")
    args = ["simulate", str(script), "--minutes", draw(st.one_of(st.integers(15, 30).map(str), NUMBERISH))]
    if draw(st.booleans()):
        args += ["--routine", draw(st.one_of(st.just("foot-circulation"), TEXT.filter(lambda t: not t.startswith("-"))))]
    if draw(st.booleans()):
        args.append("--json")
    return args


@st.composite
def validate_args(draw: st.DrawFn) -> list[str]:
    text = draw(st.one_of(routine_texts(), mutated(SHIPPED_ROUTINE)))
    named = re.search(r'^name\s*=\s*"([a-z0-9][a-z0-9-]*)"\s*$', text, re.M)  # a routine's file is named after it
    file = WORK / f"{named.group(1) if named else f'routine-{draw(st.integers(0, 3))}'}.toml"
    file.write_text(text, "utf-8")
    return ["routines", "validate", str(file)]


@st.composite
def session_args(draw: st.DrawFn) -> list[str]:
    """Generated --minutes/--speed; an unknown routine stops a session that passes them before it starts."""
    return ["session", "--text", "--routine", "no-such-routine", "--db", str(WORK / "session.sqlite3"),
            "--minutes", draw(st.one_of(st.integers(15, 30).map(str), NUMBERISH)),
            "--speed", draw(st.one_of(st.floats(0.1, 1000).map(str), NUMBERISH))]


test_cli_simulate, test_cli_simulate_slow = fuzz(simulate_args())(invoke)
test_cli_validate, test_cli_validate_slow = fuzz(validate_args())(invoke)
test_cli_session_options, test_cli_session_options_slow = fuzz(session_args())(invoke)
