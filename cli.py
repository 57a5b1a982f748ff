"""The ``placement`` command: a thin front over the ``placement`` library.

Each command opens its inputs, calls one library function, prints the result and maps library
errors to the documented exit codes. Nothing here decides anything about placements.
"""

from __future__ import annotations

import signal
import sys

# Signals belong to this program from its first line when it runs as `placement`: a Ctrl-C
# that lands while a C extension initialises turns into "ImportError: initialization failed",
# which a library's optional-import fallback may swallow -- the solve would then run on,
# deaf to the interrupt. Until start-up is over, signals are only recorded (see `run`).
_PENDING_SIGNALS: list[str] = []


def _record_signal(signum: int, frame: object) -> None:
    _PENDING_SIGNALS.append(signal.Signals(signum).name)


if __name__ == "__main__" or sys.argv[0].endswith(("/placement", "\\placement.exe")):
    signal.signal(signal.SIGINT, _record_signal)
    signal.signal(signal.SIGTERM, _record_signal)

import json  # noqa: E402  # after the signal set-up above, on purpose
import math  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar  # noqa: E402

import click  # noqa: E402

from placement import __version__  # noqa: E402
from placement.errors import InputError, PlacementError  # noqa: E402

if TYPE_CHECKING:
    from placement.solve import StopRequest

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INVALID = 2
EXIT_SIGINT = 130  # 128 + SIGINT, as shells report it
EXIT_SIGTERM = 143  # 128 + SIGTERM

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (check: every hard rule holds)
  1  check found rule violations or plan problems (compare: some plan
     breaks a rule; solve/alternatives: what-if pins or forbids cannot hold)
  2  invalid input or usage (nothing is written)
  130/143  solve interrupted by SIGINT (Ctrl-C) / SIGTERM: the best plan
     found so far is written, marked feasible, or nothing when none was found
"""


MAX_PROBLEM_LINES = 100
MAX_LINE_CHARS = 300


def _fail(error: PlacementError) -> NoReturn:
    click.echo(f"Error: {_for_terminal(str(error))}", err=True)
    sys.exit(EXIT_INVALID)


def _for_terminal(text: str) -> str:
    """An error message made safe to print, whatever the input file held.

    Control and format characters (a terminal escape sequence, a right-to-left override, a
    lone surrogate from a JSON escape) are shown as escapes; a hostile file with 100,000
    problems or a megabyte-long key gives a screenful, not megabytes.
    """
    lines = text.split("\n")
    if len(lines) > MAX_PROBLEM_LINES + 1:
        more = len(lines) - 1 - MAX_PROBLEM_LINES
        lines = [*lines[: MAX_PROBLEM_LINES + 1], f"  ... and {more:,} more"]
    shown = []
    for line in lines:
        if len(line) > MAX_LINE_CHARS:
            line = line[: MAX_LINE_CHARS - 3] + "..."
        shown.append(_escape_controls(line))
    return "\n".join(shown)


def _escape_controls(text: str) -> str:
    """Text from a file made safe for a terminal: control and format characters (escape
    sequences, right-to-left overrides, lone surrogates) shown as escapes; newlines kept."""
    import unicodedata

    return "\n".join(
        "".join(
            c.encode("unicode_escape").decode("ascii")
            if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co"}
            else c
            for c in line
        )
        for line in text.split("\n")
    )


def _load_scenario(path: str, *, allow_personal_numbers: bool = False) -> Any:
    from placement.scenario import load_scenario

    try:
        return load_scenario(path, allow_personal_numbers=allow_personal_numbers)
    except InputError as error:
        _fail(error)


SOLVER_SEED_OPTION = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Random seed of the solver; recorded in what is written (plan or timeline).",
)
ALLOW_PERSONAL_NUMBERS_OPTION = click.option(
    "--allow-personal-numbers",
    is_flag=True,
    help="Accept values that look like Swedish personal identity numbers (personnummer, "
    "samordningsnummer). Only for a false positive: scenarios must use pseudonyms.",
)


def _what_if_options(command: Any) -> Any:
    """--set, --pin and --forbid (repeatable): what-if changes, recorded in the plan."""
    for option in reversed(
        [
            click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="PATH=VALUE",
                help="What-if: override a scenario value before solving, e.g. "
                "policy.keep_apart_km=80 or capacity.Umeå.housing_units=6 (repeatable).",
            ),
            click.option(
                "--pin",
                "pins",
                multiple=True,
                metavar="ID=AREA",
                help="What-if: place this person in this area, or report why not (repeatable). "
                "An already placed person pinned elsewhere is moved.",
            ),
            click.option(
                "--forbid",
                "forbids",
                multiple=True,
                metavar="ID=AREA",
                help="What-if: never place this person in this area (repeatable). An already "
                "placed person forbidden their current area is moved.",
            ),
        ]
    ):
        command = option(command)
    return command


def _load_what_if(scenario: str, what_if: Any, *, allow_personal_numbers: bool) -> Any:
    """The scenario with the what-if --set overrides applied, and the pins/forbids resolved."""
    from placement.whatif import load_scenario_what_if, resolve_decisions

    try:
        loaded = load_scenario_what_if(
            scenario, what_if.sets, allow_personal_numbers=allow_personal_numbers
        )
        return loaded, resolve_decisions(loaded, what_if)
    except InputError as error:
        _fail(error)


@click.group(
    help="Plan where threatened people leaving criminal networks can safely live.\n\n"
    + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="placement")
def main() -> None:
    """Command group; see each command's --help."""
    from placement import crypto

    previous = crypto.passphrase_source
    crypto.passphrase_source = _TerminalPassphrase()
    click.get_current_context().call_on_close(
        lambda: setattr(crypto, "passphrase_source", previous)
    )


