"""Start-up work run in a thread while the main thread waits on something else (the JVM, Spark)."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def in_background(work: Callable[[], T], name: str) -> Future[T]:
    """Run ``work`` in its own thread (named ``gda_clv-<name>``); ``result()`` waits for it and raises its error."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"gda_clv-{name}")
    future = pool.submit(work)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return future
