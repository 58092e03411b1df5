#!/usr/bin/env bash
# Start, stop or show the four HTTP services, their outbox relays and consumers, the audit signer and its
# witness (after the stack is up).
# Usage: scripts/services.sh start|stop|status
# Each process runs with its own credentials only (`deploy/stack.py env --process NAME`, docs/security.md);
# topics and migrations with the operator's. CAMPAIGN_SERVICES_DIR (default: the stack's run folder)
# holds the processes' pid and log files.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${CAMPAIGN_SERVICES_DIR:-${CAMPAIGN_RUN_DIR:-$PWD/.run}}
PIDS=$RUN_DIR/pids; LOGS=$RUN_DIR/logs
mkdir -p "$PIDS" "$LOGS"
# The services and their HTTP ports: the one list (services/platform_core/services.py, standard library only),
# CAMPAIGN_<SERVICE>_PORT overriding a default port.
declare -A PORT=(); SERVICES=()
while read -r s port; do
  SERVICES+=("$s"); variable=CAMPAIGN_${s^^}_PORT; PORT[$s]=${!variable:-$port}
done < <(python3 -c 'import sys; sys.path.insert(0, "services"); from platform_core.services import SERVICES
for s in SERVICES: print(s.name, s.default_port)')
[ "${#SERVICES[@]}" -gt 0 ] || { echo "services/platform_core/services.py named no service" >&2; exit 1; }
# The audit signer holds the signing key and its own record of what it signed (docs/audit.md); only the
# reporting processes get the client secret that lets them ask it (their rows in deploy/stack/processes.py).
SIGNER_PORT=${CAMPAIGN_SIGNER_PORT:-8105}
SIGNER_STATE=${CAMPAIGN_SIGNER_STATE_DIR:-$RUN_DIR/signer}
SIGNER_ENV=(env "CAMPAIGN_SIGNER_STATE_DIR=$SIGNER_STATE" "CAMPAIGN_SIGNER_PORT=$SIGNER_PORT")
REPORTING_ENV=(env "CAMPAIGN_SIGNER_PORT=$SIGNER_PORT")
# The witness: its own key and record; the signer has every checkpoint cosigned by it before handing it out.
WITNESS_PORT=${CAMPAIGN_WITNESS_PORT:-8106}
WITNESS_STATE=${CAMPAIGN_WITNESS_STATE_DIR:-$RUN_DIR/witness}
WITNESS_ENV=(env "CAMPAIGN_WITNESS_NAME=${CAMPAIGN_WITNESS_NAME:-campaign.example/local-witness}"
             "CAMPAIGN_WITNESS_STATE_DIR=$WITNESS_STATE" "CAMPAIGN_WITNESS_PORT=$WITNESS_PORT")

# A service runs a consumer process when its bootstrap defines projections (`campaign consume SERVICE`).
# Reporting runs three, each with its own rights: the audit log as the audit appender (reporting-consumer),
# the coverage projections as reporting (reporting-processor), the detectors' signals as reporting
# (reporting-signals, docs/detectors.md). Printed as process:projection pairs.
consumer_processes() {
  case $1 in
    reporting) echo "reporting-consumer:audit-log reporting-processor:coverage reporting-signals:signals" ;;
    *) if grep -q "^def build_projections" "services/$1/bootstrap.py"; then echo "$1-consumer:"; fi ;;
  esac
}

