"""The ASGI entry point that ``dlrhub api`` serves: the WSGI app behind a body-reading bridge."""

from dlrhub.api.bridge import WsgiBridge
from dlrhub.api.callback_lane import lane_of
from dlrhub.api.routes import streamed_upload
from dlrhub.api.server import die_with_supervisor
from dlrhub.api.wsgi import api
from dlrhub.config import configure_logging, get_settings

die_with_supervisor()
_settings = get_settings()
# Each server worker is a fresh interpreter: it logs as the `dlrhub` command does.
configure_logging(_settings.log_level, json=_settings.log_json)

app = WsgiBridge(api.app, max_body=_settings.max_body_bytes,
                 body_timeout=_settings.body_timeout, threads=_settings.api_threads,
                 streamed=streamed_upload, stream_threads=_settings.upload_threads,
                 min_stream_rate=_settings.upload_min_rate,
                 lane=lane_of(_settings, api.callbacks))
