"""The one list of job steps: CLI subcommands, wheel entry points, ``gda-clv run``'s order and as_of hand-offs.

A step module is imported only when its step runs, so ``gda-clv --help`` and the tools do not load Spark or MLflow.
"""
from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext


@dataclass(frozen=True)
class Step:
    """A ``gda-clv <name>`` command backed by ``<module>.run(ctx, **handed_over) -> summary``."""

    name: str
    module: str
    help: str
    #: works on one as_of of the feature table, handed over with ``--as-of`` (prepare decides it)
    takes_as_of: bool = True
    #: logs to MLflow: the CLI points MLflow at the context before the step runs
    uses_mlflow: bool = True

    @property
    def key(self) -> str:
        """The step's key in summaries (``train_frequency``)."""
        return self.name.replace("-", "_")

    @property
    def entry_point(self) -> str:
        """The wheel's console script for a ``python_wheel_task`` (``clv_train_frequency``)."""
        return f"clv_{self.key}"

    def run(self, ctx: JobContext, **handed_over: str | dt.date | None) -> dict[str, Any]:
        """Import the step's module and run it on ``ctx``."""
        summary: dict[str, Any] = importlib.import_module(self.module).run(ctx, **handed_over)
        return summary


#: the job's steps, in the order ``gda-clv run`` runs them
STEPS: tuple[Step, ...] = (
    Step("prepare", "gda_clv.pipelines.prepare", "validate transactions, quarantine bad rows, write RFM features",
         takes_as_of=False, uses_mlflow=False),
    Step("train-frequency", "gda_clv.pipelines.train_frequency", "tune, fit and register the purchase-frequency model"),
    Step("train-monetary", "gda_clv.pipelines.train_monetary", "tune, fit and register the Gamma-Gamma spend model"),
    Step("project", "gda_clv.pipelines.project", "score every customer with the champion models; write CLV outputs"),
    Step("monitor", "gda_clv.pipelines.monitor", "drift and performance-over-time metrics of one as_of; alerts"),
)
#: every step one command: prepare's as_of is handed to the later steps inside the process
RUN_ALL = Step("run", "gda_clv.pipelines.run_all", "prepare -> train -> project -> monitor in one process",
               takes_as_of=False)
#: every ``gda-clv`` pipeline command
COMMANDS: dict[str, Step] = {step.name: step for step in (*STEPS, RUN_ALL)}
