"""utils.common: the seed's Singleton metaclass stays available to notebooks' own classes; JobContext is not one."""
from __future__ import annotations

from gda_clv.utils.common import JobContext, Singleton


class _Settings(metaclass=Singleton):
    def __init__(self, name: str) -> None:
        self.name = name


def test_singleton_keeps_one_instance_per_arguments() -> None:
    first = _Settings("a")
    assert _Settings("a") is first
    second = _Settings("b")
    assert second is not first and second.name == "b" and _Settings("b") is second
    _Settings.reset()
    assert _Settings("b") is not second


def test_job_context_is_a_plain_class() -> None:
    assert type(JobContext) is type
