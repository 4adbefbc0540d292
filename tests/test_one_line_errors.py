"""What a new user trying the README hits: an unknown language, a broken voice file, a broken config file.
Each gives one line that says what to do (as `companion` prints it), and breaks no more than it must."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main, run
from companion.errors import UserError


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CONFIG", "DATA", "CACHE"):
        monkeypatch.setenv(f"COMPANION_{name}_DIR", str(tmp_path / name.lower()))
    monkeypatch.delenv("COMPANION_DB", raising=False)
    return tmp_path / "config"


def companion(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real entry point (`companion ARGS`): its exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["companion", *args])
    with pytest.raises(SystemExit) as done:
        run()
    out, err = capsys.readouterr()
    return done.value.code, out, err


@pytest.mark.parametrize("args", [["phrases", "--lang", "fr"], ["session", "--text", "--lang", "fr"]])
def test_an_unknown_language_is_one_line(monkeypatch, capsys, args: list[str]) -> None:
    result = CliRunner().invoke(main, args, input="")
    assert isinstance(result.exception, UserError)
    code, out, err = companion(monkeypatch, capsys, *args)
    assert code == 2 and out == ""
    assert err == "companion: no phrase table for language 'fr'; use --lang with one of: en, ko\n"


BROKEN_VOICE = 'name = "mine"\nengine = "pyttsx3"\nvoice = "gmw/en-us"\nrate = "fast"\n'


def test_a_broken_voice_file_breaks_only_that_voice(monkeypatch, capsys, private_dirs: Path, tmp_path: Path) -> None:
    (private_dirs / "voices").mkdir(parents=True)
    path = private_dirs / "voices" / "mine.toml"
    path.write_text(BROKEN_VOICE)
    code, out, err = companion(monkeypatch, capsys, "voices", "list")
    assert code == 0 and " calm " in out and " brisk " in out and "mine" not in out
    assert err == (f"companion: warning: {path}:4: rate must be a number, not 'fast' "
                   "(this voice is left out until the file is fixed)\n")
    wav = str(tmp_path / "x.wav")
    code, out, err = companion(monkeypatch, capsys, "say", "Hello.", "--voice", "mine", "--to-wav", wav)
    assert (code, out, err) == (2, "", f"companion: {path}:4: rate must be a number, not 'fast'\n")
    code, out, err = companion(monkeypatch, capsys, "say", "Hello.", "--voice", "calm", "--to-wav", wav)
    assert code == 0 and "wrote" in out, err


def test_a_broken_config_says_how_to_repair_it(monkeypatch, capsys, private_dirs: Path) -> None:
    private_dirs.mkdir()
    path = private_dirs / "config.toml"
    path.write_text("minutes = 0\n")
    code, out, err = companion(monkeypatch, capsys, "config", "show")
    assert (code, out) == (2, "")
    assert err == (f"companion: {path}:1: minutes must be a whole number of minutes, 1 or more; fix it with: "
                   "companion config set minutes VALUE (or: companion config unset minutes)\n")
    assert companion(monkeypatch, capsys, "config", "unset", "minutes") == (0, "minutes: the built-in default applies\n", "")
    path.write_text("minutes = [\n")
    code, out, err = companion(monkeypatch, capsys, "config", "show")
    assert code == 2 and err.startswith(f"companion: {path}:1: not valid TOML")
    assert err.endswith("; edit the file to fix it\n") and err.count("\n") == 1


@pytest.mark.parametrize("command", [["routines", "validate"], ["routines", "show"], ["simulate", "s.txt", "--routine"]])
def test_a_missing_or_binary_routine_file_is_one_plain_line(monkeypatch, capsys, tmp_path: Path, command) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.txt").write_text("> no\n")
    code, out, err = companion(monkeypatch, capsys, *command, "nothere.toml")
    assert (code, out) == (2, "")
    assert err == "companion: no routine file nothere.toml; check its name and folder (see: companion routines list)\n"
    Path("binary.toml").write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe")
    code, out, err = companion(monkeypatch, capsys, *command, "binary.toml")
    assert (code, out) == (2, "")
    assert err == ("companion: binary.toml is not a text file; a routine is a TOML text file "
                   "(see the template in the README)\n")


def test_a_broken_routine_file_breaks_only_that_routine(monkeypatch, capsys, private_dirs: Path, tmp_path: Path) -> None:
    from test_plan import MINIMAL

    (private_dirs / "routines").mkdir(parents=True)
    (private_dirs / "routines" / "mini.toml").write_text(MINIMAL)
    broken = private_dirs / "routines" / "broken.toml"
    broken.write_text(MINIMAL.replace('name = "mini"', 'name = "broken"\ncolour = 3'))
    says = f"{broken}:2: unknown key 'colour' (expected one of: measure, minutes, name, phases, source, step, title)"
    code, out, err = companion(monkeypatch, capsys, "routines", "list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[:-1]] == ["foot-circulation", "mini"]
    assert err == f"companion: warning: {says} (this routine is left out until the file is fixed)\n"
    script = tmp_path / "s.txt"
    script.write_text("> no\n> no\n> no\n> no\n> 3\n")
    code, out, err = companion(monkeypatch, capsys, "simulate", str(script), "--routine", "mini")
    assert code == 0 and "This is mini" in out, err
    for args in (["simulate", str(script), "--routine", "broken"], ["routines", "validate", str(broken)]):
        assert companion(monkeypatch, capsys, *args) == (2, "", f"companion: {says}\n")


@pytest.mark.parametrize(("text", "says"), [
    ('name = "bad\ntitle = "x"\n', "bad.toml:1: not valid TOML: Illegal character '\\n' (it looks like an unclosed "
                                   "quote); edit the file to fix it"),
    ('name = "bad"\nsteps = [1, 2\ntitle = "x"\n', "bad.toml:3: not valid TOML: Unclosed array (it looks like an "
                                                   "unclosed quote or bracket, on this line or one before it); "
                                                   "edit the file to fix it"),
    ('name = "bad"\ntitle = "x" y\n', "bad.toml:2: not valid TOML: Expected newline or end of document after a "
                                      "statement; edit the file to fix it"),
])
def test_a_toml_syntax_mistake_says_what_to_do(monkeypatch, capsys, tmp_path: Path, text: str, says: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.toml").write_text(text)
    assert companion(monkeypatch, capsys, "routines", "validate", "bad.toml") == (2, "", f"companion: {says}\n")


def test_a_script_that_is_not_utf8_names_its_line_and_how_to_save_it(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    Path("e7.script").write_bytes(b"> no\n# Latin-1, as an old editor saves it:\n01:00 caf\xe9\n")
    assert companion(monkeypatch, capsys, "simulate", "e7.script") == (
        2, "", "companion: e7.script:3: not UTF-8 text; save the script as UTF-8 text\n")  # was "(UnicodeDecodeError)"
