"""The ``placement`` command: a thin front over the ``placement`` library.

Each command opens its inputs, calls one library function, prints the result and maps library
errors to the documented exit codes. Nothing here decides anything about placements.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from placement import __version__
from placement.errors import InputError, PlacementError

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INVALID = 2

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (check: every hard rule holds)
  1  check found rule violations or plan problems
  2  invalid input or usage (nothing is written)
"""


def _fail(error: PlacementError) -> NoReturn:
    click.echo(f"Error: {error}", err=True)
    sys.exit(EXIT_INVALID)


def _load_scenario(path: str) -> Any:
    from placement.scenario import load_scenario

    try:
        return load_scenario(path)
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
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Random seed of the solver; recorded in the plan.",
)
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
def solve(
    scenario: str,
    output: str,
    time_limit: float,
    seed: int,
    workers: int,
    fast_parallel: bool,
    quiet: bool,
) -> None:
    """Solve SCENARIO and write the best plan found to -o PLAN.json.

    Prints a summary: placed and unplaced by threat level, the tightest safety margins and
    the load per area. Solves longer than a couple of seconds report progress on stderr.
    """
    from placement.plan import plan_from_result, write_plan
    from placement.solve import SolveSettings, solve_scenario
    from placement.summary import render_solve_summary

    out = Path(output)
    if not out.parent.is_dir():
        _fail(
            InputError(output, [_problem("--output", f"directory '{out.parent}' does not exist")])
        )
    loaded = _load_scenario(scenario)
    settings = SolveSettings(
        time_limit_s=time_limit, seed=seed, workers=workers, reproducible=not fast_parallel
    )
    progress = None if quiet else (lambda line: click.echo(line, err=True))
    result = solve_scenario(loaded, settings, progress=progress)
    plan = plan_from_result(result)
    try:
        write_plan(plan, out)
    except OSError as error:
        _fail(InputError(output, [_problem("--output", f"cannot write: {error.strerror}")]))
    if not quiet:
        click.echo(render_solve_summary(plan, loaded))
        click.echo(f"Plan written to {out}")


def _problem(place: str, message: str) -> Any:
    from placement.errors import Problem

    return Problem(place, message)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(scenario: str, plan: str, as_json: bool) -> None:
    """Verify PLAN against every hard rule of SCENARIO, independently of the solver.

    Exit 0 when every rule holds, 1 with each violation in plain words. Problems among
    already placed people that the plan did not cause are listed as pre-existing and do not
    fail the check.
    """
    from placement.check import check_plan, render_report
    from placement.plan import load_plan

    loaded = _load_scenario(scenario)
    try:
        loaded_plan = load_plan(plan)
    except InputError as error:
        _fail(error)
    report = check_plan(loaded, loaded_plan)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_report(report, loaded))
    sys.exit(EXIT_OK if report.ok else EXIT_VIOLATIONS)


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
def explain(scenario: str, plan: str, defector: str | None, fmt: str, top: int) -> None:
    """Explain PLAN: for each person, every rule with its margin where they are.

    With --defector, also every other area: allowed ones ranked by what choosing them would
    gain or cost, the others with the first rule that rules them out ("Malmö: threats: 12.0
    km from N03's territory in Malmö, needs 100 km"). Already placed people get the same
    treatment: whether their place still keeps every rule. Distances are the checker's,
    rounded down to 0.1 km.
    """
    from placement.explain import explain_plan, render_explanation
    from placement.plan import load_plan

    loaded = _load_scenario(scenario)
    try:
        loaded_plan = load_plan(plan)
    except InputError as error:
        _fail(error)
    if defector is not None and defector not in loaded.defector_index:
        _fail(InputError(scenario, [_problem("--defector", _unknown_defector(loaded, defector))]))
    explanation = explain_plan(loaded, loaded_plan, defector=defector)
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
def recommend(
    scenario: str, defector: str | None, case: str | None, plan: str | None, fmt: str, top: int
) -> None:
    """Rank areas for one person, given everyone else's current placements.

    Give exactly one of --defector and --case. Allowed areas are ranked by this project's
    secondary objective (safety margin, waits, wishes), each with every rule's margin; the
    excluded areas are listed with the first rule that rules them out. A direct evaluation,
    not a solve: it answers in well under a second at national size.
    """
    from placement.explain import plan_areas, render_recommendation
    from placement.explain import recommend as rank
    from placement.plan import load_plan
    from placement.scenario import load_scenario_with_case

    if (defector is None) == (case is None):
        _fail(InputError("recommend", [_problem("", "give exactly one of --defector and --case")]))
    if case is not None:
        try:
            loaded, defector = load_scenario_with_case(scenario, case)
        except InputError as error:
            _fail(error)
    else:
        loaded = _load_scenario(scenario)
    assert defector is not None
    if defector not in loaded.defector_index:
        _fail(InputError(scenario, [_problem("--defector", _unknown_defector(loaded, defector))]))
    placements = None
    context = "people already placed in the scenario"
    if plan is not None:
        try:
            placements = plan_areas(loaded, load_plan(plan))
        except InputError as error:
            _fail(error)
        context = f"places in {Path(plan).name}"
    result = rank(loaded, defector, placements=placements, context=context)
    click.echo(render_recommendation(result, fmt, top=top), nl=False)  # type: ignore[arg-type]  # click.Choice guarantees a Format


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False))
def validate(scenario: str) -> None:
    """Check SCENARIO for problems; print a one-screen summary when it is valid."""
    from placement.summary import render_scenario_summary

    loaded = _load_scenario(scenario)
    click.echo(render_scenario_summary(loaded))


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors and other tools)."""
    from placement.scenario import scenario_json_schema

    click.echo(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
