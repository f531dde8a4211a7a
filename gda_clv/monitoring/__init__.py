"""Monitoring: drift metrics computed in Spark on binned data, and alert evaluation."""
