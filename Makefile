# Convenience targets; the README's two commands are scripts/run.sh and scripts/test.sh.
.PHONY: run test up down status stop bench

run:          ## start the stack and the services
	scripts/run.sh
test:         ## run every test against the real stack
	scripts/test.sh
up:           ## start Kafka and PostgreSQL only (BROKERS=3: a replicated 3-node Kafka cluster)
	python3 deploy/stack.py up $(if $(BROKERS),--brokers $(BROKERS))
down: stop    ## stop everything
	python3 deploy/stack.py down
status:
	python3 deploy/stack.py status; scripts/services.sh status
stop:         ## stop the services and relays
	scripts/services.sh stop
bench:        ## every benchmark beside the raw limits (table to stdout and bench-results/); BENCH_ARGS="--size small"
	scripts/bootstrap.sh && python3 deploy/stack.py up && eval "$$(python3 deploy/stack.py env)" && .venv/bin/python bench/run_all.py $${BENCH_ARGS:---size full --growth}
