"""Databricks spark_python_task for the CLV projection: the same entry point as ``gda-clv project``.

Task parameters are the CLI's: ``--env dev [--conf-file F] [--set key=value ...] [--summary-json PATH]``.
"""
import sys

from gda_clv.cli import project_main

if __name__ == "__main__":
    sys.argv[0] = "clv_project"
    project_main()
