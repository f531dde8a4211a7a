#!/usr/bin/env bash
# Local multi-process stores for `gda-clv workflow run`: one PostgreSQL server (Debian's packages) holding the
# Spark Hive metastore (database "metastore") and the MLflow tracking store (database "mlflow").
#   scripts/local_services.sh start|stop|status|env
# Idempotent. Data dir: $GDA_CLV_PG_DIR (default .gda_clv/services/postgres), port $GDA_CLV_PG_PORT (default 54329),
# loopback only, trust auth for the local user gda_clv. The server runs as user postgres when started by root.
# `env` prints the --set overrides that point tasks at it.
set -euo pipefail
PG_DIR=${GDA_CLV_PG_DIR:-.gda_clv/services/postgres}
PG_PORT=${GDA_CLV_PG_PORT:-54329}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
JDBC_JAR=/usr/share/java/postgresql.jar

need_packages() {
  if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" || ! -f "$JDBC_JAR" ]]; then
    echo "local_services: PostgreSQL server or JDBC driver missing;" \
         "install them: apt-get update && apt-get install -y postgresql libpostgresql-jdbc-java" >&2
    exit 2
  fi
}

as_owner() {  # PostgreSQL refuses to run as root
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [[ -f "$PG_DIR/data/postmaster.pid" ]] && as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; }

start() {
  need_packages
  mkdir -p "$PG_DIR"
  PG_DIR=$(cd "$PG_DIR" && pwd)
  [[ $(id -u) -eq 0 ]] && chown postgres "$PG_DIR"
  if [[ ! -f "$PG_DIR/data/PG_VERSION" ]]; then
    as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U gda_clv --auth=trust -E UTF8 >"$PG_DIR/initdb.log"
  fi
  if ! running; then
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
      -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" >/dev/null
  fi
  for db in metastore mlflow; do
    if ! "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U gda_clv -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
      "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U gda_clv "$db"
    fi
  done
  echo "local_services: postgres up on 127.0.0.1:$PG_PORT (data $PG_DIR/data)"
}

stop() {
  if [[ -n "$PG_BIN" ]] && running; then
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m fast stop >/dev/null
    echo "local_services: postgres stopped"
  else
    echo "local_services: postgres not running"
  fi
}

status() {
  if [[ -n "$PG_BIN" ]] && running; then echo "local_services: postgres running on 127.0.0.1:$PG_PORT"
  else echo "local_services: postgres not running"; return 3; fi
}

env_overrides() {
  echo "--set runtime.metastore_url=jdbc:postgresql://127.0.0.1:$PG_PORT/metastore?user=gda_clv"
  echo "--set mlflow.tracking_uri=postgresql://gda_clv@127.0.0.1:$PG_PORT/mlflow"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_overrides ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
