"""Session reports (text, Markdown, HTML) from sessions simulated into a real database."""

from __future__ import annotations

import base64
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.measures import load_routine_quietly
from companion.report import build_report, render, render_html, render_markdown, render_text
from companion.runner import Session, StoreSink, build_engine, simulate
from companion.script import parse_script
from companion.speech.phrases import load_phrases
from companion.store import Store

SCRIPT = """\
> no
> no
> no
> yes
> left
> heel
> 2
> 3
> 4
> 2
05:00 pause
05:20 resume
06:00 more time
07:30 pain
12:10 skip
> 4
> 4
> 5
> 4
"""


def simulate_into(db: Path, script: str, client: str = "Maria", minutes: int = 20) -> int:
    with Store(db) as store:
        engine = build_engine("foot-circulation", minutes, store.profile(client))
        session_id = store.begin_session(client, engine.routine.name, minutes)
        simulate(Session(engine, [StoreSink(store, session_id)]), parse_script(script), load_phrases("en"))
    return session_id


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "history.sqlite3"
    simulate_into(path, SCRIPT)
    return path


@pytest.fixture(scope="module")
def text(db: Path) -> str:
    with Store(db) as store:
        return render(store.session(1), "text")


def test_text_shows_the_safety_questions_not_their_ids(text: str) -> None:
    section = text.split("Safety check:\n")[1].split("\n\n")[0].splitlines()
    assert section == [
        "  - Known circulation disorder, blood clot, or diabetes affecting the feet? no",
        "  - Open wound, skin condition or infection on the feet? no",
        "  - Swelling in the feet or ankles? no",
        "  - A painful spot, such as a heel spur? yes",
        "  - Which foot has the painful spot? left",
        "  - Which area has the painful spot? heel",
    ]


def test_text_steps_read_naturally(text: str) -> None:
    steps = text.split("Steps done (")[1].split("\n\n")[0]
    assert "  - 0:00  both feet: cleansing foot soak, 2 min" in steps
    assert "both foot" not in text and "none pressure" not in text
    assert re.search(r"left foot: palm warming, light pressure, 1 min 15 s", steps)
    # 30 s added by "more time" count in the step that got them
    assert "left foot: long strokes alternating with short circular strokes, light pressure, 2 min\n" in steps
    assert re.search(r"  - 12:\d\d  right foot: .*\(cut short: asked to skip\)", steps)


def test_text_says_what_changed_and_why(text: str) -> None:
    changes = text.split("What changed and why:\n")[1].split("\n\n")[0].splitlines()
    assert changes[0].startswith("  - 0:00  painful spot reported in the safety check: left foot, heel marked sore;")
    assert "left out left foot, heel" in changes[0]
    assert "  - 5:00  asked to pause: paused" in changes
    assert "  - 5:20  asked to resume: resumed" in changes
    assert any(c.startswith("  - 6:00  asked for more time: left foot (long strokes") and c.endswith("30 s longer")
               for c in changes)
    pain = next(c for c in changes if c.startswith("  - 7:30  pain reported:"))
    assert "left foot marked sore" in pain and "left out left foot, toes" in pain
    assert any(c.startswith("  - 12:") and "asked to skip" in c and "cut short" in c for c in changes)


def test_text_ratings_are_labelled_in_the_routine_order(text: str) -> None:
    ratings = text.split("Ratings (before, then after):\n")[1].splitlines()
    assert ratings == [
        "  - warmth of the feet: 2 then 4 (+2)",
        "  - skin colour: 3 then 4 (+1)",
        "  - swelling: 4 then 5 (+1)",
        "  - comfort: 2 then 4 (+2)",
    ]
    assert "Noted for next time:\n  - sore: left foot, heel (painful spot reported in the safety check)" in text


