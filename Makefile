# pollhook's everyday commands. `make demo` and `make test` are the two a
# newcomer needs; both start PostgreSQL first if it is not running.

export PATH := /usr/local/go/bin:$(PATH)

.PHONY: demo test pg migrate worker simulator bench faults fuzz lint rules

demo: pg
	go run ./cmd/demo $(DEMO_FLAGS)

test: pg
	go test -race -count=1 ./...

pg:
	bash scripts/pg.sh

migrate: pg
	go run ./cmd/migrate up

worker: migrate
	go run ./cmd/worker

simulator:
	go run ./cmd/simulator

bench: pg
	go run ./cmd/bench $(BENCH_FLAGS)

lint:
	test -z "$$(gofmt -l .)"
	go vet ./...

# Prometheus rules: syntax and unit tests (also run by make test, in ./deploy).
rules:
	cd deploy/prometheus && promtool check rules pollhook-rules.yml && promtool test rules pollhook-rules.test.yml
