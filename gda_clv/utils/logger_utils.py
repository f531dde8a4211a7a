"""One log format for every gda_clv module; Spark's and py4j's chatter kept out of the way."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOG_FORMAT = "%(asctime)s %(levelname)-5s [%(name)s] %(message)s"
NOISY_LOGGERS = ("py4j", "pyspark", "urllib3", "alembic", "mlflow.store", "hyperopt", "matplotlib", "numexpr")


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
    """Log the start and duration of a phase; record its seconds in ``timings``."""
    logger.info("%s ...", name)
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = round(time.perf_counter() - start, 3)
        if timings is not None:
            timings[name] = seconds
        logger.info("%s done in %.1fs", name, seconds)
