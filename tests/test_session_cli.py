"""The session commands as a person runs them: config defaults, the typed session, the simulator's JSON."""

import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from companion.cli import main
from companion.store import Store

SCRIPT = "> no\n> no\n> no\n> no\n> 3\n> 3\n> 3\n> 3\n02:30 more time\n> 4\n> 4\n> 4\n> 4\n"


def simulate_json(tmp_path, *args):
    script = tmp_path / "s.txt"
    script.write_text(SCRIPT)
    result = CliRunner().invoke(main, ["simulate", str(script), "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_the_config_file_gives_defaults_and_options_override_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    assert CliRunner().invoke(main, ["config", "set", "minutes", "15"]).exit_code == 0
    assert simulate_json(tmp_path)[-1] == {"t": 900.0, "type": "end", "reason": "routine complete", "duration": 900.0}
    assert simulate_json(tmp_path, "--minutes", "25")[-1]["duration"] == 1500.0


def test_a_routine_runs_at_its_own_minutes_unless_told_otherwise(tmp_path, monkeypatch):
    """The README's template (5 minutes) runs 5 minutes; --minutes or the config scale it within its range."""
    readmes_routine(tmp_path, monkeypatch)
    shown = CliRunner().invoke(main, ["routines", "show", "my-routine"]).output
    assert shown.startswith("My routine (my-routine), 5 minutes\n") and shown.count(" 150s ") == 2
    too_long = CliRunner().invoke(main, ["routines", "show", "my-routine", "--minutes", "10"])
    assert too_long.output == "" and "can be from 4 to 7 minutes long, not 10" in str(too_long.exception)
    events = simulate_json(tmp_path, "--routine", "my-routine", "--db", str(tmp_path / "h.db"))
    assert "about five minutes" in events[0]["text"]
    assert [e["duration"] for e in events if e["type"] == "step"] == [150.0, 150.0]
    assert Store(tmp_path / "h.db").sessions()[-1].minutes == 5
    events = simulate_json(tmp_path, "--routine", "my-routine", "--minutes", "6")
    assert [e["duration"] for e in events if e["type"] == "step"] == [180.0, 180.0]
    assert simulate_json(tmp_path)[-1]["duration"] == 1200.0  # foot-circulation's own 20 minutes


def readmes_routine(tmp_path, monkeypatch):
    """The README's template routine (5 minutes, 4 to 7 with --minutes) as the person's own my-routine."""
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (tmp_path / "config" / "routines").mkdir(parents=True)
    (tmp_path / "config" / "routines" / "my-routine.toml").write_text(
        re.search(r"```toml\n(name = .*?)```", readme, re.S).group(1))


def test_minutes_in_the_config_file_suit_a_short_routine_or_are_named_as_what_to_change(tmp_path, monkeypatch):
    readmes_routine(tmp_path, monkeypatch)
    (tmp_path / "s.txt").write_text(SCRIPT)
    runner = CliRunner()
    assert runner.invoke(main, ["config", "set", "minutes", "6"]).exit_code == 0  # was: from 15 to 30 only
    assert runner.invoke(main, ["routines", "show", "my-routine"]).output.startswith(
        "My routine (my-routine), 6 minutes\n")  # the length a session would run, not the routine's own
    events = simulate_json(tmp_path, "--routine", "my-routine")
    assert [e["duration"] for e in events if e["type"] == "step"] == [180.0, 180.0]
    assert runner.invoke(main, ["config", "set", "minutes", "25"]).exit_code == 0
    wrong = ("routine 'my-routine' can be from 4 to 7 minutes long, not 25 (minutes in the config file: "
             "companion config unset minutes, or choose --minutes from 4 to 7)")
    for args in (["simulate", str(tmp_path / "s.txt"), "--routine", "my-routine"],
                 ["session", "--text", "--routine", "my-routine", "--db", str(tmp_path / "h.db")],
                 ["routines", "show", "my-routine"]):
        failed = runner.invoke(main, args, input="")
        assert (failed.output, str(failed.exception)) == ("", wrong), args
    given = runner.invoke(main, ["simulate", str(tmp_path / "s.txt"), "--routine", "my-routine", "--minutes", "25"])
    assert str(given.exception) == ("routine 'my-routine' can be from 4 to 7 minutes long, not 25; "
                                    "choose --minutes from 4 to 7")
    assert not (tmp_path / "h.db").exists()


def test_simulate_json_schema(tmp_path):
    events = simulate_json(tmp_path)
    kinds = {e["type"] for e in events}
    assert {"say", "step", "intent", "plan", "rating", "end", "safety"} <= kinds
    step = next(e for e in events if e["type"] == "step")
    assert set(step) == {"t", "type", "id", "phase", "foot", "area", "technique", "pressure", "duration"}
    plan = next(e for e in events if e["type"] == "plan")
    assert plan["change"] == "extend" and plan["reason"] == "asked for more time"
    assert all(isinstance(e["t"], float) for e in events)


def test_simulate_hears_words_as_a_session_listens_for_them(tmp_path):
    """During the steps the answers are not listened for: "a bit firmer" is firmer, not the answer "a bit"."""
    script = tmp_path / "s.txt"
    script.write_text("> no\n> no\n> no\n> no\n05:30 a little bit of pain here\n06:00 a bit firmer\n")
    result = CliRunner().invoke(main, ["simulate", str(script), "--json"])
    heard = [(e["t"], e["intent"]) for e in map(json.loads, result.output.splitlines()) if e["type"] == "intent"]
    assert (330.0, "pain") in heard and (360.0, "more_pressure") in heard


def test_a_client_name_with_stray_spaces_is_the_same_client(tmp_path):
    db = str(tmp_path / "h.sqlite3")
    for name in ("Anna", " Anna  "):
        simulate_json(tmp_path, "--db", db, "--client", name)
    assert [s.client for s in Store(tmp_path / "h.sqlite3").sessions()] == ["Anna", "Anna"]


def test_a_simulated_session_says_it_is_saved_only_when_it_is(tmp_path):
    unsaved = [e["text"] for e in simulate_json(tmp_path) if e["type"] == "say"][-1]
    assert unsaved.endswith("Thank you.") and "saved" not in unsaved
    saved = [e["text"] for e in simulate_json(tmp_path, "--db", str(tmp_path / "h.sqlite3")) if e["type"] == "say"][-1]
    assert saved.endswith("Thank you. The session is saved.")


def test_a_typed_session_runs_to_the_end_and_is_stored(tmp_path):
    db = tmp_path / "typed.sqlite3"
    answers = "no\nno\nno\nno\n3\n3\n3\n3\nstop\nyes\n4\n5\n4\n4\n"
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--text", "--plain", "--speed", "100",
                           "--db", str(db)], input=answers, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "end: reason=stopped by the user" in done.stdout
    store = Store(db)
    summary = store.sessions()[-1]
    assert summary.status == "ended"
    assert {r.measure: (r.before, r.after) for r in summary.ratings}["colour"] == (3, 5)


def test_said_only_prints_just_what_the_companion_says_and_still_stores_everything(tmp_path):
    db = tmp_path / "typed.sqlite3"
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--text", "--said-only", "--speed", "100",
                           "--db", str(db)], input="no\nno\nno\nno\n3\n3\n3\n3\nstop\nyes\n4\n5\n4\n4\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("00:00 Welcome.") and "00:00 First, a short safety check." in lines
    assert not [line for line in lines if re.match(r"\d\d:\d\d \w+: \w+=", line)]  # no "intent: intent=no"
    assert Store(db).sessions()[-1].status == "ended"
    assert {r.measure: (r.before, r.after) for r in Store(db).sessions()[-1].ratings}["colour"] == (3, 5)