class _TerminalPassphrase:
    """The CLI's passphrase source: $PLACEMENT_PASSPHRASE, else a prompt on a terminal.

    What is typed is remembered for the rest of the run, so a scenario and a plan sealed
    with the same passphrase need it only once, and a plan written from an encrypted scenario
    reuses the passphrase that just opened it (no second confirmation).
    """

    def __init__(self) -> None:
        self.entered: str | None = None

    def __call__(self, *, confirm: bool) -> str | None:
        from placement import crypto

        from_environment = crypto.passphrase_from_environment()
        if from_environment:
            return from_environment
        if self.entered:
            return self.entered
        if not _interactive():
            return None
        entered: str = click.prompt(
            "Passphrase for encrypted files",
            hide_input=True,
            confirmation_prompt=confirm,
            err=True,
        )
        self.entered = entered
        return entered


def _interactive() -> bool:
    return sys.stdin.isatty()


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the plan (JSON). Written atomically, only on success.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Wall-clock seconds for the whole solve.",
)
@SOLVER_SEED_OPTION
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Solver threads. Runs stay reproducible (interleaved search) unless --fast-parallel.",
)
@click.option(
    "--fast-parallel",
    is_flag=True,
    help="With --workers > 1: let workers race freely. Often faster, NOT reproducible.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print no summary and no progress.")
