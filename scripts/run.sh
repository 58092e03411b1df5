#!/usr/bin/env bash
# The README's first command: install what is missing, start Kafka, PostgreSQL and the services,
# play the demo campaign once (simulator), and print where to look.
#   DEMO_ENTITIES=20000 scripts/run.sh   a bigger demo (default 3000; about 6.5 min at 20000 here)
#   DEMO=0 scripts/run.sh                start the platform without playing the demo
#   CAMPAIGN_KEEP_SIMULATED_CLOCK=1 scripts/run.sh   keep the simulated clock after the demo (warned)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
python3 deploy/stack.py up
RUN_DIR=${CAMPAIGN_RUN_DIR:-$PWD/.run}
entities=${DEMO_ENTITIES:-3000}
marker="$RUN_DIR/demo-played-$entities"
demo=0; [ "${DEMO:-1}" != "0" ] && [ ! -f "$marker" ] && demo=1
# The demo plays ~100 campaign days in minutes: its requests name their business time (docs/simulator.md),
# which only services on the simulated clock accept. Afterwards the services run on the real clock, unless
# the operator keeps the simulated one to go on playing: CAMPAIGN_KEEP_SIMULATED_CLOCK=1.
keep=${CAMPAIGN_KEEP_SIMULATED_CLOCK:-0}
clock_of_running() {  # real, simulated, or nothing when the registry does not answer (X-Campaign-Clock)
  curl -fsSI "http://127.0.0.1:${CAMPAIGN_REGISTRY_PORT:-8101}/healthz" 2>/dev/null \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "x-campaign-clock" {split($2, v, ";"); print v[1]}' || true
}
start_on() {  # real|simulated: (re)start the services on that clock
  local running; running=$(clock_of_running)
  if [ -n "$running" ] && [ "$running" != "$1" ]; then
    echo "Restarting the services on the $1 clock (they run on the $running one) ..."
    scripts/services.sh stop
  fi
  CAMPAIGN_SIMULATED_CLOCK=$([ "$1" = simulated ] && echo true || echo false) scripts/services.sh start
}
if [ "$demo" = 1 ] || [ "$keep" = 1 ]; then start_on simulated; else start_on real; fi
eval "$(python3 deploy/stack.py env)"
if [ "$demo" = 1 ]; then
  echo "Playing the demo campaign ($entities entities, seed 2016) through the public APIs ..."
  played=0
  .venv/bin/python -m simulator play --entities "$entities" --seed 2016 \
    --export "$RUN_DIR/simulator-truth.json" --table "$RUN_DIR/simulator-by-district.txt" || played=$?
  [ "$keep" = 1 ] || start_on real  # the real clock again, whether the demo's figures agreed or not
  if [ "$played" != 0 ]; then
    echo "The demo campaign failed (simulator exit status $played): see above." >&2
    exit "$played"
  fi
  touch "$marker"
elif [ -f "$marker" ]; then
  echo "The demo campaign ($entities entities) was played before; its ground truth: $RUN_DIR/simulator-truth.json"
fi
echo
echo "The platform is running:"
scripts/services.sh urls
echo "  ground truth of the demo: $RUN_DIR/simulator-truth.json"
if [ -f "$RUN_DIR/simulator-by-district.txt" ]; then echo "    per district: $RUN_DIR/simulator-by-district.txt"; fi
.venv/bin/python scripts/where_to_look.py "$RUN_DIR"
echo "  a department token (after: eval \"\$(python3 deploy/stack.py env)\"):"
echo "    .venv/bin/campaign token city_org --user demo"
echo "Stop it with: make stop (services) and make down (Kafka and PostgreSQL)"
if [ "$keep" = 1 ]; then
  echo
  echo "WARNING: the services still run on the SIMULATED campaign clock"
  echo "  (CAMPAIGN_KEEP_SIMULATED_CLOCK=1). Any client may set the business time of"
  echo "  its requests with the X-Campaign-Time header, so dates and deadlines can be"
  echo "  faked. Fine for playing with the demo; never like this with real data."
  echo "  Back to the real clock: scripts/run.sh without CAMPAIGN_KEEP_SIMULATED_CLOCK."
else
  echo "  clock: real (the demo's simulated clock is off; X-Campaign-Time is refused)"
fi
