"""The session screen, rendered to a recording console at points of a simulated session."""

from __future__ import annotations

import io

from rich.console import Console

from companion.runner import Session, build_engine
from companion.screen import Screen
from companion.session.events import EndRequested, Heard, Tick
from companion.session.intents import Intent
from session_helpers import Collector

SAFE_ANSWERS = [Intent("no", text="no")] * 4 + [Intent("number", text=str(n), value=n) for n in (2, 3, 4, 2)]


def screen_text(screen: Screen) -> str:
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(screen.render())
    return console.export_text()


def started(minutes: int = 20) -> tuple[Session, Screen, Collector]:
    engine = build_engine("foot-circulation", minutes)
    screen = Screen(engine, console=Console(file=io.StringIO(), width=100))
    collector = Collector()
    session = Session(engine, [screen, collector])
    session.start(0.0)
    return session, screen, collector


def answer_opening(session: Session) -> None:
    for intent in SAFE_ANSWERS:
        session.feed(Heard(intent, 0.0))


def run_to(session: Session, start: int, end: int) -> None:
    for t in range(start, end + 1):
        session.feed(Tick(float(t)))


def test_opening_shows_the_question_and_the_whole_session_left() -> None:
    session, screen, _ = started()
    text = screen_text(screen)
    assert "Foot massage for circulation" in text
    assert "Question: Is there a known circulation disorder" in text
    assert "Safety check and first ratings" in text
    assert "20:00 left" in text
    screen.close()


def test_a_step_shows_where_how_and_how_far() -> None:
    session, screen, collector = started()
    answer_opening(session)
    run_to(session, 1, 200)  # 2 min soak, 1 min positioning, then left palm warming (75 s) from 3:00
    step = collector.of("step")[-1]
    assert step["id"].startswith("left") and step["technique"] == "palm warming"
    text = screen_text(screen)
    assert "Warming the tissue" in text
    assert "Foot       left foot" in text
    assert "Area       whole foot" in text
    assert "Technique  palm warming" in text
    assert f"Pressure   {step['pressure']}" in text
    assert "0:20 of 1:15" in text
    assert f"{(1200 - 200) // 60}:{(1200 - 200) % 60:02d} left" in text
    screen.close()


def test_what_was_heard_and_what_it_did() -> None:
    session, screen, _ = started()
    answer_opening(session)
    run_to(session, 1, 30)
    session.feed(Heard(Intent("pause", text="pause please"), 30.0))
    text = screen_text(screen)
    assert "PAUSED: asked to pause. Say resume." in text
    assert "“pause please” → Paused. Say resume when you are ready." in text
    session.feed(Heard(Intent("more_time", text="more time"), 31.0))  # paused: not acted on
    assert "“more time” → We are paused." in screen_text(screen)
    screen.close()


def test_an_intent_the_engine_ignores_says_so() -> None:
    session, screen, _ = started()
    session.feed(Heard(Intent("skip_ahead_unknown", text="blah"), 0.0))  # during a question: not understood
    assert "“blah” → Sorry, I didn't catch that." in screen_text(screen)
    screen.close()


def test_the_end_shows_the_reason_and_nothing_left() -> None:
    session, screen, _ = started()
    answer_opening(session)
    run_to(session, 1, 10)
    session.feed(EndRequested("stopped by the user", 11.0, ratings=False))
    text = screen_text(screen)
    assert "Session ended: stopped by the user." in text
    assert "0:00 left" in text
    screen.close()


def test_refreshes_on_a_terminal_and_closes_cleanly() -> None:
    engine = build_engine("foot-circulation", 20)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, color_system="standard")
    assert Screen.supported(console)
    screen = Screen(engine, console=console, refresh_per_second=50)
    session = Session(engine, [screen])
    session.start(0.0)
    answer_opening(session)
    run_to(session, 1, 5)
    screen.close()
    screen.close()  # twice is fine
    drawn = out.getvalue()
    assert "Foot massage for circulation" in drawn and "\x1b[" in drawn
    assert "\x1b[40m" not in drawn and "\x1b[47m" not in drawn  # no black or white background


def test_not_supported_on_a_pipe_or_a_dumb_terminal() -> None:
    assert not Screen.supported(Console(file=io.StringIO()))
    assert not Screen.supported(Console(file=io.StringIO(), force_terminal=True, width=30))
    assert not Screen.supported(Console(file=io.StringIO(), force_terminal=True, force_interactive=False,
                                        width=100, _environ={"TERM": "dumb"}))


def test_a_screen_on_a_pipe_does_not_crash() -> None:
    engine = build_engine("foot-circulation", 20)
    out = io.StringIO()
    screen = Screen(engine, console=Console(file=out, width=100))
    session = Session(engine, [screen])
    session.start(0.0)
    answer_opening(session)
    run_to(session, 1, 3)
    screen.close()
    assert "Foot massage for circulation" in out.getvalue()
