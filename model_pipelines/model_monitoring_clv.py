"""Databricks spark_python_task for CLV monitoring: the same entry point as ``gda-clv monitor``.

Task parameters are the CLI's: ``--env dev [--conf-file F] [--set key=value ...] [--summary-json PATH]``.
"""
import sys

from gda_clv.cli import monitor_main

if __name__ == "__main__":
    sys.argv[0] = "clv_monitor"
    monitor_main()
