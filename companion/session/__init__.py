"""The session engine: a pure state machine. Events in (tick, heard intent, end request), actions out."""
