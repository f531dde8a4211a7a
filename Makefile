# gda_clv developer commands. `make run` and `make test` are all a new user needs.
PROFILE ?= dbr-17.3
PYTHON ?= python3.11
VENV := .venv
BOOT := .venv-boot
UV := $(BOOT)/bin/uv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(PROFILE)
DOCS_STAMP := $(VENV)/.docs-installed-$(PROFILE)
ENV ?= local
SPARK_PROFILE_NOTE := profile $(PROFILE) (constraints/$(PROFILE).txt)

.PHONY: help env run test lint bench wheel clean docs

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet --disable-pip-version-check uv

$(STAMP): $(UV) requirements.txt unit-requirements.txt bench-requirements.txt constraints/$(PROFILE).txt setup.py
	@echo "== creating $(VENV) with $(SPARK_PROFILE_NOTE)"
	rm -rf $(VENV)
	$(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(PY) -c constraints/$(PROFILE).txt \
		-r requirements.txt -r unit-requirements.txt -r bench-requirements.txt -e .
	touch $(STAMP)

env: $(STAMP) $(DOCS_STAMP)  ## create .venv with the runtime profile's pinned packages

run: $(STAMP)  ## run the whole pipeline on the embedded default (local Spark, sqlite MLflow)
	$(VENV)/bin/gda-clv run --env $(ENV) --summary-json .gda_clv/last_run_summary.json

test: $(STAMP) $(DOCS_STAMP)  ## run lint and the whole test suite
	$(VENV)/bin/ruff check gda_clv tests bench data_engineering_pipelines model_pipelines setup.py
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(PY) -m pytest -q tests

lint: $(STAMP)  ## ruff only
	$(VENV)/bin/ruff check gda_clv tests bench data_engineering_pipelines model_pipelines setup.py

wheel: $(STAMP)  ## build dist/gda_clv-*.whl
	$(PY) -m build --wheel --outdir dist .

bench: $(STAMP)  ## benchmarks against lifetimes / DuckDB (not part of make test)
	$(PY) -m bench

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
	rm -rf $(VENV) $(BOOT) .gda_clv dist build *.egg-info docs/_build docs/generated

# ---- deployment: dbx 0.8.19 in its own venv (its pins conflict with the runtime's), job-gen, dbx deploy ----
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed
DEPLOY_ENVS := dev staging prod
WORKSPACE_ROOT ?= /Shared/gda_clv
.PHONY: .venv-deploy validate-deploy deploy

$(DEPLOY_STAMP): $(UV) deploy-requirements.txt
	rm -rf $(DEPLOY_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(DEPLOY_VENV)
	$(UV) pip install --quiet --python $(DEPLOY_VENV)/bin/python -r deploy-requirements.txt
	touch $@

.venv-deploy: $(DEPLOY_STAMP)  ## create .venv-deploy with dbx 0.8.19

validate-deploy: $(STAMP) $(DEPLOY_STAMP)  ## job-gen -> conf/deployment.yml + conf/bundle/, every validation (offline)
	$(VENV)/bin/gda-clv job-gen --require-dbx --summary-json .gda_clv/job_gen_summary.json

deploy:  ## make deploy ENV=dev|staging|prod: wheel, job-gen, commit checks, dbx deploy (needs DATABRICKS_HOST/TOKEN)
	@if [ -z "$$DATABRICKS_HOST" ] || [ -z "$$DATABRICKS_TOKEN" ]; then \
		echo "make deploy: DATABRICKS_HOST and DATABRICKS_TOKEN must be set (nothing was built or deployed)"; exit 2; fi
	@case " $(DEPLOY_ENVS) " in *" $(ENV) "*) ;; *) \
		echo "make deploy: ENV must be one of: $(DEPLOY_ENVS) (got '$(ENV)'; nothing was deployed)"; exit 2;; esac
	$(MAKE) wheel validate-deploy
	$(VENV)/bin/gda-clv check-meta
	$(DEPLOY_VENV)/bin/dbx configure --environment $(ENV) --workspace-dir $(WORKSPACE_ROOT)/$(ENV)/dbx \
		--artifact-location dbfs:$(WORKSPACE_ROOT)/$(ENV)/artifacts
	$(DEPLOY_VENV)/bin/dbx deploy --deployment-file conf/deployment.yml --environment $(ENV)
