# gda_clv developer commands. `make run` and `make test` are all a new user needs.
PROFILE ?= dbr-17.3
PYTHON ?= python3.11
# Each runtime mirror runs its runtime's Python: 17.3 LTS ML is 3.12 (pyenv's; shims refuse without PYENV_VERSION),
# 16.4 stays on 3.11 (pandas 1.5.3 has no cp312 wheel). One venv per profile so they don't rebuild each other.
PY312 := $(or $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12.*/bin/python3.12 \
	/root/.pyenv/versions/3.12.*/bin/python3.12)),$(shell command -v python3.12 2>/dev/null))
RUNTIME_PYTHON := $(if $(filter dbr-17.3,$(PROFILE)),$(PY312),$(PYTHON))
VENV := $(if $(filter dbr-17.3,$(PROFILE)),.venv,.venv-$(PROFILE))
BOOT := .venv-boot
UV := $(BOOT)/bin/uv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(PROFILE)
DOCS_STAMP := $(VENV)/.docs-installed-$(PROFILE)
ENV ?= local
SPARK_PROFILE_NOTE := profile $(PROFILE) (constraints/$(PROFILE).txt)
# mypy, strict on gda_clv/ (pyproject.toml [tool.mypy]), against the profile's own packages: passes on both runtimes.
MYPY := $(VENV)/bin/mypy

.PHONY: help env run test lint bench wheel clean docs

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet --disable-pip-version-check uv

$(STAMP): $(UV) requirements.txt unit-requirements.txt bench-requirements.txt constraints/$(PROFILE).txt setup.py
	@test -n "$(RUNTIME_PYTHON)" || { echo "make: profile $(PROFILE) runs on Python 3.12, found none in $$(pyenv root 2>/dev/null)/versions/3.12.* or on PATH; install it (pyenv install 3.12)"; exit 2; }
	@echo "== creating $(VENV) with $(SPARK_PROFILE_NOTE) on $(RUNTIME_PYTHON)"
	rm -rf $(VENV)
	$(UV) venv --quiet --seed --python $(RUNTIME_PYTHON) $(VENV)
	# 1. the runtime as preinstalled; 2. the wheel on top WITHOUT the pins, as a job library is installed;
	# 3. the test tools, held to the runtime's pins.
	$(UV) pip install --quiet --python $(PY) -r constraints/$(PROFILE).txt
	$(UV) pip install --quiet --python $(PY) -e .[optuna]
	$(UV) pip freeze --python $(PY) > $(VENV)/wheel-installed.txt
	$(UV) pip install --quiet --python $(PY) -c constraints/$(PROFILE).txt \
		-r unit-requirements.txt -r bench-requirements.txt
	touch $(STAMP)

env: $(STAMP) $(DOCS_STAMP)  ## create .venv with the runtime profile's pinned packages

run: $(STAMP)  ## run the whole pipeline on the embedded default (local Spark, sqlite MLflow)
	$(VENV)/bin/gda-clv run --env $(ENV) --summary-json .gda_clv/last_run_summary.json

test: $(STAMP) $(DOCS_STAMP)  ## run lint and the whole test suite
	$(VENV)/bin/ruff check gda_clv tests bench data_engineering_pipelines model_pipelines setup.py
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(MYPY)
	$(PY) tests/runtime_moves.py constraints/$(PROFILE).txt $(VENV)/wheel-installed.txt
	$(PY) -m pytest -q tests

lint: $(STAMP)  ## ruff, and mypy strict on gda_clv/
	$(VENV)/bin/ruff check gda_clv tests bench data_engineering_pipelines model_pipelines setup.py
	$(MYPY)

wheel: $(STAMP)  ## build dist/gda_clv-*.whl
	$(PY) -m build --wheel --outdir dist .

bench: $(STAMP)  ## benchmarks against lifetimes / DuckDB (not part of make test)
	$(PY) -m bench

RACE_CUSTOMERS ?= 200000
.PHONY: bench-race
bench-race: $(STAMP)  ## gda-clv run vs the pandas+lifetimes notebook, own processes (RACE_CUSTOMERS=1000000 for the issue's race)
	$(PY) -m bench.race --customers $(RACE_CUSTOMERS)

SCALE_TRANSACTIONS ?= 1000000
.PHONY: bench-scale
bench-scale: $(STAMP)  ## gda-clv run on local[*] and local-cluster with 1 and 2 executor processes: scaling, same outputs
	$(PY) -m bench.scale --transactions $(SCALE_TRANSACTIONS)

# Sphinx and its extensions go into .venv on top of the profile's pins (constraints keep every pinned package where it
# is); the test suite builds the docs too, so `make test` installs them.
$(DOCS_STAMP): $(STAMP) docs-requirements.txt
	$(UV) pip install --quiet --python $(PY) -c constraints/$(PROFILE).txt -r docs-requirements.txt
	touch $@

