"""The dlrhub command line, run in-process with click's runner on the real test databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import orjson
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from dlrhub import __version__
from dlrhub.cli.main import cli
from dlrhub.config import get_settings
from dlrhub.models import Message
from dlrhub.services.keys import KeyDirectory
from dlrhub.services.receipts import list_receipts
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, ReceiptFactory

# The commands build their engine from DLRHUB_DATABASE_URL: they read committed rows only.
pytestmark = pytest.mark.commits


@pytest.fixture
def run(runtime: Runtime, db_url: str, tmp_path: Path) -> Iterator[Any]:
    """Return a function that runs ``dlrhub ARGS`` on the test database."""
    env = {"DLRHUB_DATABASE_URL": db_url, "DLRHUB_DATA_DIR": str(tmp_path),
           "DLRHUB_SECRET_KEY": "test-secret-key", "DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "true",
           "DLRHUB_PUBLIC_URL": "https://hub.example"}

    def invoke(*args: str, env_extra: dict[str, str] | None = None) -> Result:
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(args), env={**env, **(env_extra or {})},
                                  catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return orjson.loads(result.stdout)


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])

    assert (result.exit_code, result.stdout) == (0, f"dlrhub {__version__}\n")


def test_every_help_text_is_plain_text() -> None:
    paths = list(_commands(cli))
    assert ("endpoint", "secret") in paths
    assert ("receipt", "get") in paths

    for path in paths:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "`" not in result.stdout, path


@pytest.mark.parametrize(("args", "option"), [
    (["simulate", "tencent", "--url", "http://x", "--count", "-3"], "--count"),
    (["simulate", "tencent", "--url", "http://x", "--batch", "0"], "--batch"),
    (["simulate", "tencent", "--url", "http://x", "--kind", "mms"], "--kind"),
    (["receipt", "list", "--tenant", "t", "--limit", "501"], "--limit"),
    (["receipt", "list", "--tenant", "t", "--since", "2026-01-01T00:00"], "--since"),
    (["account", "create", "--tenant", "t", "--provider", "tencent",
      "--credentials", "[1]"], "--credentials"),
    (["endpoint", "create", "--tenant", "t", "--url", "http://x", "--timeout", "31"],
     "--timeout"),
    (["serve", "--port", "70000"], "--port"),
    (["worker", "--concurrency", "0"], "--concurrency"),
])
def test_bad_options_are_refused_before_anything_runs(args: list[str], option: str) -> None:
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 2
    assert option in result.stderr
    assert "Traceback" not in result.output


def test_tenant_and_key_lifecycle(run: Any, runtime: Runtime) -> None:
    tenant = _json(run("tenant", "create", "acme", "--json"))
    assert (tenant["name"], tenant["status"]) == ("acme", "active")
    listed = run("tenant", "list")
    assert tenant["id"] in listed.stdout
    assert "acme" in listed.stdout
    assert _json(run("tenant", "get", tenant["id"], "--json")) == tenant

    issued = _json(run("key", "create", tenant["id"], "--name", "laptop", "--json"))
    assert issued["key"].startswith("dlrhub_sk_")
    keys = _json(run("key", "list", tenant["id"], "--json"))["data"]
    assert [(k["id"], k["hint"]) for k in keys] == [(issued["id"], issued["key"][-4:])]
    assert issued["key"] not in run("key", "list", tenant["id"]).stdout
    directory = KeyDirectory(runtime.engine)
    assert directory.authenticate(issued["key"]) is not None

    revoked = _json(run("key", "revoke", tenant["id"], issued["id"], "--json"))
    assert revoked["revoked_at"] is not None
    assert "key" not in revoked
    assert directory.authenticate(issued["key"]) is None

    deleted = run("tenant", "delete", tenant["id"])
    assert deleted.exit_code == 0
    gone = run("tenant", "get", tenant["id"])
    assert gone.exit_code == 1
    assert gone.stderr == f"dlrhub: no tenant {tenant['id']}\n"


def test_accounts_list_get_delete_and_never_show_credentials(run: Any) -> None:
    tenant = _json(run("tenant", "create", "acme", "--json"))["id"]
    created = _json(run("account", "create", "--tenant", tenant, "--provider", "netease",
                        "--credentials", '{"app_key": "k1", "app_secret": "s3cret-value"}',
                        "--json"))
    assert created["callback_url"].startswith("https://hub.example/v1/callbacks/netease/")
    assert created["credentials"] == ["app_key", "app_secret"]

    listed = run("account", "list", "--tenant", tenant)
    assert created["id"] in listed.stdout
    assert created["callback_url"] in listed.stdout
    got = _json(run("account", "get", "--tenant", tenant, created["id"], "--json"))
    assert got == created
    for shown in (listed, run("account", "get", "--tenant", tenant, created["id"])):
        assert "s3cret-value" not in shown.stdout

    refused = run("tenant", "delete", tenant)
    assert refused.exit_code == 1
    assert "delete them first" in refused.stderr

    assert run("account", "delete", "--tenant", tenant, created["id"]).exit_code == 0
    assert _json(run("account", "list", "--tenant", tenant, "--json"))["data"] == []
    assert run("tenant", "delete", tenant).exit_code == 0


def test_another_tenants_records_are_not_found(run: Any) -> None:
    mine = _json(run("tenant", "create", "mine", "--json"))["id"]
    theirs = _json(run("tenant", "create", "theirs", "--json"))["id"]
    account = _json(run("account", "create", "--tenant", theirs, "--provider", "tencent",
                        "--json"))["id"]

    result = run("account", "get", "--tenant", mine, account)

    assert (result.exit_code, result.stderr) == (1, f"dlrhub: no account {account}\n")


def test_unknown_tenant_is_an_error_not_an_empty_list(run: Any) -> None:
    for args in (["receipt", "list"], ["delivery", "list"], ["endpoint", "list"],
                 ["account", "list"]):
        result = run(*args, "--tenant", "ten_nope")
        assert (result.exit_code, result.stderr) == (1, "dlrhub: no tenant ten_nope\n"), args


def test_endpoint_secret_is_shown_at_creation_and_on_request_only(run: Any) -> None:
    tenant = _json(run("tenant", "create", "acme", "--json"))["id"]
    created = _json(run("endpoint", "create", "--tenant", tenant,
                        "--url", "http://127.0.0.1:9/hook", "--status", "failed",
                        "--batch-size", "5", "--retry-policy", '{"waits": [10, 60]}',
                        "--json"))
    assert created["secret"].startswith("whsec_")
    assert (created["statuses"], created["batch_size"]) == (["failed"], 5)
    assert created["retry_policy"] == {"waits": [10, 60]}

    got = _json(run("endpoint", "get", "--tenant", tenant, created["id"], "--json"))
    assert "secret" not in got
    assert got["id"] == created["id"]
    assert created["secret"] not in run("endpoint", "list", "--tenant", tenant).stdout
    secret = _json(run("endpoint", "secret", "--tenant", tenant, created["id"], "--json"))
    assert secret["secret"] == created["secret"]

    assert run("endpoint", "delete", "--tenant", tenant, created["id"]).exit_code == 0
    assert run("endpoint", "get", "--tenant", tenant, created["id"]).exit_code == 1


def test_endpoint_refused_as_the_api_refuses_it(run: Any) -> None:
    tenant = _json(run("tenant", "create", "acme", "--json"))["id"]

    result = run("endpoint", "create", "--tenant", tenant, "--url", "http://127.0.0.1/x",
                 env_extra={"DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "false"})

    assert result.exit_code == 1
    assert result.stderr.startswith("dlrhub: url: ")
    assert "loopback" in result.stderr


def test_receipts_listed_as_the_api_lists_them(run: Any, runtime: Runtime) -> None:
    account = AccountFactory().account
    first = ReceiptFactory(account=account, message_id="msg-a", status="failed")
    ReceiptFactory(account=account, message_id="msg-b")
    with runtime.sessions() as session:
        expected = list_receipts(session, tenant_id=account.tenant_id).data

    page = _json(run("receipt", "list", "--tenant", account.tenant_id, "--json"))
    table = run("receipt", "list", "--tenant", account.tenant_id, "--status", "failed")
    one = _json(run("receipt", "get", "--tenant", account.tenant_id, first.id, "--json"))

    assert page == {"data": orjson.loads(orjson.dumps(expected)), "next": None}
    assert table.stdout.splitlines()[0].split() == [
        "ID", "RECEIVED_AT", "PROVIDER", "MESSAGE_ID", "PHONE", "STATUS"]
    assert [line.split()[3] for line in table.stdout.splitlines()[1:]] == ["msg-a"]
    assert (one["id"], one["message_id"], one["status"]) == (first.id, "msg-a", "failed")


def test_messages_rebuild_builds_rows_for_receipts_stored_without_them(
        run: Any, runtime: Runtime) -> None:
    account = AccountFactory().account
    ReceiptFactory(account=account, message_id="msg-a", phone="+8613800000001",
                   status="failed")  # stored directly: no message row
    ReceiptFactory(account=account, message_id="msg-a", phone="+8613800000001",
                   status="pending")

    everyone = run("messages", "rebuild")
    one = run("messages", "rebuild", "--tenant", account.tenant_id)
    unknown = run("messages", "rebuild", "--tenant", "ten_nobody")

    assert everyone.stdout == one.stdout == "message rows rebuilt from 2 status reports\n"
    assert unknown.exit_code != 0
    with runtime.sessions() as session:
        [message] = session.execute(select(Message)).scalars()
    assert (message.message_id, message.status, message.out_of_order) == ("msg-a", "failed", 1)


def test_pages_print_their_next_cursor(run: Any) -> None:
    for name in ("a", "b", "c"):
        run("tenant", "create", name)

    first = run("tenant", "list", "--limit", "2")
    cursor = first.stdout.splitlines()[-1].removeprefix("next: ")
    rest = _json(run("tenant", "list", "--limit", "2", "--after", cursor, "--json"))

    assert len(first.stdout.splitlines()) == 4  # header, two rows, next
    assert [t["name"] for t in rest["data"]] == ["a"]
    assert rest["next"] is None


def test_deliveries_list_and_unknown_delivery(run: Any) -> None:
    tenant = _json(run("tenant", "create", "acme", "--json"))["id"]

    assert _json(run("delivery", "list", "--tenant", tenant, "--json")) == {
        "data": [], "next": None}
    missing = run("delivery", "get", "--tenant", tenant, "dlv_nope")
    assert (missing.exit_code, missing.stderr) == (1, "dlrhub: no delivery dlv_nope\n")


def test_a_database_that_is_down_is_one_line_on_stderr(tmp_path: Path) -> None:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["tenant", "list"], env={
            "DLRHUB_DATABASE_URL": "postgresql+psycopg://u:hidden@127.0.0.1:1/x",
            "DLRHUB_DATA_DIR": str(tmp_path)})
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert result.stderr.startswith("dlrhub: the database postgresql+psycopg://u:***@")
    assert "hidden" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


class _Hub(BaseHTTPRequestHandler):
    """Answers like the hub: every third callback refused for its signature."""

    calls = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            type(self).calls += 1
            n = self.calls
        code, body = (401, b'{"result": 1,\n "errmsg": "bad signature"}') if n % 3 == 0 \
            else (200, b'{"result":0,"errmsg":"OK"}')
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


def test_simulate_says_why_callbacks_were_rejected() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1/callbacks/tencent/tok"
        result = CliRunner().invoke(cli, ["simulate", "tencent", "--url", url, "--count", "6",
                                          "--concurrency", "1", "--quiet"])
    finally:
        server.shutdown()
        server.server_close()

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sent 6, accepted 4, rejected 2, errors 0;")
    assert "statuses" not in result.stdout
    assert lines[1:] == ['  2 × HTTP 401: {"result": 1, "errmsg": "bad signature"}']


def test_simulate_names_a_request_that_got_no_answer() -> None:
    result = CliRunner().invoke(cli, ["simulate", "tencent", "--url", "http://127.0.0.1:1/x",
                                      "--quiet"])

    assert result.exit_code == 1
    assert result.stdout.splitlines()[1].startswith("  1 × no answer: ConnectError")
