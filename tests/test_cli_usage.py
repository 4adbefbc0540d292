"""Usage mistakes on the command line are one line on stderr, naming the command and where to read more."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(("args", "says"), [
    (["session", "--minutes", "ten"], "companion session: Invalid value for '--minutes': 'ten' is not a valid"),
    (["report", "abc"], "companion report: Invalid value for 'SESSION'"),
    (["no-such-command"], "companion: No such command 'no-such-command'."),
    (["history", "--client"], "companion history: Option '--client' requires an argument."),  # click gives no context
    (["rename", "alice"], "companion rename: Missing argument 'NEW_NAME'."),
])
def test_a_usage_mistake_is_one_line_with_where_to_read_more(args, says):
    done = subprocess.run([sys.executable, "-m", "companion", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(says) and done.stderr.rstrip().endswith("--help)")


def test_a_length_the_routine_cannot_be_scaled_to_is_said_in_words_before_anything_is_opened(tmp_path):
    env = {**os.environ, "COMPANION_CONFIG_DIR": str(tmp_path / "config"), "COMPANION_DATA_DIR": str(tmp_path / "data")}
    env.pop("COMPANION_DB", None)
    done = subprocess.run([sys.executable, "-m", "companion", "session", "--text", "--minutes", "10"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("companion: routine 'foot-circulation' can be from 15 to 30 minutes long, not 10; "
                           "choose --minutes from 15 to 30\n")
    assert not (tmp_path / "data").exists()  # no database was opened


def test_companion_alone_prints_its_help():
    done = subprocess.run([sys.executable, "-m", "companion"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("Usage: companion [OPTIONS] COMMAND") and "session" in done.stdout
    listed = [line.split()[0] for line in done.stdout.split("Commands:\n")[1].splitlines()]
    assert {"history", "report", "export", "import", "forget", "rename"} <= set(listed)


@pytest.mark.parametrize(("command", "options"), [
    ("session", {"routine": "foot-circulation", "minutes": "the routine length", "client": "me", "engine": "auto",
                 "lang": "en", "voice": "calm-piper when Piper is installed, else calm",
                 "input-device": "the system default", "output-device": "the system default"}),
    ("simulate", {"routine": "foot-circulation", "minutes": "the routine length", "client": "me"}),
])
def test_help_names_the_config_file_as_the_default_of_each_option_it_can_set(command, options):
    done = subprocess.run([sys.executable, "-m", "companion", command, "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    # one entry per option, its wrapping undone ("calm-" at the end of a line, "piper" on the next)
    entries = [" ".join(e.split()).replace("- ", "-") for e in done.stdout.split("\n  --")]
    for option, builtin in options.items():
        entry = next(e for e in entries if e.startswith(f"{option} "))
        assert f"default: from companion config, else {builtin}" in entry, entry
        assert "[default:" not in entry, entry  # was "[default: me]": wrong whenever the config sets it
