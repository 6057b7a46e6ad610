"""The embedded broker: kombu's file-system transport, with messages written atomically.

kombu's own ``filesystem`` transport creates a message file in the queue folder and only
then writes into it, while a consumer takes any file it sees there. Under load a
consumer takes a file in between, reads it empty, and its JSON error stops the worker
(seen with ``bench/ingest --stack embedded``: the worker exited, and ``dlrhub serve``
with it). Here a message is written to a folder beside the queue and renamed into it
when complete, so a consumer sees whole messages or none; a file that cannot be read as
a message all the same is set aside with a warning instead of stopping the worker.
Claimed files are moved to a folder beside the queue too, on the same file system, so
the move is one atomic rename (kombu moves them to the system's temporary folder, which
may be another file system, where a move is a copy).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any, ClassVar, cast

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils import json as kombu_json
from kombu.utils.objects import cached_property

log = logging.getLogger(__name__)

# kombu's virtual transport leaves these unannotated: typed here, once, through casts.
# kombu's JSON (not the standard one) encodes what its messages may carry.
_dumps = cast(Callable[[Any], str], kombu_json.dumps)
_loads = cast(Callable[[str], Any], kombu_json.loads)
_new_state = cast(Callable[[], virtual.BrokerState], virtual.BrokerState)


class Channel(filesystem.Channel):
    """A file-system channel whose messages appear in the queue folder only when whole."""

    @staticmethod
    def _beside(queue_folder: str, name: str) -> str:
        # Beside a queue folder: the same file system, so that a move is a rename.
        folder = Path(queue_folder).parent / name
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    @cached_property
    def _partial_folder(self) -> str:
        return self._beside(self.data_folder_out, "partial")

    @cached_property
    def _claimed_folder(self) -> str:
        return self._beside(self.data_folder_in, "claimed")

    # kombu's own classes name the second parameter differently (message, payload): no
    # signature matches both, so this one matches the class it overrides.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write ``payload`` beside the queue folder, then rename it into the queue."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self._partial_folder, name)
        try:
            with open(partial, "wb") as f:
                f.write(_dumps(payload).encode())
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"cannot add {name} to the queue") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        """Take the oldest whole message of ``queue``; raise ``Empty`` if there is none."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self._claimed_folder, name)
            try:
                # The rename is the claim: of several consumers exactly one succeeds.
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it first
            try:
                with open(claimed, "rb") as f:
                    payload = f.read()
                message = _loads(payload.decode())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                self._set_aside(claimed, name)
                continue
            if self.store_processed:
                # kept, as kombu keeps them; that folder may be on another file system
                shutil.move(claimed, os.path.join(self.processed_folder, name))
            else:
                os.remove(claimed)
            return message
        raise Empty()

    def _set_aside(self, claimed: str, name: str) -> None:
        # Messages only wake workers up (the inbox and the deliveries are in the
        # database, and the sweeper finds what a lost message would have started).
        bad = os.path.join(self._beside(self.data_folder_in, "unreadable"), name)
        log.warning("embedded broker: message %s is unreadable; kept as %s", name, bad)
        try:
            os.replace(claimed, bad)
        except OSError:
            log.warning("embedded broker: could not set %s aside", claimed, exc_info=True)


class Transport(filesystem.Transport):
    """kombu's file-system transport with :class:`Channel`, its bindings per folder."""

    Channel = Channel
    # kombu remembers declared bindings once per process, whatever the folder: a
    # process that used another broker folder before (the tests do) would skip writing
    # this folder's bindings, and its messages would go nowhere.
    _states: ClassVar[dict[str, virtual.BrokerState]] = {}

    def __init__(self, client: Any, **kwargs: Any) -> None:
        cast(Callable[..., None], super().__init__)(client, **kwargs)
        control = str(Path(client.transport_options.get("control_folder", "control"))
                      .resolve())
        self.state = self._states.setdefault(control, _new_state())
