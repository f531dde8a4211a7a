"""How the installed MLflow lays out a training run's artifacts (the two runtime mirrors differ)."""
from __future__ import annotations

import mlflow

#: MLflow 2 (the DBR 16.4 mirror) writes a logged model into its run's artifacts as ``model/``; MLflow 3 (17.3)
#: keeps it as its own LoggedModel, outside the run's artifact folder.
MODEL_IN_RUN_ARTIFACTS: set[str] = {"model"} if int(mlflow.__version__.split(".")[0]) < 3 else set()
