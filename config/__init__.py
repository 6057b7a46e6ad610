"""Settings and logging; imports nothing of the project."""

from dlrhub.config.logging import configure_logging
from dlrhub.config.settings import Settings, get_settings

__all__ = ["Settings", "configure_logging", "get_settings"]
