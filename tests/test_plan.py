import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.errors import UserError
from companion.plan.loader import RoutineError, load_routine, load_routine_file, parse_routine
from companion.plan.scale import minutes_range, scale_steps

ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "foot-circulation-massage.txt"

MINIMAL = """\
name = "mini"
minutes = 5

[[measure]]
id = "comfort"
label = "comfort"
low = "bad"
high = "good"

[[step]]
id = "warm"
phase = "warming"
foot = "each"
area = "whole"
technique = "palm warming"
pressure = "light"
duration = 150
instruction = "Warm the foot."
"""


def test_default_routine_has_every_part_of_the_article():
    routine = load_routine("foot-circulation")
    assert routine.minutes == 20
    assert [m.id for m in routine.measures] == ["warmth", "colour", "swelling", "comfort"]
    ids = [s.id for s in routine.steps]
    assert ids[:2] == ["soak", "position"]
    for foot in ("left", "right"):
        assert [i.removeprefix(f"{foot}-") for i in ids if i.startswith(foot)] == [
            "warm", "toe-to-ankle", "long-and-circular", "toes", "ball", "arch", "heel", "ankle",
            "overlapping-circles", "final-circle"]
    assert ids.index("left-final-circle") < ids.index("right-warm")  # the left foot first, then the right
    assert routine.total_seconds == 20 * 60
    by_id = {s.id: s for s in routine.steps}
    assert by_id["left-toe-to-ankle"].needs_no_swelling
    assert all(by_id[f"left-{a}"].focused for a in ("toes", "ball", "arch", "heel", "ankle"))
    assert "heel spur" in by_id["left-heel"].caution


@pytest.mark.skipif(not ARTICLE.exists(), reason="the source article (../shared/seed) is not beside this checkout")
def test_every_step_quotes_the_article():
    article = " ".join(ARTICLE.read_text().split())
    for step in load_routine("foot-circulation").steps:
        assert step.source, f"{step.id} has no source"
        for fragment in re.split(r"\s*\.\.\.\s*", step.source):
            fragment = fragment.strip(" .")
            assert fragment and fragment in article, f"{step.id}: {fragment!r} is not in the article"


@pytest.mark.parametrize("minutes", range(15, 31))
def test_scaling_fits_the_chosen_length_and_keeps_minimums(minutes):
    routine = load_routine("foot-circulation")
    steps = scale_steps(routine, minutes)
    assert sum(s.duration for s in steps) == minutes * 60
    for scaled, original in zip(steps, routine.steps):
        assert scaled.duration >= original.min_duration
        assert scaled.duration % 5 == 0


def test_a_routine_is_scaled_from_three_quarters_to_one_and_a_half_times_its_length():
    assert minutes_range(load_routine("foot-circulation")) == (15, 30)
    routine = parse_routine(MINIMAL, "mini.toml")
    assert minutes_range(routine) == (4, 7)
    assert [s.duration for s in scale_steps(routine, 7)] == [210, 210]
    with pytest.raises(UserError, match=r"^routine 'mini' can be from 4 to 7 minutes long, not 8; "
                                        r"choose --minutes from 4 to 7$"):
        scale_steps(routine, 8)


def test_scaling_refuses_a_length_below_the_minimums():
    routine = parse_routine(MINIMAL.replace("duration = 150", "duration = 150\nmin_duration = 140"), "mini.toml")
    assert minutes_range(routine) == (5, 7)  # 280 s of min_duration: not 4 minutes
    with pytest.raises(UserError, match="^routine 'mini' can be from 5 to 7 minutes long, not 4;"):
        scale_steps(routine, 4)


def test_each_foot_steps_are_repeated_left_then_right():
    routine = parse_routine(MINIMAL, "mini.toml")
    assert [(s.id, s.foot) for s in routine.steps] == [("left-warm", "left"), ("right-warm", "right")]


