"""Utilities of the gda_clv wheel, in three roles. Module paths are public API (notebooks and job files import
them), so the roles are told here and in docs/ARCHITECTURE.md rather than by moving modules.

Runtime (inside every step's process, locally and on Databricks):
    :mod:`~gda_clv.utils.common` (``JobContext``, table configs), :mod:`~gda_clv.utils.config_utils` and
    :mod:`~gda_clv.utils.config_schema` (the merged, typed config), :mod:`~gda_clv.utils.spark_session`,
    :mod:`~gda_clv.utils.tables` (``TableStore``), :mod:`~gda_clv.utils.feature_store_utils` (the feature table),
    :mod:`~gda_clv.utils.task_values`, :mod:`~gda_clv.utils.logger_utils`, :mod:`~gda_clv.utils.failures`.

MLflow and outputs (what a step leaves behind for the next step and for people):
    :mod:`~gda_clv.utils.registry` (challenger, gate, champion by alias), :mod:`gda_clv.utils.pipelines`
    (``pyfunc``: the MLflow model wrappers; ``model_utils``; ``save_to_blob`` with ``run_folders`` and
    ``output_files``: dated prediction files and their lineage).

Deploy-time tooling (on a laptop or CI, never inside a job):
    :mod:`~gda_clv.utils.job_gen` (templates -> dbx deployment.yml and Asset Bundle), :mod:`~gda_clv.utils.dbx_utils`
    (workflow dicts), :mod:`~gda_clv.utils.bundle_check`, :mod:`~gda_clv.utils.job_templates_scheduler_gen`,
    :mod:`~gda_clv.utils.job_meta_checker` (``check-meta``), :mod:`gda_clv.utils.api` (workspace REST).

Shared by runtime and deploy time: :mod:`~gda_clv.utils.commit` (the one commit lookup) and
:mod:`~gda_clv.utils.workspace_paths` (the one rule for workspace paths and the MLflow experiment).
Runtime modules never import deploy-time ones (tests/unit/test_layers.py).
"""