@click.option(
    "--encrypt/--no-encrypt",
    "encrypt",
    default=None,
    help="Write the plan encrypted (passphrase from $PLACEMENT_PASSPHRASE or a prompt). "
    "Default: encrypted when SCENARIO is encrypted, plain otherwise; --no-encrypt writes "
    "plain text even then.",
)
@_what_if_options
@ALLOW_PERSONAL_NUMBERS_OPTION
def solve(
    scenario: str,
    output: str,
    time_limit: float,
    seed: int,
    workers: int,
    fast_parallel: bool,
    quiet: bool,
    encrypt: bool | None,
    sets: tuple[str, ...],
    pins: tuple[str, ...],
    forbids: tuple[str, ...],
    allow_personal_numbers: bool,
) -> None:
    """Solve SCENARIO and write the best plan found to -o PLAN.json.

    Prints a summary: placed and unplaced by threat level, the tightest safety margins and
    the load per area. Solves longer than a couple of seconds report progress on stderr.
    What-if changes (--set, --pin, --forbid) are recorded in the plan; when pins or forbids
    cannot all hold, the plan is written with status infeasible and the reason (exit 1).
    """
    from placement.plan import write_plan
    from placement.solve import SolveSettings, solve_scenario
    from placement.summary import render_solve_summary
    from placement.whatif import WhatIf, plan_of

    out = _output_path(output)
    what_if = WhatIf(sets=sets, pins=pins, forbids=forbids)
    with _stop_on_signals() as stop:
        loaded, decisions = _load_what_if(
            scenario, what_if, allow_personal_numbers=allow_personal_numbers
        )
        passphrase = _output_passphrase(encrypt, encrypted_input=_any_encrypted(scenario))
        # One worker is deterministic whatever the flag says; the plan must not claim otherwise.
        racing = fast_parallel and workers > 1
        settings = SolveSettings(
            time_limit_s=time_limit, seed=seed, workers=workers, reproducible=not racing
        )
        progress = None if quiet else (lambda line: click.echo(line, err=True))
        result = solve_scenario(
            loaded,
            settings,
            progress=progress,
            stop=stop,
            pins=decisions.pins,
            forbids=decisions.forbids,
        )
        if not result.found_a_plan:
            click.echo(
                f"Interrupted by {result.interrupted} before any plan was found; nothing written.",
                err=True,
            )
            sys.exit(_interrupted_exit_code(result.interrupted))
        plan = plan_of(result, what_if)
        try:
            write_plan(plan, out, passphrase=passphrase)
        except OSError as error:
            _cannot_write(output, error)
    if result.infeasible_reason is not None:
        click.echo(f"Infeasible: {result.infeasible_reason}", err=True)
        click.echo(f"Plan written to {out} (status infeasible)", err=True)
        sys.exit(EXIT_VIOLATIONS)
    if not quiet:
        if what_if:
            click.echo(f"What-if: {what_if.describe()}")
        click.echo(render_solve_summary(plan, loaded))
        click.echo(f"Plan written to {out}" + (" (encrypted)" if passphrase else ""))
    if result.interrupted is not None:
        click.echo(
            f"Interrupted by {result.interrupted}: wrote the best plan found so far "
            f"(status {plan.status}) to {out}.",
            err=True,
        )
        sys.exit(_interrupted_exit_code(result.interrupted))


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option(
    "-k",
    "k",
    type=click.IntRange(min=1, max=50),
    default=3,
    show_default=True,
    help="At most this many plans.",
)
@click.option(
    "--min-diff",
    type=click.IntRange(min=1),
    default=None,
    help="Every two plans differ in the outcome (area, or placed or not) of at least this "
    "many people. Default: 10% of the pending people who have an allowed area, at least 1.",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for plan-1.json ... plan-K.json (created if missing; files written "
    "atomically).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Wall-clock seconds per plan (the primary stages count against the first).",
)
@SOLVER_SEED_OPTION
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Solver threads; runs stay reproducible (interleaved search).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print no summary and no progress.")
@_what_if_options
@ALLOW_PERSONAL_NUMBERS_OPTION
def alternatives(
    scenario: str,
    k: int,
    min_diff: int | None,
    output: str,
    time_limit: float,
    seed: int,
    workers: int,
    quiet: bool,
    sets: tuple[str, ...],
    pins: tuple[str, ...],
    forbids: tuple[str, ...],
    allow_personal_numbers: bool,
) -> None:
    """Write up to K genuinely different plans for SCENARIO to the directory -o DIR.

    Every plan places as many people at each threat level as the best plan (the primary
    objective); plan 1 is the best by the secondary objective, and each next plan is the best
    that differs from every earlier one in at least --min-diff people (a constraint, not a
    random restart). Each plan records its rank, the min-diff and its secondary-objective
    cost against plan 1. Fewer than K plans when no further one exists (said why).
    """
    from placement.alternatives import find_alternatives, provenance_of, render_alternatives
    from placement.plan import plan_bytes, write_files_atomic
    from placement.solve import SolveSettings
    from placement.whatif import WhatIf, plan_of

    directory = Path(output)
    if not directory.parent.is_dir():
        _fail(
            InputError(
                output, [_problem("--output", f"directory '{directory.parent}' does not exist")]
            )
        )
    what_if = WhatIf(sets=sets, pins=pins, forbids=forbids)
    written: list[str] = []
    with _stop_on_signals() as stop:
        loaded, decisions = _load_what_if(
            scenario, what_if, allow_personal_numbers=allow_personal_numbers
        )
        passphrase = _output_passphrase(None, encrypted_input=_any_encrypted(scenario))
        settings = SolveSettings(time_limit_s=time_limit, seed=seed, workers=workers)
        progress = None if quiet else (lambda line: click.echo(line, err=True))
        outcome = find_alternatives(
            loaded,
            k,
            settings,
            min_diff=min_diff,
            pins=decisions.pins,
            forbids=decisions.forbids,
            progress=progress,
            stop=stop,
        )
        files: list[tuple[Path, bytes]] = []
        if outcome.infeasible is not None:
            infeasible = plan_of(outcome.infeasible, what_if)
            files.append((directory / "plan-1.json", plan_bytes(infeasible, passphrase=passphrase)))
        for alternative in outcome.plans:
            name = f"plan-{alternative.rank}.json"
            plan = plan_of(
                alternative.result,
                what_if,
                extra_provenance={"alternative": provenance_of(alternative, outcome)},
            )
            files.append((directory / name, plan_bytes(plan, passphrase=passphrase)))
            written.append(name)
        try:
            directory.mkdir(exist_ok=True)
            write_files_atomic(files)  # all plans or none: never new beside old
        except OSError as error:
            _cannot_write(output, error)
    if outcome.infeasible is not None:
        click.echo(f"Infeasible: {outcome.stopped_because}", err=True)
        click.echo(f"Plan written to {directory / 'plan-1.json'} (status infeasible)", err=True)
        sys.exit(EXIT_VIOLATIONS)
    if not quiet:
        if what_if:
            click.echo(f"What-if: {what_if.describe()}")
        click.echo(render_alternatives(outcome, written))
        sealed = " (encrypted)" if passphrase else ""
        if written:
            click.echo(f"Plans written to {directory}{sealed}")
        else:
            click.echo("No plan was written.")
    stale = sorted(
        p.name
        for p in directory.glob("plan-*.json")
        if p.name not in written and p.name[5:-5].isdigit()
    )
    if stale:
        click.echo(
            f"Note: {directory} also holds {', '.join(stale)} from an earlier run (not from "
            "this one).",
            err=True,
        )
    if stop.reason is not None:
        sys.exit(_interrupted_exit_code(stop.reason))


@contextmanager
def _stop_on_signals() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM stop the solve gracefully; a second signal stops everything at once.

    The first signal lets the running search return its best plan so far, which is then
    written (atomically) and marked ``feasible`` with the reason. A second signal raises
    KeyboardInterrupt wherever the program is: the process exits at once (130, or 143 when the
    second signal is SIGTERM), nothing more is written.
    """
    from placement.solve import StopRequest

    stop = StopRequest()
    again: list[str] = []

    def handler(signum: int, frame: object) -> None:
        if stop.reason is not None:
            again.append(signal.Signals(signum).name)
            raise KeyboardInterrupt
        stop.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    except KeyboardInterrupt:
        click.echo("Interrupted again; stopped at once, nothing more written.", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # Leave without interpreter finalisation: OR-Tools may still hold native threads
        # that abort the process ("terminate called ...") when destroyed at exit. Nothing is
        # being written here: an interrupted atomic write has removed its temporary.
        os._exit(_interrupted_exit_code(again[-1] if again else "SIGINT"))
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _output_passphrase(
    encrypt: bool | None, *, encrypted_input: bool, source: str = "--encrypt"
) -> str | None:
    """The passphrase to seal an output with, or None for plain text; asked before any work.

    ``encrypt`` is the user's --encrypt/--no-encrypt (None: not given); by default an output
    is sealed when an input it is made from was, since it holds the same case data.
    """
    from placement import crypto

    if not (encrypted_input if encrypt is None else encrypt):
        return None
    try:
        return crypto.passphrase_for_encryption(source=source)
    except crypto.EncryptionError as error:
        _fail(error)


def _any_encrypted(*paths: str) -> bool:
    from placement import crypto

    return any(crypto.is_encrypted_file(path) for path in paths)


def _interrupted_exit_code(reason: str | None) -> int:
    return EXIT_SIGTERM if reason == "SIGTERM" else EXIT_SIGINT


def _output_path(output: str) -> Path:
    """The output path, refused (exit 2) before any work when its directory is missing."""
    if not output.strip():
        _fail(InputError("--output", [_problem("--output", "give a file name (got '')")]))
    out = Path(output)
    if not out.parent.is_dir():
        _fail(
            InputError(output, [_problem("--output", f"directory '{out.parent}' does not exist")])
        )
    return out


def _cannot_write(output: str, error: OSError, option: str = "--output") -> NoReturn:
    _fail(InputError(output, [_problem(option, f"cannot write: {error.strerror}")]))


def _problem(place: str, message: str) -> Any:
    from placement.errors import Problem

    return Problem(place, message)


_Command = TypeVar("_Command", bound=Callable[..., Any])


def _what_if_rules_option(verb: str) -> Callable[[_Command], _Command]:
    """--what-if-rules for a command that judges a plan (check, explain)."""
    return click.option(
        "--what-if-rules",
        is_flag=True,
        help=f"For a plan made with --set overrides: {verb} it under those overrides (as "
        "recorded in the plan) instead of the scenario as written.",
    )


def _under_what_if_rules(
    loaded: Any,
    scenario: str,
    what_if: Any,
    what_if_rules: bool,
    *,
    verb: str,
    allow_personal_numbers: bool,
) -> tuple[Any, list[str]]:
    """The scenario a plan with --set overrides is judged under, and the note that says which."""
    from placement.whatif import load_scenario_what_if

    if not what_if.sets:
        return loaded, []
    changes = " ".join(f"--set {s}" for s in what_if.sets)
    if what_if_rules:
        try:
            loaded = load_scenario_what_if(
                scenario, what_if.sets, allow_personal_numbers=allow_personal_numbers
            )
        except InputError as error:
            _fail(error)
        return loaded, [
            f"{verb} under the plan's what-if changes ({changes}), NOT the scenario as written"
        ]
    return loaded, [
        f"the plan was made with what-if changes ({changes}); {verb} against the scenario as "
        f"written (--what-if-rules: {verb} under those changes)"
    ]


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_what_if_rules_option("check")
@ALLOW_PERSONAL_NUMBERS_OPTION
def check(
    scenario: str, plan: str, as_json: bool, what_if_rules: bool, allow_personal_numbers: bool
) -> None:
    """Verify PLAN against every hard rule of SCENARIO, independently of the solver.

    Exit 0 when every rule holds, 1 with each violation in plain words. Problems among
    already placed people that the plan did not cause are listed as pre-existing and do not
    fail the check. A plan made with what-if --set overrides is checked against the scenario
    as written unless --what-if-rules; either way a note says which.
    """
    from placement.check import check_plan, plan_warnings, render_report
    from placement.plan import load_plan
    from placement.whatif import WhatIf

    loaded = _load_scenario(scenario, allow_personal_numbers=allow_personal_numbers)
    try:
        loaded_plan = load_plan(plan, allow_personal_numbers=allow_personal_numbers)
    except InputError as error:
        _fail(error)
    what_if = WhatIf.of_plan(loaded_plan)
    loaded, notes = _under_what_if_rules(
        loaded,
        scenario,
        what_if,
        what_if_rules,
        verb="checked",
        allow_personal_numbers=allow_personal_numbers,
    )
    if what_if.pins or what_if.forbids:
        decided = " ".join(
            [*(f"--pin {p}" for p in what_if.pins), *(f"--forbid {f}" for f in what_if.forbids)]
        )
        notes.append(
            f"the plan records what-if decisions ({decided}): moves of already placed people "
            "that they ask for are the user's request"
        )
    report = check_plan(loaded, loaded_plan)
    report.warnings[:0] = [*plan_warnings(loaded, loaded_plan), *notes]
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_report(report, loaded))
    sys.exit(EXIT_OK if report.ok else EXIT_VIOLATIONS)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("plans", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "json"]),
    default="text",
    show_default=True,
    help="Plain text, markdown, a self-contained HTML page, or versioned JSON.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    help="Write the comparison to this file (atomically) instead of printing it; encrypted "
    "when SCENARIO or a PLAN is encrypted.",
)
@ALLOW_PERSONAL_NUMBERS_OPTION
def compare(
    scenario: str,
    plans: tuple[str, ...],
    fmt: str,
    output: str | None,
    allow_personal_numbers: bool,
) -> None:
    """Compare PLANS of SCENARIO side by side (one plan alone gives its figures).

    Placed and unplaced per threat level, safety margins, the tightest keep-apart distance,
    load per county, service waits, preferences met, moves, the secondary objective, and
    every person placed differently with the margin gained or lost. Every figure is computed
    from the plans' assignments and the scenario (hand-edited plans work too), with each
    plan's rule violations from the checker. Exit 1 when some plan breaks a rule.
    """
    from placement import crypto
    from placement.compare import compare_plans, render_comparison
    from placement.plan import load_plan, write_bytes_atomic

    out = _output_path(output) if output is not None else None
    loaded = _load_scenario(scenario, allow_personal_numbers=allow_personal_numbers)
    loaded_plans = []
    for path in plans:
        try:
            loaded_plans.append(load_plan(path, allow_personal_numbers=allow_personal_numbers))
        except InputError as error:
            _fail(error)
    names = [Path(p).name for p in plans]
    labels = names if len(set(names)) == len(names) else list(plans)
    if len(set(labels)) != len(labels):
        labels = [f"{k + 1}: {name}" for k, name in enumerate(names)]
    comparison = compare_plans(loaded, loaded_plans, labels=labels)
    text = render_comparison(comparison, fmt)  # type: ignore[arg-type]  # click.Choice guarantees it
    if out is None:
        click.echo(text, nl=False)
    else:
        data = text.encode("utf-8")
        # the comparison holds the plans' case data: keep it sealed like them
        passphrase = _output_passphrase(
            None, encrypted_input=_any_encrypted(scenario, *plans), source="--output"
        )
        sealed = passphrase is not None
        if passphrase is not None:
            data = crypto.encrypt(data, passphrase)
        try:
            write_bytes_atomic(out, data)
        except OSError as error:
            _cannot_write(str(out), error)
        click.echo(f"Comparison written to {out}" + (" (encrypted)" if sealed else ""))
    sys.exit(EXIT_OK if all(p.check_ok for p in comparison.plans) else EXIT_VIOLATIONS)


FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Plain text, markdown (for reports), or versioned JSON (for tools).",
)
TOP_OPTION = click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many areas to list per group in text and markdown (JSON lists all).",
)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--defector", help="Explain one person, with every other area ranked.")
@FORMAT_OPTION
@TOP_OPTION
@_what_if_rules_option("explain")
@ALLOW_PERSONAL_NUMBERS_OPTION
def explain(
    scenario: str,
    plan: str,
    defector: str | None,
    fmt: str,
    top: int,
    what_if_rules: bool,
    allow_personal_numbers: bool,
) -> None:
    """Explain PLAN: for each person, every rule with its margin where they are.

    With --defector, also every other area: allowed ones ranked by what choosing them would
    gain or cost, the others with the first rule that rules them out ("Malmö: threats: 12.0
    km from N03's territory in Malmö, needs 100 km"). Already placed people get the same
    treatment: whether their place still keeps every rule. Distances are the checker's,
    rounded down to 0.1 km. A plan made with what-if --set overrides is explained against the
    scenario as written unless --what-if-rules; either way a note says which.
    """
    import dataclasses

    from placement.explain import explain_plan, render_explanation
    from placement.plan import load_plan
    from placement.whatif import WhatIf

    loaded = _load_scenario(scenario, allow_personal_numbers=allow_personal_numbers)
    try:
        loaded_plan = load_plan(plan, allow_personal_numbers=allow_personal_numbers)
    except InputError as error:
        _fail(error)
    loaded, notes = _under_what_if_rules(
        loaded,
        scenario,
        WhatIf.of_plan(loaded_plan),
        what_if_rules,
        verb="explained",
        allow_personal_numbers=allow_personal_numbers,
    )
    if defector is not None and defector not in loaded.defector_index:
        _fail(InputError(scenario, [_problem("--defector", _unknown_defector(loaded, defector))]))
    explanation = explain_plan(loaded, loaded_plan, defector=defector)
    explanation = dataclasses.replace(explanation, notes=tuple(notes))
    click.echo(render_explanation(explanation, fmt, top=top), nl=False)  # type: ignore[arg-type]  # click.Choice guarantees a Format


def _unknown_defector(scenario: Any, defector: str) -> str:
    import difflib

    close = difflib.get_close_matches(defector, list(scenario.defector_index), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return f"unknown defector '{defector}'{hint}"


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--defector", help="A pending (or placed) person of the scenario.")
@click.option(
    "--case",
    "case",
    type=click.Path(dir_okay=False),
    help="A YAML/JSON file with one new person's keys (id, networks, origin, ...).",
)
@click.option(
    "--plan",
    "plan",
    type=click.Path(dir_okay=False),
    help="Take everyone else's places from this plan instead of the scenario's placed_in.",
)
@FORMAT_OPTION
@TOP_OPTION
@ALLOW_PERSONAL_NUMBERS_OPTION
def recommend(
    scenario: str,
    defector: str | None,
    case: str | None,
    plan: str | None,
    fmt: str,
    top: int,
    allow_personal_numbers: bool,
) -> None:
    """Rank areas for one person, given everyone else's current placements.

    Give exactly one of --defector and --case. Allowed areas are ranked by this project's
    secondary objective (safety margin, waits, wishes), each with every rule's margin; the
    excluded areas are listed with the first rule that rules them out. A direct evaluation,
    not a solve: it answers in well under a second at national size.
    """
    from placement.explain import recommend as rank
    from placement.explain import render_recommendation, where_people_live
    from placement.plan import load_plan
    from placement.scenario import load_scenario_with_case

    if (defector is None) == (case is None):
        _fail(InputError("recommend", [_problem("", "give exactly one of --defector and --case")]))
    if case is not None:
        try:
            loaded, defector = load_scenario_with_case(
                scenario, case, allow_personal_numbers=allow_personal_numbers
            )
        except InputError as error:
            _fail(error)
    else:
        loaded = _load_scenario(scenario, allow_personal_numbers=allow_personal_numbers)
    assert defector is not None
    if defector not in loaded.defector_index:
        _fail(InputError(scenario, [_problem("--defector", _unknown_defector(loaded, defector))]))
    placements = None
    context = "people already placed in the scenario"
    if plan is not None:
        try:
            placements = where_people_live(
                loaded, load_plan(plan, allow_personal_numbers=allow_personal_numbers)
            )
        except InputError as error:
            _fail(error)
        context = f"places in {Path(plan).name}"
    result = rank(loaded, defector, placements=placements, context=context)
    click.echo(render_recommendation(result, fmt, top=top), nl=False)  # type: ignore[arg-type]  # click.Choice guarantees a Format


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@ALLOW_PERSONAL_NUMBERS_OPTION
def validate(scenario: str, allow_personal_numbers: bool) -> None:
    """Check SCENARIO for problems; print a one-screen summary when it is valid."""
    from placement.summary import render_scenario_summary

    loaded = _load_scenario(scenario, allow_personal_numbers=allow_personal_numbers)
    click.echo(render_scenario_summary(loaded))


OUTPUT_FILE_OPTION = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the result, atomically. May be FILE itself (in place).",
)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@OUTPUT_FILE_OPTION
def encrypt(file: str, output: str) -> None:
    """Encrypt FILE (a scenario, history, case or plan) with a passphrase, to -o OUT.

    The passphrase comes from the PLACEMENT_PASSPHRASE environment variable or, on a
    terminal, a prompt that asks twice; never from the command line. Every command reads an
    encrypted file transparently, and a plan solved from an encrypted scenario is written
    encrypted. AES-256-GCM, key derived with scrypt. FILE stays as it is unless -o names it.
    """
    from placement import crypto

    data = _read_input(file)
    if crypto.is_encrypted(data):
        _fail(InputError(file, [_problem("", "already encrypted")]))
    try:
        sealed = crypto.encrypt(data, crypto.passphrase_for_encryption())
    except crypto.EncryptionError as error:
        _fail(error)
    _write_output(output, sealed)
    click.echo(f"Encrypted {file} to {output}.")
    if Path(output).resolve() != Path(file).resolve():
        click.echo(f"{file} is still in plain text; delete it if it is not needed.", err=True)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@OUTPUT_FILE_OPTION
def decrypt(file: str, output: str) -> None:
    """Decrypt FILE (made by `placement encrypt` or `solve --encrypt`) to -o OUT, in plain text.

    The passphrase comes from the PLACEMENT_PASSPHRASE environment variable or a prompt.
    A wrong passphrase or an altered file is refused (exit 2) and nothing is written.
    Commands read encrypted files directly: decrypt only to hand a file to another tool.
    """
    from placement import crypto

    data = _read_input(file)
    if not crypto.is_encrypted(data):
        _fail(InputError(file, [_problem("", "not encrypted")]))
    try:
        plain = crypto.decrypt_with_source(data, source=file)
    except crypto.EncryptionError as error:
        _fail(error)
    _write_output(output, plain)
    click.echo(f"Decrypted {file} to {output} (plain text: handle it as secret).")


def _read_input(path: str) -> bytes:
    from placement import _yamlio

    try:
        return _yamlio.read_bytes(Path(path))
    except InputError as error:
        _fail(error)


def _write_output(output: str, data: bytes) -> None:
    from placement.plan import write_bytes_atomic

    out = _output_path(output)
    try:
        write_bytes_atomic(out, data)
    except OSError as error:
        _cannot_write(output, error)


@main.command(epilog=EXIT_CODES_HELP)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the scenario: YAML, or JSON when the name ends in .json.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the generator: the same seed and arguments give the same file.",
)
@click.option(
    "--networks",
    type=click.IntRange(min=1, max=10_000),
    default=40,
    show_default=True,
    help="Criminal networks, with territories, feuds and alliances.",
)
@click.option(
    "--placed",
    type=click.IntRange(min=0, max=100_000),
    default=300,
    show_default=True,
    help="Defectors already living somewhere (placed within every rule).",
)
@click.option(
    "--pending",
    type=click.IntRange(min=0, max=100_000),
    default=60,
    show_default=True,
    help="Defectors waiting for a place.",
)
@click.option(
    "--housing-scale",
    type=click.FloatRange(min=0, max=1000),
    default=1.0,
    show_default=True,
    help="Multiply the free housing units; below 1 makes housing short.",
)
@click.option("--name", help="The scenario's name (default: one recording the arguments).")
@click.option(
    "--history",
    is_flag=True,
    help="Write a history instead: the --pending people arrive one by one over --months, "
    "among feuds, truces, territory and housing changes, departures and re-assessments.",
)
@click.option(
    "--months",
    type=click.IntRange(min=1, max=600),
    default=12,
    show_default=True,
    help="With --history: how long the history runs.",
)
@click.option(
    "--events",
    type=click.IntRange(min=0, max=100_000),
    help="With --history: events besides arrivals (default: half the arrivals).",
)
def generate(
    output: str,
    seed: int,
    networks: int,
    placed: int,
    pending: int,
    housing_scale: float,
    name: str | None,
    history: bool,
    months: int,
    events: int | None,
) -> None:
    """Write a realistic SYNTHETIC scenario, or with --history a history (same arguments,
    same file).

    Networks' territories cluster in the municipalities with police-listed vulnerable areas,
    feuds form factions, housing is scarce, and the already placed people are placed within
    every hard rule. For tests, benchmarks and training; no real person is in it.
    """
    from placement.generate import generate_history, generate_scenario, scenario_yaml
    from placement.plan import write_text_atomic

    if not math.isfinite(housing_scale):
        _fail(InputError("generate", [_problem("--housing-scale", "must be a number, not nan")]))
    if name is not None:
        _check_name(name)
    if not history:
        context = click.get_current_context()
        stray = [
            f"--{name}"
            for name in ("months", "events")
            if context.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
        ]
        if stray:
            raise click.UsageError(f"{' and '.join(stray)} only apply with --history")
    out = _output_path(output)
    command = (
        f"placement generate --seed {seed} --networks {networks} --placed {placed} "
        f"--pending {pending} --housing-scale {housing_scale!r}"
        + (f" --name {shlex.quote(name)}" if name is not None else "")
    )
    try:
        if history:
            document = generate_history(
                seed=seed,
                networks=networks,
                placed=placed,
                arrivals=pending,
                months=months,
                events=events,
                name=name,
                housing_scale=housing_scale,
            )
            command += f" --history --months {months}" + (
                f" --events {events}" if events is not None else ""
            )
        else:
            document = generate_scenario(
                seed=seed,
                networks=networks,
                placed=placed,
                pending=pending,
                name=name,
                housing_scale=housing_scale,
            )
    except ValueError as error:
        _fail(InputError("generate", [_problem("", str(error))]))
    what = "history" if history else "scenario"
    if out.suffix.lower() == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False)
    else:
        text = scenario_yaml(document, header=f"SYNTHETIC {what}, made by: {command}")
    _refuse_unreadable(text, out.suffix, what)
    try:
        write_text_atomic(out, text)
    except OSError as error:
        _cannot_write(output, error)
    if history:
        arrived = sum(1 for event in document["events"] if "arrive" in event)
        others = len(document["events"]) - arrived
        asked = pending // 2 if events is None else events
        short = (
            f"; {asked - others} of the {asked} asked for could not happen in this world"
            if others < asked
            else ""
        )
        click.echo(
            f"Wrote a synthetic history ({_count(networks, 'network')}, {placed} placed at the "
            f"start, {arrived} arrivals and {others} other events over {months} months{short}) "
            f"to {out}"
        )
        return
    click.echo(
        f"Wrote a synthetic scenario ({_count(networks, 'network')}, {placed} placed, "
        f"{pending} pending) to {out}"
    )


def _check_name(name: str) -> None:
    """--name is written as the file's name and in its header: plain text, on one line."""
    from placement.scenario import plain_text

    try:
        plain_text(name)
    except ValueError as error:
        _fail(InputError("generate", [_problem("--name", str(error))]))
    if "".join(name.splitlines()) != name:  # any line break Python knows, U+2028 too
        _fail(InputError("generate", [_problem("--name", "must be one line")]))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _refuse_unreadable(text: str, suffix: str, what: str) -> None:
    """Exit 2, writing nothing, when placement itself would refuse the generated file.

    The generator's options allow sizes (100,000 people, large housing scales) beyond what the
    readers accept (file size, value count, housing units per area): rather than write a file
    that ``validate`` then refuses, it is read back here exactly as a user's file would be.
    """
    import tempfile

    from placement.history import load_history
    from placement.scenario import load_scenario

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"generated{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            (load_history if what == "history" else load_scenario)(path)
        except InputError as error:
            shown = "; ".join(str(p) for p in error.problems[:3])
            more = len(error.problems) - 3
            _fail(
                InputError(
                    "generate",
                    [
                        _problem(
                            "",
                            f"the {what} asked for would be refused when read ({shown}"
                            + (f"; and {more} more" if more > 0 else "")
                            + "): ask for fewer people or a smaller --housing-scale",
                        )
                    ],
                )
            )


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("plan", type=click.Path(dir_okay=False))
@click.argument("plan2", required=False, type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the report (one self-contained HTML file), atomically.",
)
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False),
    help="Also write the map(s) as a static PNG image, for documents.",
)
@click.option("--title", help="The report's title (default: one naming the scenario).")
@click.option(
    "--encrypt/--no-encrypt",
    "encrypt",
    default=None,
    help="Write the report (and PNG) encrypted. Default: encrypted when SCENARIO or a PLAN "
    "is encrypted; decrypt with `placement decrypt` to open it in a browser.",
)
@ALLOW_PERSONAL_NUMBERS_OPTION
def report(
    scenario: str,
    plan: str,
    plan2: str | None,
    output: str,
    png: str | None,
    title: str | None,
    encrypt: bool | None,
    allow_personal_numbers: bool,
) -> None:
    """Write an HTML report of PLAN (and PLAN2, to compare) for SCENARIO to -o FILE.

    One offline file (nothing is fetched; it opens in any browser and prints): a summary,
    a map per plan with the municipalities by load, network territories and their threat
    buffers, people and keep-apart links, the load per area, the comparison tables, every
    person's explanation and the checker's findings. It holds case data: it is written
    readable by its owner only, and encrypted like a plan.
    """
    from placement import crypto
    from placement.plan import OutputWriteError, load_plan, write_files_atomic
    from placement.report import build_report, report_png

    out = _output_path(output)
    png_out = _output_path(png) if png is not None else None
    plan_paths = [plan] if plan2 is None else [plan, plan2]
    loaded = _load_scenario(scenario, allow_personal_numbers=allow_personal_numbers)
    plans = []
    for path in plan_paths:
        try:
            plans.append(load_plan(path, allow_personal_numbers=allow_personal_numbers))
        except InputError as error:
            _fail(error)
    passphrase = _output_passphrase(encrypt, encrypted_input=_any_encrypted(scenario, *plan_paths))
    names = [Path(p).name for p in plan_paths]
    if len(set(names)) < len(names):
        names = [f"plan {k + 1}: {name}" for k, name in enumerate(names)]
    outputs = [(out, build_report(loaded, plans, labels=names, title=title).encode("utf-8"))]
    if png_out is not None:
        outputs.append((png_out, report_png(loaded, plans, labels=names)))
    sealed = [(t, d if passphrase is None else crypto.encrypt(d, passphrase)) for t, d in outputs]
    try:
        write_files_atomic(sealed)  # both or neither
    except OutputWriteError as error:
        option = "--png" if error.target == png_out else "--output"
        _cannot_write(str(error.target), error, option=option)
    note = " (encrypted)" if passphrase else ""
    click.echo(f"Report written to {out}{note}" + (f"; map to {png_out}{note}" if png_out else ""))


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("history", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the timeline (JSON). Written atomically, only when the replay is whole.",
)
@click.option(
    "--report",
    "report",
    type=click.Choice(["text", "markdown"]),
    default=None,
    help="Also print the readable timeline: per date, what happened and what was decided.",
)
@click.option(
    "--step-budget",
    type=click.FloatRange(min=0.01),
    default=20.0,
    show_default=True,
    help="CP-SAT deterministic time per search (reproducible, unlike seconds).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=300.0,
    show_default=True,
    help="Wall-clock cap per date; a guard only (a cut search is marked feasible).",
)
@SOLVER_SEED_OPTION
@click.option("--no-hindsight", is_flag=True, help="Skip the offline-optimum comparison.")
@click.option("-q", "--quiet", is_flag=True, help="Print no summary and no progress.")
@click.option(
    "--encrypt/--no-encrypt",
    "encrypt",
    default=None,
    help="Write the timeline encrypted. Default: encrypted when HISTORY (or its scenario "
    "file) is encrypted, plain otherwise.",
)
@ALLOW_PERSONAL_NUMBERS_OPTION
def replay(
    history: str,
    output: str,
    report: str | None,
    step_budget: float,
    time_limit: float,
    seed: int,
    no_hindsight: bool,
    quiet: bool,
    encrypt: bool | None,
    allow_personal_numbers: bool,
) -> None:
    """Replay HISTORY date by date and write what the planner decides to -o TIMELINE.json.

    At each date: people whose place now breaks a rule are moved (as few as possible, with
    the reason) or reported AT RISK when no safe place exists; nobody whose place is still
    safe is moved; pending people are placed. Where events carry `actual`, rules broken by
    what was in fact done are flagged. Ends with the hindsight benchmark (the offline
    optimum). The same history and settings give the same timeline, byte for byte.
    An interrupted replay (SIGINT/SIGTERM) writes nothing.
    """
    from placement.history import load_history
    from placement.replay import (
        ReplaySettings,
        render_summary,
        render_timeline,
        replay_history,
        write_timeline,
    )

    out = _output_path(output)
    with _stop_on_signals() as stop:
        try:
            loaded = load_history(history, allow_personal_numbers=allow_personal_numbers)
        except InputError as error:
            _fail(error)
        passphrase = _output_passphrase(encrypt, encrypted_input=loaded.encrypted)
        settings = ReplaySettings(
            seed=seed,
            step_budget=step_budget,
            step_time_limit_s=time_limit,
            hindsight=not no_hindsight,
        )
        progress = None if quiet else (lambda line: click.echo(line, err=True))
        try:
            result = replay_history(loaded, settings, stop=stop, progress=progress)
        except InputError as error:
            _fail(error)
        if result.interrupted is not None:
            click.echo(
                f"Interrupted by {result.interrupted}; nothing written (a timeline is "
                "only written whole).",
                err=True,
            )
            sys.exit(_interrupted_exit_code(result.interrupted))
        try:
            write_timeline(result.timeline, out, passphrase=passphrase)
        except OSError as error:
            _cannot_write(output, error)
    if report is not None:
        click.echo(render_timeline(result.timeline, report), nl=False)  # type: ignore[arg-type]  # click.Choice guarantees a ReportFormat
    if not quiet:
        click.echo(render_summary(result.timeline))
        click.echo(f"Timeline written to {out}" + (" (encrypted)" if passphrase else ""))


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("timeline_file", metavar="TIMELINE", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html"]),
    default="text",
    show_default=True,
    help="Plain text, markdown (for reports), or a self-contained HTML page.",
)
@click.option("-o", "--output", help="Write to this file (atomically) instead of printing.")
@click.option(
    "--encrypt/--no-encrypt",
    "encrypt",
    default=None,
    help="With -o: write encrypted. Default: encrypted when TIMELINE is encrypted.",
)
@ALLOW_PERSONAL_NUMBERS_OPTION
def timeline(
    timeline_file: str,
    fmt: str,
    output: str | None,
    encrypt: bool | None,
    allow_personal_numbers: bool,
) -> None:
    """Show a timeline written earlier by `placement replay`, as text, markdown or HTML.

    The file is validated (every problem with its place, exit 2) and its digest verified:
    an edited timeline is shown with a warning. HTML is one self-contained page (no scripts,
    nothing fetched), risks first at every date.
    """
    from placement import crypto
    from placement.replay import render_timeline
    from placement.timeline import load_timeline, render_timeline_html

    out = _output_path(output) if output is not None else None
    try:
        document, warning = load_timeline(
            timeline_file, allow_personal_numbers=allow_personal_numbers
        )
    except InputError as error:
        _fail(error)
    if fmt == "html":
        text = render_timeline_html(document, warning=warning)
    else:
        text = render_timeline(document, "markdown" if fmt == "markdown" else "text")
        if warning is not None:
            click.echo(f"Warning: {warning}", err=True)
    if out is None:
        click.echo(_escape_controls(text) if fmt != "html" else text, nl=False)
        return
    passphrase = _output_passphrase(encrypt, encrypted_input=_any_encrypted(timeline_file))
    data = text.encode("utf-8")
    try:
        _write_output(str(out), crypto.encrypt(data, passphrase) if passphrase else data)
    except OSError as error:
        _cannot_write(str(out), error)
    click.echo(f"Timeline written to {out}" + (" (encrypted)" if passphrase else ""))


@main.command()
@click.option("--history", is_flag=True, help="The schema of history files instead.")
def schema(history: bool) -> None:
    """Print the JSON Schema of scenario files (for editors and other tools)."""
    from placement.history import history_json_schema
    from placement.scenario import scenario_json_schema

    document = history_json_schema() if history else scenario_json_schema()
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def run() -> None:
    """The program's entry point: finish start-up with signals recorded, then run a command.

    The heavy modules (OR-Tools, geopandas, ...) are imported here, while a signal is only
    recorded; if one came, the program stops before doing anything (nothing is written).
    Then the default handling returns, and ``solve`` installs its own graceful handlers.
    """
    signal.signal(signal.SIGINT, _record_signal)
    signal.signal(signal.SIGTERM, _record_signal)
    import placement.check
    import placement.crypto
    import placement.explain
    import placement.solve
    import placement.summary  # noqa: F401  # imported for their start-up cost, see above

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _PENDING_SIGNALS:
        reason = _PENDING_SIGNALS[0]
        click.echo(f"Interrupted by {reason} during start-up; nothing written.", err=True)
        sys.exit(_interrupted_exit_code(reason))
    main()


if __name__ == "__main__":
    run()
