"""Local Databricks job runner: ``gda-clv workflow run WORKFLOW --env local``.

Runs the tasks of a workflow rendered by job-gen as Databricks runs them: one OS process per task,
``depends_on`` honoured, independent tasks at the same time, timeouts, retries and dynamic value references.
"""
