# Convenience targets; the README's two commands are scripts/run.sh and scripts/test.sh.
.PHONY: run test up down status stop bench

run:          ## start the stack and the services
	scripts/run.sh
test:         ## run every test against the real stack
	scripts/test.sh
up:           ## start Kafka and PostgreSQL only
	python3 deploy/stack.py up
down: stop    ## stop everything
	python3 deploy/stack.py down
status:
	python3 deploy/stack.py status; scripts/services.sh status
stop:         ## stop the services and relays
	scripts/services.sh stop
bench:        ## pipeline benchmark (prints a table)
	scripts/bootstrap.sh && python3 deploy/stack.py up && eval "$$(python3 deploy/stack.py env)" && .venv/bin/python bench/pipeline.py
