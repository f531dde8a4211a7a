"""Config merging order, origins and every user-error message."""
from __future__ import annotations

import datetime as dt
import typing
from pathlib import Path

import pytest
import yaml

from gda_clv.errors import ConfigError
from gda_clv.utils.config_utils import load_config, merge_layers, parse_set, parse_yaml_mapping

SHIPPED = Path(__file__).resolve().parents[3] / "conf"


@pytest.fixture()
def conf(tmp_path: Path) -> Path:
    (tmp_path / "environments").mkdir()
    (tmp_path / "models" / "EMEA").mkdir(parents=True)
    # the shipped defaults (every key; the schema has none), with this test's own values on top
    base = parse_yaml_mapping((SHIPPED / "base.yml").read_text(), "base.yml")
    base["region"] = "EMEA"
    base["data"].update(freq="D", holdout_days=100)
    (tmp_path / "base.yml").write_text(yaml.safe_dump(base))
    model = parse_yaml_mapping((SHIPPED / "models" / "NOAM" / "clv.yml").read_text(), "clv.yml")
    model["model"]["frequency"]["penalizer"] = 0.5
    (tmp_path / "models" / "EMEA" / "clv.yml").write_text(yaml.safe_dump(model))
    (tmp_path / "environments" / "dev.yml").write_text("data:\n  freq: W\nmodel:\n  frequency:\n    type: mbgnbd\n")
    (tmp_path / "environments" / "local.yml").write_text("")
    return tmp_path