def test_markdown_has_headings_and_tables(db: Path) -> None:
    with Store(db) as store:
        markdown = render(store.session(1), "markdown")
    assert markdown.startswith("# Session 1 for Maria\n")
    for heading in ("## Safety check", "## Steps done (", "## What changed and why", "## Ratings"):
        assert f"\n{heading}" in markdown
    assert "| Swelling in the feet or ankles? | no |" in markdown
    assert "| warmth of the feet | 2 | 4 | +2 |" in markdown
    assert "| 0:00 | both feet | cleansing foot soak | — | 2 min |" in markdown


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_one_accessible_self_contained_page(db: Path) -> None:
    with Store(db) as store:
        page = render(store.session(1), "html")
    parser = _Page()
    parser.feed(page)
    tags = parser.tags
    names = [tag for tag, _ in tags]
    assert ("html", {"lang": "en"}) in tags
    assert names.count("h1") == 1 and names.count("h2") >= 4
    assert all(attrs.get("scope") in ("col", "row") for tag, attrs in tags if tag == "th")
    assert not any(tag in ("link", "script") for tag in names)  # nothing fetched from elsewhere
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    images = [attrs for tag, attrs in tags if tag == "img"]
    assert len(images) == 1
    source, alt = images[0]["src"], images[0]["alt"]
    assert source.startswith("data:image/png;base64,")
    assert base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "warmth of the feet 2 then 4 (+2)" in alt and "comfort 2 then 4 (+2)" in alt
    assert "<style>" in page and "color-scheme: light dark" in page


