"""The simulate command: play a provider against a callback URL and say how it went."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from dlrhub.cli.output import Failure, json_object

if TYPE_CHECKING:
    from dlrhub.services.simulate import SimulationReport


@click.command()
@click.argument("provider")
@click.option("--url", required=True, help="The account's callback_url.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Callbacks to send.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Records per callback.")
@click.option("--kind", type=click.Choice(["status", "inbound"]), default="status",
              show_default=True, help="Status reports or inbound messages.")
@click.option("--credentials", metavar="JSON", callback=json_object,
              help="The account's secrets to sign with (NetEase, NXCloud, Huawei).")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="Callbacks in flight at once.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def simulate(ctx: click.Context, provider: str, url: str, count: int, batch: int, kind: str,
             credentials: dict[str, Any] | None, concurrency: int, quiet: bool) -> None:
    """Post realistic, signed provider callbacks to a callback URL.

    Exits 1 unless every callback was accepted, and says why each refused one was.
    """
    from dlrhub.services.errors import ServiceError
    from dlrhub.services.simulate import simulate as run

    def progress(report: SimulationReport) -> None:
        if quiet or (not sys.stderr.isatty() and report.sent != count):
            return
        width = 30
        done = int(width * report.sent / count)
        click.echo(f"\r[{'#' * done}{'.' * (width - done)}] {report.sent}/{count}",
                   nl=report.sent == count, err=True)

    try:
        report = run(provider, url, count=count, batch=batch, kind=kind,
                     credentials=credentials, concurrency=concurrency, progress=progress)
    except ServiceError as ex:
        raise Failure(ex.detail) from None
    click.echo(summary(report))
    ctx.exit(0 if report.accepted == report.sent else 1)


def summary(report: SimulationReport) -> str:
    """Return what was sent and how it was answered, with why callbacks were refused."""
    latencies = sorted(report.latencies) or [0.0]
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    lines = [f"sent {report.sent}, accepted {report.accepted}, rejected {report.rejected}, "
             f"errors {report.errors}; {report.records} records in {report.seconds:.2f}s = "
             f"{report.receipts_per_second:.0f} receipts/s; p50 {p50:.1f} ms, "
             f"p99 {p99:.1f} ms"]
    # Most frequent first: the reason to fix first.
    for (status, reason), n in sorted(report.rejections.items(),
                                      key=lambda item: (-item[1], item[0])):
        what = "no answer" if status == 0 else f"HTTP {status}"
        lines.append(f"  {n} × {what}: {reason or '(empty answer)'}")
    return "\n".join(lines)