def _error(conf: Path, *overrides: str, env: str = "dev", files: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(env, conf, files, overrides)
    return str(info.value)


def test_layers_merge_in_order(conf: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yml"
    extra.write_text("data:\n  holdout_days: 50\nprojection:\n  horizon_months: 6\n")
    config = load_config("dev", conf, [extra], ["projection.horizon_months=24", "data.calibration_end=1997-09-30"])
    assert config.region == "EMEA"
    assert config.data.freq == "W"  # environment over base
    assert config.data.holdout_days == 50  # --conf-file over base
    assert config.model.frequency.penalizer == 0.5  # region's model file over base
    assert config.model.frequency.type == "mbgnbd"  # environment over model file
    assert config.projection.horizon_months == 24  # --set last
    assert config.data.calibration_end == dt.date(1997, 9, 30)
    assert config.env == "dev"
    assert config.data.source.format == "cdnow"  # schema default


def test_origins_name_the_layer_that_set_each_key(conf: Path) -> None:
    merged = merge_layers("dev", conf, (), ["data.freq_multiplier=7"])
    assert merged.origin_of("data.freq") == str(conf / "environments" / "dev.yml")
    assert merged.origin_of("data.holdout_days") == str(conf / "base.yml")
    assert merged.origin_of("model.frequency.penalizer") == str(conf / "models" / "EMEA" / "clv.yml")
    assert merged.origin_of("data.freq_multiplier") == "--set data.freq_multiplier=7"
    assert merged.origin_of("projection.horizon_months") == str(conf / "base.yml")


def test_unknown_environment(conf: Path) -> None:
    assert _error(conf, env="qa") == (
        f"unknown environment 'qa'; choose one of dev, local (files in {conf / 'environments'})"
    )


def test_unknown_key_lists_allowed_keys(conf: Path) -> None:
    assert _error(conf, "data.frq=W") == (
        "invalid configuration (1 problem):\n"
        "  - unknown key 'data.frq'; allowed under 'data': calibration_end, freq, freq_multiplier, holdout_days, "
        "keep_zero_amounts, observation_end, outliers, quarantine_max_share, skip_if_unchanged, source, validation "
        "(from --set data.frq=W)"
    )


def test_unknown_top_level_key_in_a_file(conf: Path) -> None:
    (conf / "environments" / "dev.yml").write_text("datta: {}\n")
    assert _error(conf) == (
        "invalid configuration (1 problem):\n"
        "  - unknown key 'datta'; allowed at the top level: data, deployment, env, mlflow, model, monitoring, output, "
        f"projection, region, runtime, tables (from {conf / 'environments' / 'dev.yml'})"
    )


def test_value_not_allowed(conf: Path) -> None:
    assert _error(conf, "data.freq=Q") == (
        "invalid configuration (1 problem):\n"
        "  - 'data.freq' must be one of 'D', 'W' or 'M', got 'Q' (from --set data.freq=Q)"
    )


def test_bad_date(conf: Path) -> None:
    assert _error(conf, "data.observation_end=1998-13-01") == (
        "invalid configuration (1 problem):\n"
        "  - 'data.observation_end' must be a date written YYYY-MM-DD, got '1998-13-01' "
        "(from --set data.observation_end=1998-13-01)"
    )


def test_wrong_types(conf: Path) -> None:
    assert _error(conf, "data.holdout_days=many", "runtime.shuffle_partitions=2.5", "output.write_csv=maybe") == (
        "invalid configuration (3 problems):\n"
        "  - 'data.holdout_days' must be a whole number, got 'many' (from --set data.holdout_days=many)\n"
        "  - 'output.write_csv' must be true or false, got 'maybe' (from --set output.write_csv=maybe)\n"
        "  - 'runtime.shuffle_partitions' must be a whole number, got 2.5 (from --set runtime.shuffle_partitions=2.5)"
    )


def test_bounds_and_mappings(conf: Path) -> None:
    assert _error(conf, "model.frequency.tuning.max_evals=-1", "data.source.columns=amount") == (
        "invalid configuration (2 problems):\n"
        "  - 'data.source.columns' must be a mapping of keys, got 'amount' (from --set data.source.columns=amount)\n"
        "  - 'model.frequency.tuning.max_evals' must be at least 0, got -1 "
        "(from --set model.frequency.tuning.max_evals=-1)"
    )


def test_cross_field_rules_name_the_keys_and_their_files(conf: Path) -> None:
    assert _error(conf, "data.calibration_end=1998-01-01", "data.observation_end=1997-06-30") == (
        "invalid configuration (1 problem):\n"
        "  - 'data': calibration_end (1998-01-01) must be before observation_end (1997-06-30) "
        "(from --set data.calibration_end=1998-01-01, --set data.observation_end=1997-06-30)"
    )
    assert _error(conf, "projection.tier_labels=[a, b]") == (
        "invalid configuration (1 problem):\n"
        "  - 'projection': tier_labels needs one more entry than tier_quantiles (3 quantiles, 2 labels) "
        f"(from --set projection.tier_labels=[a, b], {conf / 'base.yml'})"
    )
    assert _error(conf, "model.monetary.tuning.penalizer_min=1") == (
        "invalid configuration (1 problem):\n"
        "  - 'model.monetary.tuning': penalizer_min (1.0) must be below penalizer_max (0.1) "
        f"(from {conf / 'models' / 'EMEA' / 'clv.yml'}, --set model.monetary.tuning.penalizer_min=1)"
    )


def test_bad_set_syntax_and_bad_files(conf: Path, tmp_path: Path) -> None:
    assert _error(conf, "data.freq") == "--set 'data.freq': expected dotted.key=value, e.g. --set data.freq=W"
    assert _error(conf, "data..freq=W") == "--set 'data..freq=W': expected dotted.key=value, e.g. --set data.freq=W"
    assert _error(conf, files=(str(tmp_path / "missing.yml"),)) == f"config file not found: {tmp_path / 'missing.yml'}"
    listing = tmp_path / "list.yml"
    listing.write_text("- a\n- b\n")
    assert _error(conf, files=(str(listing),)) == f"{listing}: the top level must be a mapping of keys, got list"
    broken = tmp_path / "broken.yml"
    broken.write_text("data: [unclosed\n")
    assert _error(conf, files=(str(broken),)).startswith(f"{broken}: not valid YAML:")


def test_pinned_model_versions_accept_numbers(conf: Path) -> None:
    config = load_config("dev", conf, (), ["projection.model_versions.frequency=3"])
    assert config.projection.model_versions.frequency == "3"


def test_set_values_are_yaml() -> None:
    assert parse_set("projection.horizons_days=[7, 14]") == {"projection": {"horizons_days": [7, 14]}}
    assert parse_set("data.source.path=") == {"data": {"source": {"path": None}}}
    assert parse_set("data.calibration_end=1997-09-30") == {"data": {"calibration_end": "1997-09-30"}}


def test_shipped_environments_all_validate() -> None:
    for env in ("local", "dev", "staging", "prod"):
        config = load_config(env)
        assert config.env == env
    local = load_config("local")
    assert (local.runtime.backend, local.tables.format) == ("local", "parquet")
    assert (local.data.calibration_end, local.data.observation_end) == (dt.date(1997, 9, 30), dt.date(1998, 6, 30))
    # the dates belong to the embedded CDNOW dataset, not to the local environment
    own = load_config("local", overrides=["data.source.path=/data/tx.csv", "data.source.format=csv"])
    assert (own.data.calibration_end, own.data.observation_end, own.data.keep_zero_amounts) == (None, None, False)
    prod = load_config("prod")
    assert (prod.runtime.backend, prod.tables.format) == ("databricks", "delta")


def test_relative_state_dir_is_anchored_at_the_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gda_clv.utils.config_utils import resolve_state_dir

    conf = tmp_path / "project" / "conf"
    conf.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the folder a command is started from does not matter
    assert resolve_state_dir(".gda_clv", conf) == tmp_path / "project" / ".gda_clv"
    assert resolve_state_dir(tmp_path / "abs", conf) == tmp_path / "abs"
    shipped = Path(__import__("gda_clv").__file__).parent / "conf"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_state_dir(".gda_clv", shipped) == tmp_path / "home" / ".gda_clv"


def test_the_schema_holds_no_defaults_and_the_shipped_files_set_every_key() -> None:
    """One home per default: conf/base.yml + conf/models/<region>/clv.yml, never the schema too."""
    from pydantic import BaseModel

    from gda_clv.utils.config_schema import Config

    def models(annotation: object) -> list[type[BaseModel]]:  # the models in a field: lists, mappings, unions
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [model for arg in typing.get_args(annotation) for model in models(arg)]

    def fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, bool]]:
        found = []
        for name, field in model.model_fields.items():
            key = f"{prefix}{field.alias or name}"
            found.append((key, field.is_required()))
            for inner in models(field.annotation):
                found += fields(inner, f"{key}.")
        return found

    found = fields(Config)
    assert {"deployment.access_control.service_principal_name", "deployment.permissions.models.privileges"} <= \
        {key for key, _ in found}  # entries of lists and mappings are walked too
    with_defaults = [key for key, required in found if not required]
    assert with_defaults == []
    load_config("local", SHIPPED)  # and the shipped files give every key a value


