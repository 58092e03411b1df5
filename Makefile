# Convenience targets; the README's two commands are scripts/run.sh and scripts/test.sh.
.PHONY: run test up down status stop bench promote

run:          ## start the stack and the services
	scripts/run.sh
test:         ## run every test against the real stack
	scripts/test.sh
up:           ## start Kafka and PostgreSQL only (BROKERS=3: a replicated 3-node Kafka cluster; PG_STANDBY=1: a PostgreSQL standby, PG_SYNC_STANDBY=1: a synchronous one)
	python3 deploy/stack.py up $(if $(BROKERS),--brokers $(BROKERS)) $(if $(PG_SYNC_STANDBY),--pg-sync-standby,$(if $(PG_STANDBY),--pg-standby))
down: stop    ## stop everything
	python3 deploy/stack.py down
promote:      ## after the primary PostgreSQL's loss: the standby becomes the primary (docs/operations.md)
	python3 deploy/stack.py promote
status:
	python3 deploy/stack.py status; scripts/services.sh status
stop:         ## stop the services and relays
	scripts/services.sh stop
bench:        ## every benchmark beside the raw limits (table to stdout and bench-results/); BENCH_ARGS="--size small"
	scripts/bootstrap.sh && python3 deploy/stack.py up && eval "$$(python3 deploy/stack.py env)" && .venv/bin/python bench/run_all.py $${BENCH_ARGS:---size full --growth}
