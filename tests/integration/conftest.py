"""Integration fixtures: a real MLflow tracking + registry store on sqlite in a temp folder."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point MLflow tracking and registry at one sqlite file for the session; artifacts under the same folder."""
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield root
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


@pytest.fixture()
def mlflow_experiment(mlflow_store: Path) -> Iterator[str]:
    """A fresh experiment (artifacts in the temp folder) set as active; yields its name."""
    import mlflow

    name = f"test-{uuid.uuid4().hex[:8]}"
    mlflow.create_experiment(name, artifact_location=(mlflow_store / name).as_uri())
    mlflow.set_experiment(name)
    yield name
    if mlflow.active_run():
        mlflow.end_run()
