"""docker-compose.scale.yml holds together with docker-compose.yml and deploy/nginx.conf.

No Docker engine runs here (docs/scaling.md says so): these checks read the files as
Compose would merge them and catch what would break the shape, a service renamed in one
file, a proxy the API does not believe, a role no worker consumes.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Loader(yaml.SafeLoader):
    """Compose's YAML: ``!reset`` empties what the base file set."""


_Loader.add_constructor("!reset", lambda loader, node: [])


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.load((ROOT / name).read_text(), Loader=_Loader)  # noqa: S506
    return doc


BASE = _load("docker-compose.yml")
SCALE = _load("docker-compose.scale.yml")


def test_every_scaled_service_is_a_base_service_or_extends_one() -> None:
    for name, service in SCALE["services"].items():
        if name == "lb":
            assert "image" in service
            continue
        base = service.get("extends", {}).get("service", name)
        assert base in BASE["services"], name
        if "extends" in service:
            assert service["extends"]["file"] == "docker-compose.yml"


def test_only_the_proxy_publishes_a_port_and_the_api_believes_it_alone() -> None:
    services = SCALE["services"]
    published = {n for n, s in services.items() if s.get("ports")}
    assert published == {"lb"}
    for name in ("api", "worker", "relay"):  # replicas cannot share a host port
        assert services[name]["ports"] == []
    proxy = services["lb"]["networks"]["default"]["ipv4_address"]
    subnet = SCALE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy) in ipaddress.ip_network(subnet)
    assert services["api"]["environment"]["DLRHUB_FORWARDED_ALLOW_IPS"] == proxy
    assert services["api"]["deploy"]["replicas"] >= 2


def test_the_workers_split_the_roles_and_consume_every_queue() -> None:
    services = SCALE["services"]
    queues = {name: services[name]["environment"]["DLRHUB_WORKER_QUEUES"]
              for name in ("worker", "relay")}
    assert queues == {"worker": "ingest", "relay": "relay"}


def test_nginx_forwards_to_the_api_service_and_replaces_the_forwarded_header() -> None:
    mount = SCALE["services"]["lb"]["volumes"][0].split(":")[0]
    conf = (ROOT / mount).read_text()
    port = BASE["services"]["api"]["command"][-1]
    assert f"server api:{port};" in conf
    assert "listen 8000;" in conf
    # Replaced, never appended: a client's own X-Forwarded-For must not pass through.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf


def test_nginx_resends_only_providers_callbacks_to_another_replica() -> None:
    # A POST resent after its replica stored it and died is made twice: harmless for a
    # callback (its records are deduplicated per account), not for a tenant's new key.
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    blocks = re.findall(r"location (\S+) \{(.*?)\}", conf, re.S)
    retries = {path for path, body in blocks if "non_idempotent" in body}
    assert retries == {"/v1/callbacks/"}
    # nginx resends only a body it holds whole; the server streams bodies (bulk uploads).
    assert "proxy_request_buffering on;" in dict(blocks)["/v1/callbacks/"]
    assert conf.count("non_idempotent") == 1
    # Shared settings live on the server: a location that sets a header of its own would
    # drop them all (nginx inherits proxy_set_header only when a level sets none).
    assert all("proxy_set_header" not in body for _, body in blocks)
