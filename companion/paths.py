"""Where companion keeps its files: user config, user data (database, models, speech cache)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "companion"


def config_dir() -> Path:
    """The user's config directory (routines, voices, config.toml); COMPANION_CONFIG_DIR overrides."""
    return Path(os.environ.get("COMPANION_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """The user's data directory (database, models); COMPANION_DATA_DIR overrides."""
    return Path(os.environ.get("COMPANION_DATA_DIR") or platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Cache of synthesised speech; COMPANION_CACHE_DIR overrides."""
    return Path(os.environ.get("COMPANION_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def default_db() -> Path:
    """The session database: COMPANION_DB, else history.sqlite3 in the data directory."""
    return Path(os.environ.get("COMPANION_DB") or data_dir() / "history.sqlite3")


def models_dir() -> Path:
    return data_dir() / "models"