@pytest.mark.parametrize("change, line, message", [
    (("pressure = \"light\"", "pressure = \"hard\""), 16, "step 1: pressure 'hard' is not one of"),
    (("duration = 150", "duration = -3"), 17, "'duration' must be a number of seconds"),
    (("area = \"whole\"", "area = \"whole\"\ncolour = 3"), 15, "unknown key 'colour'"),
    (("instruction = \"Warm the foot.\"", ""), 10, "step 1: missing 'instruction'"),
    (("minutes = 5", "minutes = five"), 2, "not valid TOML"),
    (("low = \"bad\"", "low = 4"), 7, "'low' must be a non-empty text"),
])
def test_mistakes_are_reported_at_their_line(tmp_path, change, line, message):
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL.replace(*change))
    with pytest.raises(RoutineError) as error:
        load_routine_file(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_validate_command_exit_codes(tmp_path):
    good, bad = tmp_path / "mini.toml", tmp_path / "bad.toml"
    good.write_text(MINIMAL)
    bad.write_text(MINIMAL.replace('foot = "each"', 'foot = "middle"'))
    runner = CliRunner()
    ok = runner.invoke(main, ["routines", "validate", str(good)])
    assert ok.exit_code == 0 and "ok (2 steps" in ok.output
    failed = runner.invoke(main, ["routines", "validate", str(bad)], standalone_mode=False)
    assert isinstance(failed.exception, RoutineError)
    assert f"{bad}:13: step 1: foot 'middle'" in str(failed.exception)


def test_a_routine_whose_name_is_not_its_file_name_is_refused(tmp_path):
    """Listed by its file name, chosen by it with --routine, recorded by its name: the two must agree."""
    path = tmp_path / "other-name.toml"
    path.write_text(MINIMAL)
    failed = CliRunner().invoke(main, ["routines", "validate", str(path)])
    assert isinstance(failed.exception, RoutineError)
    assert str(failed.exception) == f"{path}:1: name 'mini' must match the file name 'other-name.toml'; rename one of them"


def test_user_routines_are_found_in_the_config_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path))
    (tmp_path / "routines").mkdir()
    (tmp_path / "routines" / "mini.toml").write_text(MINIMAL)
    result = CliRunner().invoke(main, ["routines", "list"])
    assert "mini" in result.output and "foot-circulation" in result.output
    assert load_routine("mini").name == "mini"
    with pytest.raises(UserError, match="no routine named 'nope'"):
        load_routine("nope")


SHIPPED = Path(__file__).resolve().parents[1] / "companion" / "plan" / "routines" / "foot-circulation.toml"


def _shipped_with(line: int, new: str) -> str:
    """The shipped routine with its 1-based ``line`` replaced by ``new``."""
    lines = SHIPPED.read_text().splitlines()
    assert lines[line - 1] in ('id = "position"', "[[step]]", 'id = "colour"'), lines[line - 1]
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("line, new, at, message", [
    (59, 'id = "soak"', 59, "step 2: id 'soak' is already used by step 1"),
    (58, "[[steps]]", 58, "unknown key 'steps'; did you mean [[step]]?"),
    (28, 'id = "warmth"', 28, "measure 2: id 'warmth' is already used by measure 1"),
])
def test_mistakes_in_tables_are_reported_at_their_own_line(tmp_path, line, new, at, message):
    path = tmp_path / "mine.toml"
    path.write_text(_shipped_with(line, new))
    with pytest.raises(RoutineError) as error:
        load_routine_file(path)
    assert str(error.value).startswith(f"{path}:{at}: {message}")


def test_an_each_step_clashing_with_a_one_foot_step_says_why():
    text = MINIMAL + MINIMAL[MINIMAL.index("[[step]]"):].replace('"warm"', '"left-warm"').replace('"each"', '"left"')
    with pytest.raises(RoutineError, match=r"^mini.toml:20: step 2: id 'left-warm' is already used by step 1 "
                                           r"\(a foot = \"each\" step has the ids left-ID and right-ID\)"):
        parse_routine(text.replace("duration = 150", "duration = 100"), "mini.toml")


