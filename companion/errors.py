"""Errors a person can fix: each carries one line that says what is wrong and what to do."""

from __future__ import annotations


class UserError(Exception):
    """A problem with input, files, devices or models. The CLI prints it on one line and exits with
    ``exit_code`` (2, as for a usage error, unless said otherwise); never a traceback."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class AudioDeviceError(UserError):
    """No audio device, an unknown one, or one lost mid-session."""

    exit_code = 3


class ModelError(UserError):
    """A speech model that is missing, broken or cannot be installed."""

    exit_code = 4
