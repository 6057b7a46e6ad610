"""Settings and logging; imports nothing of the project."""

from config.logging import configure_logging
from config.settings import Settings, get_settings

__all__ = ["Settings", "configure_logging", "get_settings"]