SHORT_OF_ITS_MINUTES = '''\
name = "my-routine"          # lowercase, digits, dashes
title = "My routine"
minutes = 20                 # the length the durations below add up to; --minutes scales them
source = "where it comes from"

[phases]                     # phase id -> spoken title, announced when the phase changes
warming = "Warming the tissue"

[[measure]]                  # rated 1..5 before and after
id = "warmth"
label = "warmth of the feet"
low = "cold"
high = "warm"

[[step]]
id = "warm"                  # unique
phase = "warming"
foot = "each"
area = "whole"
technique = "palm warming"   # spoken
pressure = "light"           # none | light | medium | firm
duration = 75                # seconds
min_duration = 45            # never shortened below this (default 15)
instruction = "Use the broad surfaces of your palms to gently warm the foot."
'''


def test_minutes_must_be_what_the_steps_add_up_to(tmp_path):
    path = tmp_path / "my-routine.toml"
    path.write_text(SHORT_OF_ITS_MINUTES)
    failed = CliRunner().invoke(main, ["routines", "validate", str(path)])
    assert isinstance(failed.exception, RoutineError)
    assert str(failed.exception) == (
        f"{path}:3: minutes = 20, but the steps' durations add up to 150 s (2.5 minutes, foot = \"each\" steps "
        "counted for both feet); change the durations to add up to 1170 to 1230 s")
    path.write_text(SHORT_OF_ITS_MINUTES.replace("duration = 75 ", "duration = 600"))
    assert "ok (2 steps, 20 minutes)" in CliRunner().invoke(main, ["routines", "validate", str(path)]).output


@pytest.mark.parametrize("duration, message", [
    (145, None),  # 290 s: 5 minutes to the nearest minute
    (170, "minutes = 5, but the steps' durations add up to 340 s (5.7 minutes"),
    (200, "minutes = 5, but the steps' durations add up to 400 s (6.7 minutes, foot = \"each\" steps counted for "
          "both feet); set minutes = 7 or change the durations to add up to 270 to 330 s"),
    # 268 s: 4 minutes would fit them, but a routine runs 5 minutes at least: say what the durations must come to
    (134, "minutes = 5, but the steps' durations add up to 268 s (4.5 minutes, foot = \"each\" steps counted for "
          "both feet); change the durations to add up to 270 to 330 s"),
])
def test_minutes_may_round_the_steps_total(duration, message):
    text = MINIMAL.replace("duration = 150", f"duration = {duration}")
    if message is None:
        assert parse_routine(text, "mini.toml").minutes == 5
    else:
        with pytest.raises(RoutineError, match=rf"^mini.toml:2: {re.escape(message)}"):
            parse_routine(text, "mini.toml")


def test_unset_minutes_is_named_as_the_default():
    with pytest.raises(RoutineError, match=r"^mini.toml:1: 'minutes' is not set \(20 by default\), but the steps'"):
        parse_routine(MINIMAL.replace("minutes = 5\n", ""), "mini.toml")


def test_the_shipped_routine_validates():
    result = CliRunner().invoke(main, ["routines", "validate", str(SHIPPED)])
    assert result.exit_code == 0 and "ok (22 steps, 20 minutes)" in result.output


def test_the_readmes_routine_template_validates(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    path = tmp_path / "my-routine.toml"
    path.write_text(re.search(r"```toml\n(name = .*?)```", readme, re.S).group(1))
    result = CliRunner().invoke(main, ["routines", "validate", str(path)])
    assert result.exit_code == 0 and "ok (2 steps, 5 minutes)" in result.output, result.output


def test_the_default_routine_instructions_never_say_a_pressure():
    """The pressure is said with each step and changes ("firmer" → "firm pressure… with gentle pressure" was
    heard); an instruction naming one would contradict it."""
    routine = load_routine("foot-circulation")
    for step in routine.steps:
        assert not re.search(r"\b(gentl\w*|firm\w*|light(ly)?|hard)\b", step.instruction, re.I), step.id
