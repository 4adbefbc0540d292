"""The config file: defaults that are checked when set, written atomically, and located when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.config import Config, config_path, load_config, set_value, unset_value
from companion.errors import UserError


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_no_file_means_nothing_set() -> None:
    assert load_config() == Config()
    assert not config_path().exists()


def test_set_values_are_kept_typed_and_reloaded(config_dir: Path) -> None:
    set_value("engine", "vosk")
    set_value("minutes", "25")
    set_value("input-device", "USB mic [2]")
    set_value("client", 'Maria "M" O\'Neil')
    set_value("voice", "calm")
    set_value("routine", "foot-circulation")
    config = load_config()
    assert config == Config(voice="calm", engine="vosk", input_device="USB mic [2]", minutes=25,
                            routine="foot-circulation", client='Maria "M" O\'Neil')
    assert config_path() == config_dir / "config.toml"
    assert "minutes = 25\n" in config_path().read_text()
    assert not [p for p in config_dir.iterdir() if p.name != "config.toml"]  # no temporary files left
    unset_value("minutes")
    assert load_config().minutes is None and load_config().engine == "vosk"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("speed", "2", "unknown setting 'speed'; known: voice, engine, lang, input_device, output_device, "
                       "minutes, routine, client"),
        ("engine", "siri", "engine must be one of auto, pocketsphinx, vosk, whisper, text, not 'siri'"),
        ("lang", "fr", "lang must be one of en, ko, not 'fr'"),
        ("minutes", "0", "minutes must be a whole number of minutes, 1 or more, not '0'"),
        ("minutes", "twenty", "minutes must be a whole number of minutes, 1 or more, not 'twenty'"),
        ("client", "  ", "client must be a non-empty text, not '  '"),
        ("voice", "robot", "voice must be a voice profile: "),
        ("routine", "nope", "routine must be a routine name (foot-circulation"),
    ],
)
def test_bad_values_are_refused_with_the_allowed_ones(key: str, value: str, message: str) -> None:
    with pytest.raises(UserError) as error:
        set_value(key, value)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
    assert not config_path().exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('engine = "vosk"\nminutes = 0\n', ":2: minutes must be a whole number of minutes, 1 or more; "
                                             "fix it with: companion config set minutes VALUE "
                                             "(or: companion config unset minutes)"),
        ('engine = "vosk"\n\ncolour = "blue"\n', ":3: unknown setting 'colour' (known: voice, engine, lang, "
                                                 "input_device, output_device, minutes, routine, client); "
                                                 "delete that line from the file"),
        ('lang = "en"\nengine = vosk\n', ":2: not valid TOML"),
        ('minutes = "20"\n', ":1: minutes must be a whole number"),
        ('"\\u000a" = []\n', ":1: unknown setting '\\n'"),  # a quoted key with a line break: still one line
    ],
)
def test_a_hand_edited_mistake_is_located(config_dir: Path, text: str, message: str) -> None:
    config_dir.mkdir()
    config_path().write_text(text)
    with pytest.raises(UserError) as error:
        load_config()
    assert str(error.value).startswith(f"{config_path()}{message}")


def test_cli_show_set_path(config_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["config", "set", "engine", "pocketsphinx"])
    assert result.exit_code == 0 and "engine = pocketsphinx" in result.output
    result = runner.invoke(main, ["config", "show"])
    assert "engine         pocketsphinx" in result.output and "minutes        not set" in result.output
    assert runner.invoke(main, ["config", "path"]).output == f"{config_dir / 'config.toml'}\n"
    result = runner.invoke(main, ["config", "set", "engine", "siri"])
    assert result.exit_code != 0 and isinstance(result.exception, UserError)


@pytest.mark.parametrize("command", [["unset", "minutes"], ["set", "minutes", "20"]])
def test_set_and_unset_repair_a_wrong_value(config_dir: Path, command: list[str]) -> None:
    config_dir.mkdir()
    config_path().write_text('engine = "vosk"\nminutes = -5\n')
    result = CliRunner().invoke(main, ["config", *command])
    assert result.exit_code == 0, result.exception
    assert load_config() == Config(engine="vosk", minutes=20 if command[0] == "set" else None)


def test_a_repair_is_still_checked_and_other_mistakes_still_count(config_dir: Path) -> None:
    config_dir.mkdir()
    config_path().write_text('engine = "vosk"\nminutes = -5\n')
    with pytest.raises(UserError, match="^minutes must be a whole number of minutes, 1 or more, not '0'"):
        set_value("minutes", "0")
    with pytest.raises(UserError, match=rf"^{config_path()}:2: minutes .*companion config unset minutes\)$"):
        set_value("engine", "whisper")
    assert config_path().read_text() == 'engine = "vosk"\nminutes = -5\n'