def test_a_typed_session_whose_piped_input_runs_out_ends_at_the_next_question(tmp_path):
    """The steps run to the end; the ratings nobody can type end the session instead of waiting for ever."""
    db = tmp_path / "typed.sqlite3"
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--text", "--plain", "--speed", "1000",
                           "--db", str(db)], input="no\nno\nno\nno\n3\n3\n3\n3\n", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "end: reason=typed input ended" in done.stdout
    assert "Now let's rate how the feet feel" in done.stdout  # the steps ran; the first rating was asked
    assert Store(db).sessions()[-1].status == "ended"


def test_the_readmes_simulation_script_runs_the_session_it_describes(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    script = re.search(r"Script lines:\n\n```\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "s.txt").write_text(script)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.txt"), "--json", "--db", str(tmp_path / "h.db")])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    heard = [e["text"] for e in events if e["type"] == "intent"]
    assert heard[0] == "no" and heard[8:10] == ["more time", "pain in my left heel"]  # comments left out
    assert [(e["foot"], e["area"]) for e in events if e["type"] == "sensitive"] == [("left", "heel")]
    assert [e["value"] for e in events if e["type"] == "rating"] == [3, 2, 4, 3, 4, 3, 4, 4]
    assert events[-1]["reason"] == "routine complete"


def test_a_voice_session_with_an_unknown_routine_says_so_before_opening_audio(tmp_path):
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--routine", "nope", "--db",
                           str(tmp_path / "h.db")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["companion: no routine named 'nope'; known: foot-circulation "
                                        "(see: companion routines list)"]


def test_routines_show_lines_its_columns_up_whatever_the_length_of_a_place():
    shown = CliRunner().invoke(main, ["routines", "show", "foot-circulation"]).output
    steps = [line for line in shown.splitlines() if re.match(r"\d\d:\d\d  ", line)]
    assert any("left foot, ball of the foot" in line for line in steps)
    assert len({re.search(r" (light|medium|firm|none) ", line).start() for line in steps}) == 1  # the pressure
    assert len({re.search(r"\d+s  ", line).end() for line in steps}) == 1  # the duration, then the technique


def test_a_typed_session_at_the_highest_speed_records_each_step_for_its_planned_time(tmp_path):
    """At --speed 1000 the clock moves 100 s between two wall-clock ticks: each step must still start when the
    one before it ends, not at the next tick (30-s steps were stored as 0 s and ~105 s)."""
    db = tmp_path / "fast.sqlite3"
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--text", "--plain", "--speed", "1000",
                           "--db", str(db)], input="no\nno\nno\nno\n3\n3\n3\n3\n", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    steps = Store(db).session(1).steps
    assert len(steps) > 10
    assert [round(after.t - step.t, 3) for step, after in zip(steps, steps[1:])] == [
        step.data["duration"] for step in steps[:-1]]


def test_a_typed_session_refuses_an_unknown_voice_as_a_spoken_one_does(tmp_path):
    for mode in (["--text"], ["--engine", "text"], []):
        done = subprocess.run([sys.executable, "-m", "companion", "session", *mode, "--voice", "nosuch", "--db",
                               str(tmp_path / "h.db")], input="", capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (2, ""), mode
        assert done.stderr.startswith("companion: unknown voice profile 'nosuch'; known: ") and \
            done.stderr.count("\n") == 1, (mode, done.stderr)
    assert not (tmp_path / "h.db").exists()  # said before the session began


def test_show_heard_in_a_typed_session_says_it_has_no_effect(tmp_path):
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--text", "--show-heard", "--speed", "100",
                           "--db", str(tmp_path / "h.db")], input="no\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "companion: --show-heard has no effect in a typed session: nothing is heard\n"
    assert "intent: intent=no text=no" in done.stdout  # what a typed line was taken as is shown anyway