# Each worker process serves Prometheus /metrics on a port of its own (deploy/prometheus/prometheus.yml scrapes
# these defaults); CAMPAIGN_<PROCESS>_METRICS_PORT moves one, e.g. CAMPAIGN_REGISTRY_RELAY_METRICS_PORT.
metrics_port() {  # process name
  local variable default
  variable="CAMPAIGN_$(echo "${1//-/_}" | tr '[:lower:]' '[:upper:]')_METRICS_PORT"
  case $1 in
    registry-relay) default=9101 ;; membership-relay) default=9102 ;; formation-relay) default=9103 ;;
    reporting-relay) default=9104 ;; registry-consumer) default=9111 ;; membership-consumer) default=9112 ;; formation-consumer) default=9113 ;;
    reporting-consumer) default=9114 ;; reporting-processor) default=9115 ;; reporting-signals) default=9116 ;;
    *) default=0 ;;
  esac
  echo "${!variable:-$default}"
}
every_process() { echo audit-signer audit-witness; for s in "${SERVICES[@]}"; do echo "$s"; done; worker_processes; }
worker_processes() { for s in "${SERVICES[@]}"; do echo "$s-relay"; for pair in $(consumer_processes "$s"); do echo "${pair%%:*}"; done; done; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_one() {  # name (the process, deploy/stack/processes.py) pidfile command...
  local name=$1 pidfile=$2 environment; shift 2
  if alive "$pidfile"; then echo "  $name: already running (pid $(cat "$pidfile"))"; return; fi
  environment=$(python3 deploy/stack.py env --process "$name")
  (eval "$environment"; exec setsid "$@") >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  echo "  $name: started (pid $!, log $LOGS/$name.log)"
}

as_process() {  # name command...: run a command with the named process's credentials only
  local name=$1 environment; shift
  environment=$(python3 deploy/stack.py env --process "$name")
  (eval "$environment"; "$@")
}

stop_all() {  # pidfile...: SIGTERM to every process at once, up to 10 s for all of them to exit, then SIGKILL
  # (one at a time, each waiting for its own exit, a stop of ~20 processes took ~30 s)
  local pidfile pid pids=() left
  for pidfile in "$@"; do
    if alive "$pidfile"; then pid=$(cat "$pidfile"); pids+=("$pid"); kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do
    left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$@"
}

# The signer's and the witness's records: started the first time from what this local database shows (a new
# log, or its latest checkpoint, adopted only if the signer's own key signed it). A log with events and no
# checkpoint is left to an operator (docs/audit.md, "Starting the signer"). Then the witness learns the log's
# key, and the signer the witness's. Their keys and the client secret are files the stack makes
# (deploy/stack/processes.py).
prepare_signer() {
  WITNESS_ENV+=("CAMPAIGN_WITNESS_LOG_KEY=$(as_process audit-signer "${SIGNER_ENV[@]}" .venv/bin/python -m audit_signer verifier-key)")
  SIGNER_ENV+=("CAMPAIGN_SIGNER_WITNESS_URL=http://127.0.0.1:$WITNESS_PORT"
               "CAMPAIGN_SIGNER_WITNESS_KEY=$(as_process audit-witness "${WITNESS_ENV[@]}" .venv/bin/python -m audit_signer witness verifier-key)")
  local signer=0 witness=0 decision note="$RUN_DIR/signer-adopt.txt"
  as_process audit-signer "${SIGNER_ENV[@]}" .venv/bin/python -m audit_signer status >/dev/null || signer=$?
  as_process audit-witness "${WITNESS_ENV[@]}" .venv/bin/python -m audit_signer witness status >/dev/null || witness=$?
  [ "$signer" -eq 3 ] || [ "$witness" -eq 3 ] || return 0  # initialised, or damaged (then it refuses and says why)
  if [ "$signer" -eq 0 ]; then  # a new witness starts where the signer's record stands
    rm -f "$note"
    as_process audit-signer "${SIGNER_ENV[@]}" .venv/bin/python -m audit_signer status --note "$note" >/dev/null
    if [ -f "$note" ]; then init_records 3 0 --adopt "$note"; else init_records 3 0 --empty; fi \
      || echo "  audit-witness: NOT initialised (above: why); see docs/audit.md, 'The witness'" >&2
    return 0
  fi
  decision=$(.venv/bin/python -m reporting.audit.signer_start --note "$note") || true
  case "$decision" in
    empty) init_records "$witness" "$signer" --empty || echo "  audit-signer: NOT initialised (above: why)" >&2 ;;
    adopt*) init_records "$witness" "$signer" --adopt "$note" --id "${decision#adopt }" \
              || echo "  audit-signer: NOT initialised (above: why); see docs/audit.md, 'Starting the signer'" >&2 ;;
    *) echo "  audit-signer: NOT initialised: the audit log holds events no checkpoint covers; see docs/audit.md," \
            "'Starting the signer' (python -m audit_signer init --adopt NOTE | --empty)" >&2 ;;
  esac
}

init_records() {  # witness-status signer-status init-arguments... (a status of 3: not initialised, so initialise it)
  local witness=$1 signer=$2; shift 2
  if [ "$witness" -eq 3 ]; then
    as_process audit-witness "${WITNESS_ENV[@]}" .venv/bin/python -m audit_signer witness init "${@:1:2}" || return 1
  fi
  if [ "$signer" -eq 3 ]; then as_process audit-signer "${SIGNER_ENV[@]}" .venv/bin/python -m audit_signer init "$@" || return 1; fi
}

