"""Build the gda_clv wheel: ``python -m build --wheel`` or ``pip wheel .``."""
import os
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


def _requirements() -> list[str]:
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _version() -> str:
    for line in (HERE / "gda_clv" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip('"')
    raise RuntimeError("gda_clv/__init__.py has no __version__")


def _commit() -> str:
    """GDA_CLV_COMMIT (CI), else ``git rev-parse HEAD`` of this checkout, else "" (no stamp)."""
    if os.environ.get("GDA_CLV_COMMIT"):
        return os.environ["GDA_CLV_COMMIT"]
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


class BuildPyWithCommit(build_py):
    """Writes gda_clv/_build_info.py (COMMIT) into the build, never into the source tree."""

    def run(self) -> None:
        super().run()
        commit = _commit()
        if commit and not self.editable_mode:
            target = Path(self.build_lib) / "gda_clv" / "_build_info.py"
            target.write_text(f'"""Written by setup.py at build time."""\nCOMMIT = "{commit}"\n')


# One console script per job step, usable as a Databricks python_wheel_task
# (package_name: gda_clv, entry_point: <name>). Each one is `gda-clv <step>`.
STEP_ENTRY_POINTS = {
    "clv_prepare": "gda_clv.cli:prepare_main",
    "clv_train_frequency": "gda_clv.cli:train_frequency_main",
    "clv_train_monetary": "gda_clv.cli:train_monetary_main",
    "clv_project": "gda_clv.cli:project_main",
    "clv_monitor": "gda_clv.cli:monitor_main",
    "clv_run": "gda_clv.cli:run_main",
}

setup(
    name="gda_clv",
    version=_version(),
    description="Customer Lifetime Value pipeline (BG/NBD + Gamma-Gamma) for Databricks and local Spark",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    # conf/ ships inside the wheel as gda_clv.conf, so a job on a cluster has its defaults.
    packages=find_packages(include=["gda_clv", "gda_clv.*"]) + ["gda_clv.conf"],
    package_dir={"gda_clv.conf": "conf"},
    package_data={
        "gda_clv.conf": ["*.yml", "environments/*.yml", "models/*/*.yml", "datasets/*.yml"],
        "gda_clv.utils": ["log4j2.properties"],
    },
    cmdclass={"build_py": BuildPyWithCommit},
    python_requires=">=3.10",
    install_requires=_requirements(),
    # tuning.backend: optuna. Preinstalled on DBR 17.3 LTS ML, not on 16.4.
    # evidently: `gda-clv evidently-report` (a driver-side sample report; moves no pin of either runtime mirror).
    extras_require={"optuna": ["optuna>=3.6,<5"], "evidently": ["evidently>=0.7.23,<0.8"]},
    entry_points={
        "console_scripts": ["gda-clv = gda_clv.cli:main"]
        + [f"{name} = {target}" for name, target in STEP_ENTRY_POINTS.items()],
    },
)
