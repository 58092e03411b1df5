#!/usr/bin/env bash
# Start, stop or show the four HTTP services and their outbox relays (after the stack is up).
# Usage: scripts/services.sh start|stop|status
# Each process runs with its own credentials only (`deploy/stack.py env --process NAME`, docs/security.md);
# topics and migrations with the operator's. CAMPAIGN_SERVICES_DIR (default: the stack's run folder)
# holds the processes' pid and log files.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${CAMPAIGN_SERVICES_DIR:-${CAMPAIGN_RUN_DIR:-$PWD/.run}}
PIDS=$RUN_DIR/pids; LOGS=$RUN_DIR/logs
mkdir -p "$PIDS" "$LOGS"
declare -A PORT=(
  [registry]=${CAMPAIGN_REGISTRY_PORT:-8101} [membership]=${CAMPAIGN_MEMBERSHIP_PORT:-8102}
  [formation]=${CAMPAIGN_FORMATION_PORT:-8103} [reporting]=${CAMPAIGN_REPORTING_PORT:-8104})
SERVICES=(registry membership formation reporting)

# A service runs a consumer process when its bootstrap defines projections.
has_projections() { grep -q "^def build_projections" "services/$1/bootstrap.py"; }
# ... and a faust processor worker when it has a processors package.
has_processor() { [ -f "services/$1/processors/__main__.py" ]; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_one() {  # name (the process, deploy/stack/processes.py) pidfile command...
  local name=$1 pidfile=$2 environment; shift 2
  if alive "$pidfile"; then echo "  $name: already running (pid $(cat "$pidfile"))"; return; fi
  environment=$(python3 deploy/stack.py env --process "$name")
  (eval "$environment"; exec setsid "$@") >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  echo "  $name: started (pid $!, log $LOGS/$name.log)"
}

stop_one() {  # pidfile
  local pidfile=$1
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile"); kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    operator=$(python3 deploy/stack.py env)  # the owner role and the Kafka admin: topics, schemas, grants
    eval "$operator"
    .venv/bin/campaign topics
    .venv/bin/campaign migrate
    for s in "${SERVICES[@]}"; do
      start_one "$s" "$PIDS/$s.pid" .venv/bin/uvicorn "$s.entrypoints.http:app" \
        --host 127.0.0.1 --port "${PORT[$s]}" --no-access-log
      start_one "$s-relay" "$PIDS/$s-relay.pid" .venv/bin/campaign relay "$s"
      if has_projections "$s"; then
        start_one "$s-consumer" "$PIDS/$s-consumer.pid" .venv/bin/campaign consume "$s"
      fi
      if has_processor "$s"; then
        start_one "$s-processor" "$PIDS/$s-processor.pid" .venv/bin/python -m "$s.processors" worker -l info
      fi
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
    ;;
  stop)
    for s in "${SERVICES[@]}"; do
      stop_one "$PIDS/$s-processor.pid"; stop_one "$PIDS/$s-consumer.pid"
      stop_one "$PIDS/$s-relay.pid"; stop_one "$PIDS/$s.pid"
    done
    echo "services stopped"
    ;;
  status)
    rc=0
    for s in "${SERVICES[@]}"; do
      procs=("$s" "$s-relay"); has_projections "$s" && procs+=("$s-consumer")
      has_processor "$s" && procs+=("$s-processor")
      for p in "${procs[@]}"; do
        if alive "$PIDS/$p.pid"; then echo "$p: running (pid $(cat "$PIDS/$p.pid"))"; else echo "$p: stopped"; rc=1; fi
      done
    done
    exit $rc
    ;;
  urls)
    for s in "${SERVICES[@]}"; do
      printf '  %-11s http://127.0.0.1:%s/docs   (health /healthz, readiness /readyz, metrics /metrics)\n' "$s" "${PORT[$s]}"
    done
    ;;
  *) echo "usage: $0 start|stop|status|urls" >&2; exit 2 ;;
esac
