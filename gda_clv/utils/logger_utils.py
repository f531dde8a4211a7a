"""One log format for every gda_clv module; Spark's and py4j's chatter kept out of the way."""
from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOG_FORMAT = "%(asctime)s %(levelname)-5s [%(name)s] %(message)s"
NOISY_LOGGERS = ("py4j", "pyspark", "urllib3", "alembic", "mlflow.store", "hyperopt", "matplotlib", "numexpr")
# Failure injection for recovery tests and drills: the process kills itself (SIGKILL, like a lost cluster node)
# when a phase whose name contains this variable's value starts.
KILL_AT_PHASE_ENV_VAR = "GDA_CLV_KILL_AT_PHASE"


def get_logger(name: str = "gda_clv", level: str | int = "INFO") -> logging.Logger:
    """A logger under ``gda_clv`` writing ``time level [name] message`` to stderr, configured once."""
    root = logging.getLogger("gda_clv")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
        root.addHandler(handler)
        root.propagate = False
        for noisy in NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.WARNING)
    root.setLevel(level)
    return logging.getLogger(name if name.startswith("gda_clv") else f"gda_clv.{name}")


@contextmanager
def log_phase(logger: logging.Logger, name: str, timings: dict[str, float] | None = None) -> Iterator[None]:
    """Log a phase's start and, at its end, "done in N s" or "failed after N s"; record its seconds in ``timings``."""
    logger.info("%s ...", name)
    _kill_if_requested(name)
    start = time.perf_counter()
    failed = True
    try:
        yield
        failed = False
    finally:
        seconds = round(time.perf_counter() - start, 3)
        if timings is not None:
            timings[name] = seconds
        if failed:
            logger.warning("%s failed after %.1fs", name, seconds)
        else:
            logger.info("%s done in %.1fs", name, seconds)


def _kill_if_requested(phase: str) -> None:
    target = os.environ.get(KILL_AT_PHASE_ENV_VAR)
    if target and target in phase:
        logging.getLogger("gda_clv").warning("%s=%r: killing this process at phase '%s'", KILL_AT_PHASE_ENV_VAR,
                                             target, phase)
        os.kill(os.getpid(), signal.SIGKILL)
