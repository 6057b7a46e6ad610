"""What every process builds once from its settings: engine, sessions, secrets."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.config import Settings
from dlrhub.models import make_engine, make_session_factory
from dlrhub.services.crypto import SecretBox
from dlrhub.services.wakeups import Wakeups, bind


@dataclass
class Runtime:
    """The shared dependencies of a process; the composition roots build one."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Build the engine, session factory and secret box of ``settings``."""
        engine = make_engine(settings.effective_database_url, pool_size=settings.db_pool_size)
        return cls(settings, engine, make_session_factory(engine),
                   SecretBox(settings.secret_key))

    def waking(self, wakeups: Wakeups) -> Runtime:
        """Return this runtime with sessions that send their wake-ups to ``wakeups``."""
        return replace(self, sessions=bind(self.sessions, wakeups))

    def close(self) -> None:
        """Release the pooled connections."""
        self.engine.dispose()
