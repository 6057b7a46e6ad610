"""The simulate command: play a provider against a callback URL and say how it went."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from dlrhub.cli.output import Failure, json_object

if TYPE_CHECKING:
    from dlrhub.models import ReasonClass
    from dlrhub.services.simulate import SimulationReport
    from dlrhub.services.simulation.expect import Registration
    from dlrhub.services.simulation.plan import Summary

# Options that make a run a scenario (planned messages) rather than made-up load.
SCENARIO_OPTIONS = ("scenario", "failure_mix", "carriers", "messages", "seed", "parts_share",
                    "late_share", "out_of_order_share", "never_share", "templates", "expect",
                    "hold_late")
share = click.FloatRange(0, 100)


def _mix(ctx: click.Context, param: click.Parameter, value: str | None
         ) -> dict[ReasonClass, float] | None:
    from dlrhub.services.simulation.mix import parse_mix

    try:
        return None if value is None else parse_mix(value)
    except ValueError as ex:
        raise click.BadParameter(str(ex), ctx, param) from None


def _carriers(ctx: click.Context, param: click.Parameter, value: str | None
              ) -> dict[str, float] | None:
    from dlrhub.services.simulation.mix import parse_carriers

    try:
        return None if value is None else parse_carriers(value)
    except ValueError as ex:
        raise click.BadParameter(str(ex), ctx, param) from None


def _templates(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str]:
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    if value is not None and not names:
        raise click.BadParameter("name at least one template", ctx, param)
    if any(len(name) > 200 for name in names):
        raise click.BadParameter("a template is at most 200 characters", ctx, param)
    return names


@click.command()
@click.argument("provider")
@click.option("--url", required=True, help="The account's callback_url.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Callbacks to send (without a scenario).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Records per callback (at most, with a scenario).")
@click.option("--kind", type=click.Choice(["status", "inbound"]), default="status",
              show_default=True, help="Status reports or inbound messages.")
@click.option("--credentials", metavar="JSON", callback=json_object,
              help="The account's secrets to sign with (NetEase, NXCloud, Huawei).")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="Callbacks in flight at once.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--scenario", type=click.Choice(["demo", "degraded", "clean"]),
              help="Plan messages from a preset: demo (every feature), degraded (a bad "
                   "hour), clean (all delivered); the options below change it. [default "
                   "with any of them: demo]")
@click.option("--failure-mix", callback=_mix, metavar="CLASS=PCT,...",
              help="Reason classes and the percentage of messages that fail with each, "
                   "e.g. invalid_number=5,blacklisted=2,rate_limited=3,expired=1.")
@click.option("--carriers", callback=_carriers, metavar="CARRIER=PCT,...",
              help="Recipients' carriers, e.g. china_mobile=50,china_unicom=30,"
                   "china_telecom=20 (the default).")
@click.option("--messages", type=click.IntRange(1, 1_000_000),
              help="Messages to plan. [default with a scenario: 100]")
@click.option("--seed", type=int, help="Seed of the plan: the same seed, the same messages.")
@click.option("--parts-share", type=share, help="Percent of long messages (2-3 parts).")
@click.option("--late-share", type=share,
              help="Percent of receipts reported 20 min to 6 h after the send.")
@click.option("--out-of-order-share", type=share,
              help="Percent of messages that get a second, disagreeing final after it.")
@click.option("--never-share", type=share, help="Percent of messages whose receipt is "
                                                "never sent.")
@click.option("--templates", callback=_templates, metavar="NAME,...",
              help="Templates spread over the messages (kept by their expectations).")
@click.option("--hold-late", type=click.IntRange(0, 3600), default=0, show_default=True,
              metavar="SECONDS", help="Post the late receipts this long after the rest "
                                      "(past the deadline: they arrive after the missing "
                                      "receipt events).")
@click.option("--expect", is_flag=True,
              help="Register every message as an expectation (POST "
                   "/v1/expectations/bulk) before posting its receipts.")
@click.option("--deadline-seconds", type=click.IntRange(1, 30 * 86400),
              help="The expectations' deadline. [default: the account's]")
@click.option("--api-key", envvar="DLRHUB_API_KEY", metavar="KEY",
              help="A tenant API key, for --expect. [env DLRHUB_API_KEY]")
@click.option("--api-url", metavar="URL",
              help="The API's base URL. [default: the callback URL's]")
@click.option("--account-id", metavar="ID",
              help="The account of the callback URL. [default: looked up by the API key]")
@click.pass_context
def simulate(ctx: click.Context, /, provider: str, url: str, count: int, batch: int, kind: str,
             credentials: dict[str, Any] | None, concurrency: int, quiet: bool,
             **scenario: Any) -> None:
    """Post realistic, signed provider callbacks to a callback URL.

    Without a scenario option it posts COUNT callbacks of BATCH made-up records (load).
    With one it plans messages (recipients by carrier, failures with real carrier codes
    by the mix, parts, late and out-of-order receipts, some never sent), can register
    them as expectations, posts their receipts and says what the run contained.

    Exits 1 unless every callback was accepted, and says why each refused one was.
    """
    from dlrhub.services.errors import ServiceError
    from dlrhub.services.simulate import simulate as run

    total = count

    def progress(report: SimulationReport) -> None:
        if quiet or (not sys.stderr.isatty() and report.sent != total):
            return
        width = 30
        done = int(width * report.sent / total)
        click.echo(f"\r[{'#' * done}{'.' * (width - done)}] {report.sent}/{total}",
                   nl=report.sent == total, err=True)

    planned = any(ctx.get_parameter_source(name) is not ParameterSource.DEFAULT
                  for name in SCENARIO_OPTIONS)
    try:
        if not planned:
            for name in ("deadline_seconds", "api_url", "account_id"):
                if scenario[name] is not None:
                    raise click.UsageError(f"--{name.replace('_', '-')} goes with --expect")
            report = run(provider, url, count=count, batch=batch, kind=kind,
                         credentials=credentials, concurrency=concurrency,
                         progress=progress)
        else:
            if ctx.get_parameter_source("count") is not ParameterSource.DEFAULT:
                raise click.UsageError("with a scenario, say how many messages with "
                                       "--messages, not --count")
            if kind != "status":
                raise click.UsageError("a scenario plans status reports: drop --kind")
            if scenario["expect"] and not scenario["api_key"]:
                raise click.UsageError("--expect registers through the API: give "
                                       "--api-key or set DLRHUB_API_KEY")

            def planned_progress(report: SimulationReport) -> None:
                nonlocal total
                total = report.total
                progress(report)

            report = _run_scenario(ctx, provider, url, batch=batch, credentials=credentials,
                                   concurrency=concurrency, progress=planned_progress,
                                   options=scenario)
    except ServiceError as ex:
        raise Failure(ex.detail) from None
    click.echo(summary(report))
    ctx.exit(0 if report.accepted == report.sent else 1)


def _run_scenario(ctx: click.Context, provider: str, url: str, *, batch: int,
                  credentials: dict[str, Any] | None, concurrency: int,
                  progress: Any, options: dict[str, Any]) -> SimulationReport:
    """Plan, register (with --expect), post; print what the scenario contained."""
    import random

    from dlrhub.models import utcnow
    from dlrhub.providers.registry import PROVIDERS
    from dlrhub.services.simulate import simulate_plan
    from dlrhub.services.simulation import expect, mix
    from dlrhub.services.simulation.plan import plan, summarize

    if provider not in PROVIDERS:
        raise Failure(f"provider: must be one of {', '.join(sorted(PROVIDERS))}")
    preset = options["scenario"] or "demo"
    try:
        scenario = mix.build(preset, failures=options["failure_mix"],
                             carriers=options["carriers"], parts=options["parts_share"],
                             late=options["late_share"],
                             out_of_order=options["out_of_order_share"],
                             never=options["never_share"])
    except ValueError as ex:
        raise click.UsageError(str(ex)) from None
    seed = options["seed"] if options["seed"] is not None else random.randrange(10**6)
    now = utcnow()
    the_plan = plan(provider, scenario, count=options["messages"] or 100, seed=seed, now=now,
                    prefix=f"sim-{now:%m%d%H%M%S}-", templates=options["templates"],
                    hold_late=options["hold_late"],
                    on_time_within=(options["deadline_seconds"] // 2
                                    if options["expect"] and options["deadline_seconds"]
                                    else None))
    registration = None
    if options["expect"]:
        registration = expect.register(
            the_plan, url, api_key=options["api_key"], api_url=options["api_url"],
            account_id=options["account_id"], deadline_seconds=options["deadline_seconds"])
    click.echo(scenario_summary(preset, seed, provider, summarize(the_plan), registration,
                                hold_late=options["hold_late"]))
    return simulate_plan(the_plan, url, batch=batch, credentials=credentials,
                         concurrency=concurrency, hold_late=options["hold_late"],
                         progress=progress)


def scenario_summary(preset: str, seed: int, provider: str, s: Summary,
                     registration: Registration | None, *, hold_late: int = 0) -> str:
    """Return what a planned run contains, to compare with what the API will report."""
    from dlrhub.providers.registry import PROVIDERS

    carriers = ", ".join(f"{name} {n}" for name, n in sorted(s.carriers.items()))
    lines = [f"scenario {preset}, seed {seed}: {s.messages} messages through {provider} "
             f"({carriers})",
             f"  delivered {s.delivered}, failed {sum(s.classes.values())}, "
             f"never sent {s.never}"]
    if s.classes:
        lines.append("  failures by reason class: " + ", ".join(
            f"{name} {n}" for name, n in sorted(s.classes.items(), key=lambda i: (-i[1], i[0]))))
    for (wanted, got), n in sorted(s.inexpressible.items()):
        lines.append(f"  {provider} cannot report {wanted}: {n} sent as {got}")
    adapter = PROVIDERS[provider]
    parts = (f", {s.part_reports} reports of one part each" if s.part_reports
             else " (reported with their segment count)" if adapter.reports_segments
             else f" ({provider} reports no segment count)")
    lines.append(f"  long messages {s.multipart}{parts}")
    held = f", posted {hold_late} s after the rest" if hold_late and s.late else ""
    seconds = ", ".join(f"{name} {n}" for name, n in sorted(s.second_finals.items()))
    lines.append(f"  late receipts {s.late}{held}; out of order {s.out_of_order}"
                 + (f" (second finals, posted after the first: {seconds})" if seconds else "")
                 + f"; {s.reports} reports in all")
    if registration is not None:
        lines.append(f"  expectations registered {registration.accepted} (already "
                     f"registered {registration.duplicates}, refused {registration.rejected})"
                     f" for account {registration.account_id}")
        lines.extend(f"    line {e.get('line')}: {e.get('detail') or e}"
                     for e in registration.errors[:5])
    return "\n".join(lines)


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
