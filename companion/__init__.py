"""companion: an offline, voice-guided session companion for foot massage that improves circulation."""

__version__ = "0.1.0"