def test_a_key_missing_from_the_shipped_files_names_it_and_where_defaults_live(conf: Path) -> None:
    base = conf / "base.yml"
    base.write_text(base.read_text().replace("  keep_zero_amounts: false\n", ""))
    message = _error(conf)
    assert "'data.keep_zero_amounts' is required: every key has its default in conf/base.yml" in message


def test_a_region_without_model_settings_is_an_error(conf: Path) -> None:
    message = _error(conf, "region=APAC")
    assert "region 'APAC' (from --set region=APAC) has no model settings" in message
    assert str(conf / "models" / "APAC" / "clv.yml") in message
    assert message.endswith("Set region to one of EMEA, or create that file (conf/models/NOAM/clv.yml is an example).")


def test_yaml_is_read_by_one_function() -> None:
    """Every YAML file or text gda_clv reads goes through parse_yaml_mapping (dates stay text, errors name the file)."""
    package = Path(__file__).resolve().parents[3] / "gda_clv"
    readers = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if any(f"yaml.{call}(" in p.read_text() for call in ("safe_load", "load", "full_load")))
    # dbx_reader.py runs inside dbx's own venv, where gda_clv is not installed.
    assert readers == ["utils/config_utils.py", "utils/job_gen/dbx_reader.py"]


# ---- the deployment section (issue 14: typed, checked once, in the schema) ----

