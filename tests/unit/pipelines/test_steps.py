"""The step table is the one list of steps: the CLI, the wheel's entry points and ``gda-clv run`` all read it."""
from __future__ import annotations

import ast
from pathlib import Path

from gda_clv import cli
from gda_clv.pipelines.steps import COMMANDS, RUN_ALL, STEPS

SETUP = Path(__file__).resolve().parents[3] / "setup.py"


def _setup_entry_points() -> dict[str, str]:
    for node in ast.parse(SETUP.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "STEP_ENTRY_POINTS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no STEP_ENTRY_POINTS")


def test_every_command_has_a_wheel_entry_point_that_runs_it() -> None:
    expected = {step.entry_point: f"gda_clv.cli:{step.key}_main" for step in COMMANDS.values()}
    assert _setup_entry_points() == expected
    for step in COMMANDS.values():
        assert getattr(cli, f"{step.key}_main").__doc__ == (
            f"Wheel entry point: ``gda-clv {step.name}`` with the task's parameters."
        )


def test_cli_subcommands_and_as_of_flags_come_from_the_table() -> None:
    parser = cli.build_parser()
    for step in COMMANDS.values():
        args = parser.parse_args([step.name, "--env", "local"])
        assert ("as_of" in args) is step.takes_as_of
    assert [s.name for s in STEPS] == ["prepare", "train-frequency", "train-monetary", "project", "monitor"]
    assert RUN_ALL.module == "gda_clv.pipelines.run_all" and not STEPS[0].takes_as_of
