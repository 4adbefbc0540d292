"""Rating charts: real PNGs drawn by matplotlib, checked for their size, colours and layout."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from companion.cli import main
from companion.plot import AFTER_COLOUR, BEFORE_COLOUR, history_chart_png, ratings_chart_png
from companion.report import RatingRow
from companion.store import Store

MEASURES = ("warmth", "colour", "swelling", "comfort")


def colour_pixels(png: bytes, hex_colour: str) -> int:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - target) <= 12).all(axis=2).sum())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Maria: four sessions rated before and after (one after-rating skipped); Jo: one session."""
    path = tmp_path / "history.sqlite3"
    with Store(path) as store:
        for n in range(4):
            session_id = store.begin_session("Maria", "foot-circulation", 20)
            for k, measure in enumerate(MEASURES):
                store.record(session_id, k, "rating", {"measure": measure, "value": 2 + (n + k) % 2, "when": "before"})
                after = None if (n, measure) == (2, "comfort") else min(5, 3 + (n + k) % 3)
                store.record(session_id, 900 + k, "rating", {"measure": measure, "value": after, "when": "after"})
            store.end_session(session_id, "routine complete", 1000)
        jo = store.begin_session("Jo", "foot-circulation", 15)
        store.record(jo, 0, "rating", {"measure": "warmth", "value": 1, "when": "before"})
    return path


def test_history_chart_has_a_panel_per_measure_with_both_series(db: Path) -> None:
    with Store(db) as store:
        summaries = store.sessions("Maria")
    png = history_chart_png(summaries, {"warmth": "warmth of the feet"}, {"warmth": ("cold", "warm")}, MEASURES)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width >= 1000 and image.height >= 700  # 2 x 2 panels, readable at a glance
    assert colour_pixels(png, BEFORE_COLOUR) > 500
    assert colour_pixels(png, AFTER_COLOUR) > 500


def test_one_measure_is_one_panel(db: Path) -> None:
    with Store(db) as store:
        png = history_chart_png(store.sessions("Jo"))
    image = Image.open(io.BytesIO(png))
    assert image.width < 800  # one column
    assert colour_pixels(png, BEFORE_COLOUR) > 50


def test_no_ratings_is_an_error_not_an_empty_chart() -> None:
    with pytest.raises(ValueError):
        history_chart_png([])


def test_session_chart_shows_before_and_after_of_each_measure() -> None:
    rows = [RatingRow("warmth of the feet", 2, 4), RatingRow("comfort", 3, None)]
    png = ratings_chart_png(rows, {"warmth of the feet": ("cold", "warm")})
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert colour_pixels(png, BEFORE_COLOUR) > 100 and colour_pixels(png, AFTER_COLOUR) > 50


def test_history_plot_command_writes_a_private_png(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "maria.png"
    result = CliRunner().invoke(main, ["history", "--db", str(db), "--client", "Maria", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Session 1, " in result.output  # the history is still listed


def test_history_plot_is_a_png_file_by_its_name(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "maria.jpg"
    result = CliRunner().invoke(main, ["history", "--db", str(db), "--client", "Maria", "--plot", str(out)])
    assert "--plot draws a PNG image; give a file name ending in .png, not maria.jpg" in str(result.exception)
    assert not out.exists()


def test_history_plot_needs_a_client_when_there_are_several(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.png"
    result = CliRunner().invoke(main, ["history", "--db", str(db), "--plot", str(out)])
    assert result.exit_code != 0
    assert "add --client (one of: Jo, Maria)" in str(result.exception or result.output)
    assert not out.exists()