def test_shipped_environments_have_a_typed_deployment_section() -> None:
    local, dev = load_config("local", SHIPPED).deployment, load_config("dev", SHIPPED).deployment
    assert local.job_name_prefix is None and local.workspace.volume is None  # base.yml: not deployable
    assert dev.job_name_prefix == "dev-" and dev.pause_schedules is True
    assert dev.workspace.volume == "/Volumes/gda_dev/clv/clv_files" and dev.workspace.regions == ["NOAM"]
    assert dev.access_control[0].model_dump() == {
        "service_principal_name": "00000000-0000-0000-0000-00000000d001", "permission_level": "IS_OWNER"}
    assert dev.quality_monitor.granularities == ["1 day"]  # a default of conf/base.yml under the env's own keys
    assert dev.dashboard.warehouse_id == "1111111111d00001" and local.dashboard.warehouse_id is None


@pytest.mark.parametrize(("setting", "expected"), [
    ("deployment.access_control=[{service_principal_name: deployer, permission_level: IS_OWNER}]",
     "'deployment.access_control.0.service_principal_name': 'deployer' is not a UUID; it must be the service "
     "principal's application id"),
    ("deployment.access_control=[{group_name: g, permission_level: CAN_READ}]",
     "'deployment.access_control.0': permission_level 'CAN_READ' is not a permission on a job; use one of CAN_VIEW, "
     "CAN_MANAGE_RUN, IS_OWNER, CAN_MANAGE"),
    ("deployment.permissions.experiment=[{group_name: g, permission_level: CAN_VIEW}]",
     "'deployment.permissions.experiment.0': permission_level 'CAN_VIEW' is not a permission on an experiment; use "
     "one of CAN_READ, CAN_EDIT, CAN_MANAGE"),
    ("deployment.access_control=[{group_name: g, user_name: u, permission_level: CAN_VIEW}]",
     "'deployment.access_control.0': each entry needs exactly one of user_name, group_name, service_principal_name"),
    ("deployment.access_control=[{group_name: g, permission_level: CAN_VIEW, level: x}]",
     "unknown key 'deployment.access_control.0.level'; allowed under 'deployment.access_control.0': group_name, "
     "permission_level, service_principal_name, user_name"),
    ("deployment.permissions.experiment=[{service_principal_name: sp, permission_level: CAN_READ}]",
     "'deployment.permissions.experiment.0.service_principal_name': 'sp' is not a UUID"),
    ("deployment.permissions.models={clv_frequency: [{principal: g, privileges: [EXECUTE]}]}",
     "'deployment.permissions.models.clv_frequency': 'clv_frequency' is not a Unity Catalog model name "
     "catalog.schema.model"),
    ("deployment.permissions.models={a.b.c: [{principal: g, privileges: [READ]}]}",
     "'deployment.permissions.models.a.b.c.0.privileges.0' must be one of 'ALL_PRIVILEGES', 'APPLY_TAG', 'EXECUTE' "
     "or 'MANAGE', got 'READ'"),
    ("deployment.notifications={on_failure: [oncall]}",
     "'deployment.notifications.on_failure.0': 'oncall' is not an e-mail address"),
    ("deployment.webhook_notifications={on_fail: [00000000-0000-0000-0000-00000000da01]}",
     "unknown key 'deployment.webhook_notifications.on_fail'; allowed under 'deployment.webhook_notifications': "
     "'on_start', 'on_success', 'on_failure'"),
    ("deployment.workspace.root=Shared/gda_clv", "'deployment.workspace.root': 'Shared/gda_clv' must be an absolute "
                                                 "workspace path like /Shared/x"),
    ("deployment.workspace.volume=dbfs:/FileStore/clv", "'deployment.workspace.volume': 'dbfs:/FileStore/clv' must be "
                                                        "a Unity Catalog volume /Volumes/<catalog>/<schema>/<volume>"),
    ("deployment.dashboard.warehouse_id=my-warehouse", "'deployment.dashboard.warehouse_id': 'my-warehouse' is not a "
                                                       "SQL warehouse id (16 hex digits"),
    ("deployment.dashboard={warehouse_id: null, parent_path: /Shared/d, embed_credentials: false}",
     "'deployment.dashboard': warehouse_id is needed (the SQL warehouse the dashboard queries with)"),
    ("deployment.quality_monitor.granularities=[]", "'deployment.quality_monitor.granularities' needs at least 1 "
                                                    "entry, got []"),
    ("deployment.cluster_sizes={small: 2}", "'deployment.cluster_sizes.small' must be a mapping of keys, got 2"),
    ("deployment.remove_tasks={clv-scoring: monitor}", "'deployment.remove_tasks.clv-scoring' must be a list"),
])
def test_a_bad_deployment_value_names_the_key_the_fix_and_its_origin(setting: str, expected: str) -> None:
    message = _error(SHIPPED, setting)
    assert expected in message and message.endswith(f"(from --set {setting})")


