"""Usage mistakes on the command line are one line on stderr, naming the command and where to read more."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("args", "says"), [
    (["session", "--minutes", "10"], "companion session: Invalid value for '--minutes': 10 is not in the range 15<=x<=30."),
    (["report", "abc"], "companion report: Invalid value for 'SESSION'"),
    (["no-such-command"], "companion: No such command 'no-such-command'."),
])
def test_a_usage_mistake_is_one_line_with_where_to_read_more(args, says):
    done = subprocess.run([sys.executable, "-m", "companion", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(says) and done.stderr.rstrip().endswith("--help)")
