#!/usr/bin/env bash
# The README's first command: install what is missing, start Kafka, PostgreSQL and the services,
# play the demo campaign once (simulator), and print where to look.
#   DEMO_ENTITIES=20000 scripts/run.sh   a bigger demo (default 3000; about 6.5 min at 20000 here)
#   DEMO=0 scripts/run.sh                start the platform without playing the demo
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
python3 deploy/stack.py up
# The demo plays ~100 campaign days in minutes: its requests name their business time (docs/simulator.md).
# A production deployment never sets this.
export CAMPAIGN_SIMULATED_CLOCK=${CAMPAIGN_SIMULATED_CLOCK:-true}
scripts/services.sh start
eval "$(python3 deploy/stack.py env)"
RUN_DIR=${CAMPAIGN_RUN_DIR:-$PWD/.run}
entities=${DEMO_ENTITIES:-3000}
marker="$RUN_DIR/demo-played-$entities"
if [ "${DEMO:-1}" != "0" ] && [ ! -f "$marker" ]; then
  echo "Playing the demo campaign ($entities entities, seed 2016) through the public APIs ..."
  .venv/bin/python -m simulator play --entities "$entities" --seed 2016 \
    --export "$RUN_DIR/simulator-truth.json" --table "$RUN_DIR/simulator-by-district.txt"
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
