"""A live session: the store, the engine, a real clock, and the inputs (keyboard or voice) around them.

Everything recorded goes to the database as it happens, so Ctrl-C, SIGTERM, a crash or a lost headset
never loses what was recorded. The first Ctrl-C/SIGTERM ends the session cleanly (the ratings can still
be given); a second one ends it at once.
"""

from __future__ import annotations

import queue
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from companion import paths
from companion.runner import Clock, Session, Sink, build_engine, run_live
from companion.session.engine import Engine
from companion.speech.phrases import load_phrases


@dataclass
class LiveOptions:
    routine: str = "foot-circulation"
    minutes: int | None = None  # None: the routine's own
    client: str = "me"
    db: Path | None = None
    cleared_by_physician: bool = False
    speed: float = 1.0
    lang: str = "en"


def read_lines(stream: TextIO, inbox: queue.SimpleQueue, only_input: bool = False) -> threading.Thread:
    """Typed commands (one per line) into the inbox, on a daemon thread. ``only_input``: the keyboard is the
    only way to answer (a typed session), so the end of its input is reported too."""
    def reader() -> None:
        for line in stream:
            if line.strip():
                inbox.put(("text", line.strip()))
        if only_input:
            inbox.put(("input ended",))

    thread = threading.Thread(target=reader, name="stdin-reader", daemon=True)
    thread.start()
    return thread


def end_on_signals(inbox: queue.SimpleQueue) -> Callable[[], None]:
    """Ctrl-C and SIGTERM end the session through the inbox; returns a function that restores the handlers.

    The inbox must be a ``SimpleQueue``: a handler runs on the main thread between two bytecodes, possibly
    while that thread holds a ``Queue``'s lock inside ``get``, and ``Queue.put`` would then wait forever."""
    count = {"n": 0}

    def handler(signum: int, _frame: object) -> None:
        count["n"] += 1
        name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        inbox.put(("end", f"ended by the user ({name})", count["n"] == 1))

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


def run(options: LiveOptions, make_outputs: Callable[[Engine], list[Sink]],
        start_inputs: Callable[[queue.SimpleQueue], Callable[[], None]], warn: Callable[[str], None]) -> int | None:
    """Run one live session; returns its id in the store (None if the database never worked: then the
    events are in a rescue file beside it). ``make_outputs`` gives the outputs for the engine (closed at
    the end when they have ``close``); ``start_inputs`` starts the threads that feed the inbox and returns
    a function that stops them; ``warn`` shows one line to the person."""
    from companion.recording import Recorder
    from companion.store import Store, StoreError

    path = options.db or paths.default_db()
    profile, resume_at = None, None
    try:
        with Store(path) as store:
            store.mark_interrupted()
            interrupted = store.last_interrupted(options.client)
            profile = store.profile(options.client)
        resume_at = interrupted.last_step["id"] if interrupted and interrupted.last_step else None
    except StoreError as exc:
        warn(f"companion: {exc} (the session goes on without last time's profile)")
    engine = build_engine(options.routine, options.minutes, profile, options.cleared_by_physician,
                          options.lang, resume_at, options.speed)
    minutes = engine.options.minutes  # as chosen, else the routine's own
    recorder = Recorder(lambda: Store(path),
                        lambda store: store.begin_session(options.client, engine.routine.name, minutes),
                        warn, rescue_next_to=path,
                        about={"client": options.client, "routine": engine.routine.name, "minutes": minutes})
    outputs = make_outputs(engine)
    session = Session(engine, [recorder, *outputs])
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    restore = end_on_signals(inbox)
    stop_inputs = start_inputs(inbox)
    try:
        run_live(session, Clock(options.speed), inbox, load_phrases(options.lang))
    finally:
        recorder.close()  # everything recorded is in the store before anything else can go wrong
        for output in outputs:
            if hasattr(output, "close"):
                output.close()
        restore()  # from here Ctrl-C interrupts at once, even the last words being said
        stop_inputs()
    return recorder.session_id
