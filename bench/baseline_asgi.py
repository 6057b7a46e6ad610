"""The baseline app behind dlrhub's own bridge, for ``python -m dlrhub.api.server --app``.

``bench/ingest`` serves it with the product's server command, so that the product and
the baseline differ only by the app: same event loop, body reading and thread pool.
"""

from baseline_app import create_app

from dlrhub.api.bridge import WsgiBridge
from dlrhub.config import get_settings

_settings = get_settings()
app = WsgiBridge(create_app(), max_body=_settings.max_body_bytes,
                 body_timeout=_settings.body_timeout, threads=_settings.api_threads)
