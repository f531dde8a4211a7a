"""Integration fixtures: a real MLflow tracking + registry store on sqlite in a temp folder, fitted CDNOW models."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from gda_clv.models._lifetimes import quiet
from gda_clv.models.frequency import FrequencyModel, make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point MLflow tracking and registry at one sqlite file for the session; artifacts under the same folder."""
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
    name = f"test-{uuid.uuid4().hex[:8]}"
    mlflow.create_experiment(name, artifact_location=(mlflow_store / name).as_uri())
    mlflow.set_experiment(name)
    yield name
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """lifetimes' CDNOW summary (2357 customers: frequency, recency, T, monetary_value) in weeks."""
    with quiet():
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

        return load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="session")
def bgnbd_cdnow(cdnow_summary: pd.DataFrame) -> FrequencyModel:
    d = cdnow_summary
    return make_frequency_model("bgnbd").fit(d["frequency"], d["recency"], d["T"])


@pytest.fixture(scope="session")
def gamma_gamma_cdnow(cdnow_summary: pd.DataFrame) -> GammaGammaModel:
    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    return GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])


@pytest.fixture(scope="session")
def cdnow_sample_transactions() -> pd.DataFrame:
    """lifetimes' CDNOW_sample.txt (2357 customers, 6919 rows, 1997-01..1998-06) as standard transaction columns."""
    from gda_clv.pipelines.prepare import lifetimes_cdnow_path

    path = lifetimes_cdnow_path().with_name("CDNOW_sample.txt")
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["customer_id", "id2", "date", "cds", "amount"])
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str),
            "transaction_date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d").dt.date,
            "amount": raw["amount"].astype(float),
        }
    )


@pytest.fixture(scope="session")
def cdnow_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CDNOW file lifetimes ships, cut to its first 1000 customers (same layout)."""
    from gda_clv.pipelines.prepare import lifetimes_cdnow_path

    lines = lifetimes_cdnow_path().read_text().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if int(line.split()[0]) <= 1000]
    path = tmp_path_factory.mktemp("cdnow") / "CDNOW_subset.txt"
    path.write_text("\n".join(kept) + "\n")
    return path
