import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.errors import UserError
from companion.plan.loader import RoutineError, load_routine, load_routine_file, parse_routine
from companion.plan.scale import scale_steps

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
duration = 60
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
    assert "heel spur" in by_id["left-heel"].instruction


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


def test_scaling_refuses_a_length_below_the_minimums():
    routine = parse_routine(MINIMAL.replace("duration = 60", "duration = 60\nmin_duration = 50"), "mini.toml")
    with pytest.raises(UserError, match="needs at least 1.7 minutes"):
        scale_steps(routine, 1)


def test_each_foot_steps_are_repeated_left_then_right():
    routine = parse_routine(MINIMAL, "mini.toml")
    assert [(s.id, s.foot) for s in routine.steps] == [("left-warm", "left"), ("right-warm", "right")]


@pytest.mark.parametrize("change, line, message", [
    (("pressure = \"light\"", "pressure = \"hard\""), 16, "step 1: pressure 'hard' is not one of"),
    (("duration = 60", "duration = -3"), 17, "'duration' must be a number of seconds"),
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
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(MINIMAL)
    bad.write_text(MINIMAL.replace('foot = "each"', 'foot = "middle"'))
    runner = CliRunner()
    ok = runner.invoke(main, ["routines", "validate", str(good)])
    assert ok.exit_code == 0 and "ok (2 steps" in ok.output
    failed = runner.invoke(main, ["routines", "validate", str(bad)], standalone_mode=False)
    assert isinstance(failed.exception, RoutineError)
    assert f"{bad}:13: step 1: foot 'middle'" in str(failed.exception)


def test_user_routines_are_found_in_the_config_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path))
    (tmp_path / "routines").mkdir()
    (tmp_path / "routines" / "mini.toml").write_text(MINIMAL)
    result = CliRunner().invoke(main, ["routines", "list"])
    assert "mini" in result.output and "foot-circulation" in result.output
    assert load_routine("mini").name == "mini"
    with pytest.raises(UserError, match="no routine named 'nope'"):
        load_routine("nope")