case "${1:-}" in
  start)
    operator=$(python3 deploy/stack.py env)  # the owner role and the Kafka admin: topics, schemas, grants
    eval "$operator"
    .venv/bin/campaign topics
    .venv/bin/campaign migrate
    prepare_signer
    started_at=$(date +%s)
    start_one audit-witness "$PIDS/audit-witness.pid" "${WITNESS_ENV[@]}" .venv/bin/python -m audit_signer witness serve
    start_one audit-signer "$PIDS/audit-signer.pid" "${SIGNER_ENV[@]}" .venv/bin/python -m audit_signer serve
    for s in "${SERVICES[@]}"; do
      extra=(); [ "$s" = reporting ] && extra=("${REPORTING_ENV[@]}")
      # CAMPAIGN_HTTP_WORKERS (default 1): worker processes per HTTP service, one per core at most (docs/performance.md)
      start_one "$s" "$PIDS/$s.pid" "${extra[@]}" .venv/bin/uvicorn "$s.entrypoints.http:app" \
        --host 127.0.0.1 --port "${PORT[$s]}" --no-access-log --workers "${CAMPAIGN_HTTP_WORKERS:-1}"
      start_one "$s-relay" "$PIDS/$s-relay.pid" env "CAMPAIGN_METRICS_PORT=$(metrics_port "$s-relay")" \
        .venv/bin/campaign relay "$s"
      for pair in $(consumer_processes "$s"); do
        name=${pair%%:*} projection=${pair#*:}
        start_one "$name" "$PIDS/$name.pid" "${extra[@]}" env "CAMPAIGN_METRICS_PORT=$(metrics_port "$name")" \
          .venv/bin/campaign consume "$s" ${projection:+--projection "$projection"}
      done
    done
    for p in audit-signer:$SIGNER_PORT audit-witness:$WITNESS_PORT; do
      for _ in $(seq 60); do
        curl -fsS "http://127.0.0.1:${p#*:}/healthz" >/dev/null 2>&1 && break
        alive "$PIDS/${p%:*}.pid" || { echo "${p%:*} exited; last log lines:" >&2; tail -20 "$LOGS/${p%:*}.log" >&2; exit 1; }
        sleep 0.5
      done
    done
    for s in "${SERVICES[@]}"; do
      for _ in $(seq 120); do
        curl -fsS "http://127.0.0.1:${PORT[$s]}/readyz" >/dev/null 2>&1 && break
        alive "$PIDS/$s.pid" || { echo "$s exited; last log lines:" >&2; tail -20 "$LOGS/$s.log" >&2; exit 1; }
        sleep 0.5
      done
      curl -fsS "http://127.0.0.1:${PORT[$s]}/readyz" >/dev/null \
        || { echo "$s is not ready after 60 s; see $LOGS/$s.log" >&2; exit 1; }
    done
    # A worker that dies on start (a wrong setting, a port taken) must not pass for running: look again
    # 10 s after starting them, and fail naming it.
    wait_s=$((started_at + 10 - $(date +%s))); [ "$wait_s" -gt 0 ] && sleep "$wait_s"
    dead=()
    for p in $(every_process); do alive "$PIDS/$p.pid" || dead+=("$p"); done
    if [ ${#dead[@]} -gt 0 ]; then
      for p in "${dead[@]}"; do echo "$p exited after starting; last log lines ($LOGS/$p.log):" >&2; tail -20 "$LOGS/$p.log" >&2; done
      echo "not every process is running: ${dead[*]} (scripts/services.sh status)" >&2
      exit 1
    fi
    ;;
  stop)
    pidfiles=()
    for s in "${SERVICES[@]}"; do
      for pair in $(consumer_processes "$s"); do pidfiles+=("$PIDS/${pair%%:*}.pid"); done
      pidfiles+=("$PIDS/$s-relay.pid" "$PIDS/$s.pid")
    done
    stop_all "${pidfiles[@]}" "$PIDS/audit-signer.pid" "$PIDS/audit-witness.pid"
    echo "services stopped"
    ;;
  status)
    rc=0
    for p in $(every_process); do
      if alive "$PIDS/$p.pid"; then echo "$p: running (pid $(cat "$PIDS/$p.pid"))"; else echo "$p: stopped"; rc=1; fi
    done
    exit $rc
    ;;
  urls)
    # short lines: the summary of scripts/run.sh is read in an 80-column terminal
    echo "  API docs (each service also answers /healthz, /readyz, /metrics):"
    for s in "${SERVICES[@]}"; do
      printf '    %-13s http://127.0.0.1:%s/docs\n' "$s" "${PORT[$s]}"
    done
    printf '    %-13s http://127.0.0.1:%s/readyz  signs for reporting only\n' audit-signer "$SIGNER_PORT"
    printf '    %-13s http://127.0.0.1:%s/readyz  cosigns consistent checkpoints\n' audit-witness "$WITNESS_PORT"
    printf '    their records: %s, %s\n' "$SIGNER_STATE" "$WITNESS_STATE"
    echo "  Metrics of the relays and consumers (Prometheus: deploy/prometheus/):"
    for p in $(worker_processes); do
      printf '    %-20s http://127.0.0.1:%s/metrics\n' "$p" "$(metrics_port "$p")"
    done
    ;;
  *) echo "usage: $0 start|stop|status|urls" >&2; exit 2 ;;
esac