def test_html_escapes_what_people_typed(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with Store(db) as store:
        session_id = store.begin_session("<b>Jo & Co</b>", "no-such-routine", 15)
        store.record(session_id, 1, "safety", {"question": "circulation", "answer": "no", "text": "<script>"})
        report = build_report(store.session(session_id), None)
    page = render_html(report, chart_png=b"")
    assert "<b>Jo" not in page and "&lt;b&gt;Jo &amp; Co&lt;/b&gt;" in page
    assert "<script>" not in page
    assert "No ratings recorded." in page
    markdown = render_markdown(report)
    assert "\\<b\\>Jo & Co\\</b\\>" in markdown


def test_a_session_of_a_lost_routine_still_reports(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with Store(db) as store:
        session_id = store.begin_session("Jo", "gone-routine", 15)
        store.record(session_id, 0, "safety", {"question": "new-question", "answer": "skip", "text": ""})
        store.record(session_id, 3, "rating", {"measure": "warmth", "value": 3, "when": "before"})
        store.record(session_id, 5, "step", {"id": "x", "foot": "both", "area": "whole", "technique": "soak",
                                             "pressure": "none", "duration": 60})
        store.record(session_id, 20, "plan", {"change": "skip", "step": "y", "reason": "pain reported"})
        detail = store.session(session_id)
    assert load_routine_quietly("gone-routine") is None
    text = render_text(build_report(detail))
    assert "Session 1 for Jo: routine gone-routine, 15 minutes planned." in text
    assert "  - new-question? skipped (not answered)" in text
    assert "  - 0:05  both feet: soak, 1 min" in text
    assert "  - 0:20  pain reported: left out y" in text
    assert "  - warmth: 3 then not rated" in text
    assert "not ended (still running, or stopped unmarked)" in text


def test_cli_writes_private_files_in_each_format(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt, marker in (("text", "Safety check:"), ("markdown", "## Ratings"), ("html", "<!DOCTYPE html>")):
        out = tmp_path / f"report.{fmt}"
        out.write_text("old")
        out.chmod(0o644)
        result = runner.invoke(main, ["report", "1", "--db", str(db), "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert marker in out.read_text()
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    result = runner.invoke(main, ["report", "1", "--db", str(db)])
    assert result.exit_code == 0 and "What changed and why:" in result.output


def text_report_of(tmp_path: Path, script: str) -> str:
    """The text report of a session simulated from ``script`` into a fresh database."""
    db = tmp_path / "history.sqlite3"
    simulate_into(db, script)
    with Store(db) as store:
        return render(store.session(1), "text")


def test_a_step_left_by_going_back_shows_the_time_it_really_took(tmp_path: Path) -> None:
    text = text_report_of(tmp_path, "> no\n> no\n> no\n> no\n> 2\n> 3\n> 4\n> 2\n00:30 skip\n01:20 go back\n")
    assert "0:30  both feet: positioning, 50 s (cut short: went back)" in text
    assert "1:20  both feet: cleansing foot soak, 2 min\n" in text


def test_the_reasons_name_steps_in_words_not_by_their_ids(tmp_path: Path) -> None:
    text = text_report_of(tmp_path, "> no\n> no\n> no\n> no\n> 2\n> 3\n> 4\n> 2\n06:00 more time\n"
                                    "06:10 less time\n11:35 back\n11:40 skip\n")
    changes = text.split("What changed and why:\n")[1].split("\n\n")[0]
    assert not re.search(r"\b(left|right)-[a-z]", changes), changes  # "left-long-and-circular"
    whys = [line.split("  ", 2)[2].split(": ")[0] for line in changes.splitlines()]
    long_strokes = "the long strokes alternating with short circular strokes on your left foot"
    assert f"to stay on time after more time for {long_strokes}" in whys
    assert f"time given back after less time for {long_strokes}" in whys
    assert "time given back after skipping the final circle of strokes on your left foot" in whys


def test_steps_done_show_the_pressure_used_and_a_step_stopped_early(tmp_path: Path) -> None:
    text = text_report_of(tmp_path, "> no\n> no\n> no\n> no\n> 3\n> 3\n> 3\n> 3\n07:43 firmer\n07:50 pause\n"
                                    "08:20 resume\n08:30 stop\n> yes\n> 4\n> 4\n> 4\n> 4\n")
    assert "7:15  left foot, ball: fingertip friction in very small circles, medium, then firm pressure, 30 s\n" in text
    # 5 s before the pause and 10 after it, of its 30
    assert "7:45  left foot, arch: fingertip friction in very small circles, medium pressure, 15 s (stopped by the " \
           "user)" in text


def test_a_step_ended_by_stop_shows_the_time_until_the_stop_not_the_ratings_after_it(tmp_path: Path) -> None:
    """Stopped 6 s into a 1-minute step, confirmed 3 s later; the ratings then took more than a minute."""
    with Store(tmp_path / "h.sqlite3") as store:
        session_id = store.begin_session("Jo", "foot-circulation", 20)
        store.record(session_id, 300, "earcon", {"name": "step"})
        store.record(session_id, 300, "step", {"id": "right-long-strokes", "foot": "right", "area": "whole",
                                               "technique": "long strokes", "pressure": "light", "duration": 60})
        store.record(session_id, 306, "intent", {"intent": "stop", "text": "stop", "value": None})
        store.record(session_id, 309, "intent", {"intent": "yes", "text": "yes", "value": None})
        store.record(session_id, 309, "earcon", {"name": "step"})  # the ratings begin
        store.record(session_id, 309, "say", {"text": "We'll stop the massage here. Rest the feet for a moment.",
                                              "kind": "announce"})
        for t, measure in ((330, "warmth"), (350, "colour"), (365, "swelling"), (380, "comfort")):
            store.record(session_id, t, "rating", {"measure": measure, "value": 4, "when": "after"})
        store.record(session_id, 390, "end", {"reason": "stopped by the user", "duration": 390})
        text = render_text(build_report(store.session(session_id)))
    assert "  - 5:00  right foot: long strokes, light pressure, 9 s (stopped by the user)\n" in text  # was "1 min"


def test_every_format_says_changes_in_words_not_arrows_a_screen_reader_reads_as_right_arrow(db: Path) -> None:
    with Store(db) as store:
        detail = store.session(1)
    for fmt in ("text", "markdown", "html"):
        report = render(detail, fmt) if fmt != "html" else render_html(build_report(detail), chart_png=b"")
        assert "→" not in report, fmt
        assert "circular strokes): pressure from medium to light" in report, fmt  # was "medium → light"