# ---- constraints that lower layers re-checked, now only in the schema (issue 14: checked once) ----

@pytest.mark.parametrize(("setting", "expected"), [
    ("model.registry.gate.mode=strict", "'model.registry.gate.mode' must be one of 'disabled', 'dry_run' or "
                                        "'enabled', got 'strict'"),
    ("model.registry.gate.tolerance=-1", "'model.registry.gate.tolerance' must be at least 0"),
    ("model.registry.gate.tolerance=.nan", "'model.registry.gate.tolerance' must be a finite number, got nan"),
    ("data.source.format=csv", "'data.source': path is required for format csv: set data.source.path to a file or "
                               "folder path"),
    ("model.frequency.tuning.types=[]", "'model.frequency.tuning.types' needs at least 1 entry, got []"),
    ("projection.horizons_days=[30, 0]", "'projection.horizons_days.1' must be greater than 0, got 0"),
    ("data.freq_multiplier=0", "'data.freq_multiplier' must be greater than 0, got 0"),
    ("data.freq=Q", "'data.freq' must be one of 'D', 'W' or 'M', got 'Q'"),
    ("data.outliers.rule=winsorise", "'data.outliers.rule' must be one of 'none', 'cap' or 'drop_customers'"),
    ("data.outliers.quantile=1", "'data.outliers.quantile' must be less than 1"),
    ("model.frequency.type=bgbd", "'model.frequency.type' must be one of 'bgnbd', 'mbgnbd' or 'pareto_nbd'"),
    ("model.frequency.penalizer=-1", "'model.frequency.penalizer' must be at least 0"),
    ("model.monetary.tuning.loss=mse", "'model.monetary.tuning.loss' must be one of 'rmse' or 'mae', got 'mse'"),
    ("model.monetary.tuning.backend=skopt", "'model.monetary.tuning.backend' must be one of 'hyperopt' or 'optuna'"),
    ("model.frequency.tuning.max_evals=-1", "'model.frequency.tuning.max_evals' must be at least 0"),
    ("projection.horizon_months=0", "'projection.horizon_months' must be greater than 0, got 0"),
    ("output.keep_last=0", "'output.keep_last' must be greater than 0, got 0"),
    ("runtime.metastore_url=mysql://db/metastore", "'runtime.metastore_url': 'mysql://db/metastore' is not a "
                                                   "jdbc:postgresql:// URL; leave it null for the embedded Derby"),
    ("projection.tier_labels=[low, high]", "'projection': tier_labels needs one more entry than tier_quantiles"),
])
def test_the_schema_is_the_one_home_of_each_constraint(setting: str, expected: str) -> None:
    message = _error(SHIPPED, setting, env="local")
    assert expected in message and f"--set {setting})" in message  # the origins of the keys it names


def test_spark_master_must_be_a_local_one_gda_clv_can_start(conf: Path) -> None:
    assert load_config("dev", conf, (), ["runtime.spark_master=local-cluster[2,1,1024]"]).runtime.spark_master == (
        "local-cluster[2,1,1024]")
    assert _error(conf, "runtime.spark_master=yarn") == (
        "invalid configuration (1 problem):\n"
        "  - 'runtime.spark_master': 'yarn' is not a local Spark master; use local[*] (all cores, one "
        "process), local[N] (N threads) or local-cluster[N,C,M] (N executor processes of C cores and M MB each, "
        "M >= 512) (from --set runtime.spark_master=yarn)"
    )