docs: $(DOCS_STAMP)  ## build the documentation site into docs/_build/html (warnings are errors)
	rm -rf docs/_build/html docs/generated
	$(PY) -m sphinx -E -b html -W --keep-going docs docs/_build/html
	@echo "== docs: open docs/_build/html/index.html"

clean:  ## remove environments and local run state
	rm -rf .venv .venv-dbr-* $(BOOT) .gda_clv dist build *.egg-info docs/_build docs/generated

# ---- deployment: dbx 0.8.19 in its own venv (its pins conflict with the runtime's), job-gen, dbx deploy ----
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed
DEPLOY_ENVS := dev staging prod
DEPLOY_TOOL ?= dbx
.PHONY: .venv-deploy validate-deploy deploy

$(DEPLOY_STAMP): $(UV) deploy-requirements.txt
	rm -rf $(DEPLOY_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(DEPLOY_VENV)
	$(UV) pip install --quiet --python $(DEPLOY_VENV)/bin/python -r deploy-requirements.txt
	touch $@

.venv-deploy: $(DEPLOY_STAMP)  ## create .venv-deploy with dbx 0.8.19

validate-deploy: $(STAMP) $(DEPLOY_STAMP)  ## job-gen -> conf/deployment.yml + conf/bundle/, every validation (offline)
	$(VENV)/bin/gda-clv job-gen --require-dbx --summary-json .gda_clv/job_gen_summary.json

deploy:  ## make deploy ENV=dev|staging|prod [WHEEL=built.whl] [FIRST_DEPLOY=1] [DEPLOY_TOOL=bundle]
	@if [ -z "$$DATABRICKS_HOST" ] || [ -z "$$DATABRICKS_TOKEN" ]; then \
		echo "make deploy: DATABRICKS_HOST and DATABRICKS_TOKEN must be set (nothing was built or deployed)"; exit 2; fi
	@case " $(DEPLOY_ENVS) " in *" $(ENV) "*) ;; *) \
		echo "make deploy: ENV must be one of: $(DEPLOY_ENVS) (got '$(ENV)'; nothing was deployed)"; exit 2;; esac
	@# WHEEL promotes a wheel built and tested before (CD); otherwise build one from this checkout.
	if [ -n "$(WHEEL)" ]; then tmp=$$(mktemp -d) && cp "$(WHEEL)" $$tmp/ && rm -rf dist && mkdir dist \
		&& mv $$tmp/*.whl dist/; else rm -rf dist && $(MAKE) wheel; fi
	$(MAKE) validate-deploy
	@# Fails (exit 1) when the wheel's stamped commit, the rendered jobs or the champion models do not match.
	$(VENV)/bin/gda-clv check-meta --env $(ENV) --wheel "$$(ls dist/gda_clv-*.whl)" \
		$(if $(FIRST_DEPLOY),,--env-models --registry-uri databricks-uc)
	@# Workspace folders, the jobs' MLflow experiment under its parent folder, its access list, UC model grants.
	$(VENV)/bin/gda-clv workspace-setup --env $(ENV)
ifeq ($(DEPLOY_TOOL),bundle)
	@# The jobs and the AI/BI dashboard (resources/dashboards.yml, conf/dashboards/clv.lvdash.json per environment).
	cd conf/bundle && databricks bundle deploy --target $(ENV)
else
	@# .dbx/project.json (written by job-gen) puts dbx's artifacts on the environment's UC volume.
	$(DEPLOY_VENV)/bin/dbx deploy --deployment-file conf/deployment.yml --environment $(ENV)
	@echo "make deploy: dbx deploys jobs only; the AI/BI dashboard is a bundle resource (DEPLOY_TOOL=bundle)"
endif
	@# The Lakehouse monitor of the predictions table, once the first scoring run has created the table.
	$(if $(FIRST_DEPLOY),@echo "make deploy: FIRST_DEPLOY: run gda-clv monitoring-setup --env $(ENV) after the first clv-scoring run",$(VENV)/bin/gda-clv monitoring-setup --env $(ENV))

# ---- local Databricks job runner: PostgreSQL for the shared Hive metastore + MLflow store (scripts/local_services.sh) ----
.PHONY: services services-stop workflow-test
services:  ## start the local PostgreSQL that concurrent workflow tasks share (idempotent)
	scripts/local_services.sh start

services-stop:  ## stop it
	scripts/local_services.sh stop

workflow-test: $(STAMP) services  ## the workflow runner's tests
	$(PY) -m pytest -q tests/integration/test_workflow_runner.py tests/integration/test_workflow_runner_pipelines.py
