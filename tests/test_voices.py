"""Voice profiles: the shipped ones, validation with FILE:LINE, user overrides, the default."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from companion.errors import UserError
from companion.speech import voices
from companion.speech.voices import (
    available_voices, default_voice_name, list_voices, load_voice, parse_profile, shipped_voices_dir, voice_problems,
)

GOOD = '''# a comment
name = "mine"
description = "My voice"
engine = "pyttsx3"
voice = "gmw/en-gb-x-rp"
rate = 160
volume = 0.7
sentence_pause = 0.5
earcons = false
'''


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path))
    return tmp_path


def test_shipped_profiles_fit_their_users() -> None:
    found = {p.name: p for p in list_voices()}
    assert {"calm", "clear", "brisk", "calm-piper"} <= set(found)
    calm, clear, brisk = found["calm"], found["clear"], found["brisk"]
    assert clear.rate < calm.rate < brisk.rate
    assert clear.sentence_pause > calm.sentence_pause > brisk.sentence_pause
    assert clear.earcons and clear.volume == 1.0
    assert calm.engine == "pyttsx3" and found["calm-piper"].engine == "piper"
    assert found["calm-piper"].voice == "en_US-joe-medium"
    assert all(p.source is not None and p.source.parent == shipped_voices_dir() for p in found.values())


def test_shipped_folder_is_the_repository_voices_folder() -> None:
    assert shipped_voices_dir() == Path(__file__).resolve().parents[1] / "voices"


def test_a_full_profile_parses(tmp_path: Path) -> None:
    profile = parse_profile(GOOD, tmp_path / "mine.toml")
    assert (profile.name, profile.voice, profile.rate, profile.volume) == ("mine", "gmw/en-gb-x-rp", 160.0, 0.7)
    assert profile.sentence_pause == 0.5 and profile.earcons is False and isinstance(profile.rate, float)


@pytest.mark.parametrize(
    "change, line, message",
    [
        (('rate = 160', 'rate = "fast"'), 6, "rate must be a number"),
        (('rate = 160', 'rate = 20'), 6, "rate 20 is out of range"),
        (('volume = 0.7', 'volume = 1.5'), 7, "volume 1.5 is out of range"),
        (('volume = 0.7', 'volume = 0'), 7, "volume 0 is out of range"),
        (('sentence_pause = 0.5', 'sentence_pause = -1'), 8, "sentence_pause -1 is out of range"),
        (('earcons = false', 'earcons = "no"'), 9, "earcons must be true or false"),
        (('engine = "pyttsx3"', 'engine = "festival"'), 4, "engine 'festival' is not one of"),
        (('name = "mine"', 'name = "other"'), 2, "must match the file name 'mine.toml'"),
        (('name = "mine"', 'name = "Mine Voice"'), 2, "must be lowercase"),
        (('voice = "gmw/en-gb-x-rp"', 'voice = 3'), 5, "voice must be text"),
        (('earcons = false', 'earcons = false\nspeed = 2'), 10, "unknown key 'speed'"),
        (('voice = "gmw/en-gb-x-rp"', 'voice = "gmw/en-gb-x-rp'), 5, "not valid TOML"),
        (('voice = "gmw/en-gb-x-rp"\n', ''), 1, "missing 'voice'"),
    ],
)
def test_mistakes_name_file_and_line(tmp_path: Path, change: tuple[str, str], line: int, message: str) -> None:
    path = tmp_path / "mine.toml"
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(UserError) as caught:
        parse_profile(text, path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UserError) as caught:
        load_voice("whisper-soft")
    text = str(caught.value)
    assert "unknown voice profile 'whisper-soft'" in text
    for name in ("brisk", "calm", "calm-piper", "clear"):
        assert name in text


def test_user_profiles_add_and_override(user_config: Path) -> None:
    folder = user_config / "voices"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD)
    (folder / "calm.toml").write_text(GOOD.replace('"mine"', '"calm"'))
    assert load_voice("mine").rate == 160
    calm = load_voice("calm")
    assert calm.voice == "gmw/en-gb-x-rp" and calm.source == folder / "calm.toml"
    assert [p.name for p in list_voices()].count("calm") == 1


def test_a_broken_user_file_breaks_only_its_own_voice(user_config: Path) -> None:
    folder = user_config / "voices"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD.replace("rate = 160", "rate = 1000"))
    (folder / "calm.toml").write_text(GOOD.replace('"mine"', '"calm"').replace("rate = 160", 'rate = "fast"'))
    (folder / "ok.toml").write_text(GOOD.replace('"mine"', '"ok"'))
    names = [p.name for p in list_voices()]
    assert "mine" not in names and "calm" not in names and {"ok", "brisk", "clear"} <= set(names)
    assert voice_problems() == [f"{folder / 'calm.toml'}:6: rate must be a number, not 'fast'",
                                f"{folder / 'mine.toml'}:6: rate 1000 is out of range; use a value from 80 to 400 "
                                "words per minute"]
    with pytest.raises(UserError, match=rf"^{folder / 'mine.toml'}:6: rate 1000"):
        load_voice("mine")
    with pytest.raises(UserError, match=rf"^{folder / 'calm.toml'}:6: rate must be a number"):
        load_voice("calm")  # the user's broken calm is not silently replaced by the shipped one
    assert load_voice("ok").rate == 160


def test_a_user_file_mends_a_broken_shipped_one(user_config: Path, tmp_path_factory: pytest.TempPathFactory,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = tmp_path_factory.mktemp("shipped")
    (shipped / "mine.toml").write_text(GOOD.replace("volume = 0.7", "volume = 7"))
    monkeypatch.setattr(voices, "shipped_voices_dir", lambda: shipped)
    assert voice_problems() and list_voices() == []
    (user_config / "voices").mkdir()
    (user_config / "voices" / "mine.toml").write_text(GOOD)
    assert voice_problems() == [] and load_voice("mine").volume == 0.7


def test_default_is_calm_piper_when_piper_is_installed() -> None:
    piper_ready = voices.availability(load_voice("calm-piper")) is None
    assert default_voice_name() == ("calm-piper" if piper_ready else "calm")


def test_default_is_calm_without_piper(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a))
    assert default_voice_name() == "calm"
    assert "calm-piper" not in [p.name for p in available_voices()]
    assert "pip install companion[piper]" in voices.availability(load_voice("calm-piper"))


def test_profile_with_unknown_espeak_voice_is_unavailable(user_config: Path) -> None:
    folder = user_config / "voices"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD.replace("gmw/en-gb-x-rp", "no-such-voice"))
    assert "unknown espeak-ng voice" in voices.availability(load_voice("mine"))
