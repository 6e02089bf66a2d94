# pollhook's everyday commands. `make demo` and `make test` are the two a
# newcomer needs; both start PostgreSQL first if it is not running.

export PATH := /usr/local/go/bin:$(PATH)

# VERSION is stamped into every binary (--version, User-Agent).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/pollhook/pollhook/internal/version.stamp=$(VERSION)
# The commands an operator runs; bench and demo are tools for a checkout.
COMMANDS := ./cmd/worker ./cmd/migrate ./cmd/pollhookctl ./cmd/simulator
# docker compose v2, else docker-compose v1, else nothing.
COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo docker compose; \
	elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; fi)

.PHONY: demo test pg migrate worker simulator bench faults fuzz lint rules install build docker compose-check version

demo: pg
	go run ./cmd/demo $(DEMO_FLAGS)

test: pg compose-check
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

# install puts worker, migrate, pollhookctl and simulator in $(go env GOBIN)
# (default ~/go/bin), stamped with VERSION.
install:
	go install -ldflags "$(LDFLAGS)" $(COMMANDS)

# build puts the same binaries in bin/.
build:
	go build -ldflags "$(LDFLAGS)" -o bin/ $(COMMANDS)

version:
	@echo $(VERSION)

# docker builds the image docker-compose.yml runs (a Docker engine is needed).
docker:
	docker build --build-arg VERSION=$(VERSION) -t pollhook:$(VERSION) -t pollhook:local .

# compose-check validates docker-compose.yml where a compose tool is installed.
compose-check:
ifneq ($(COMPOSE),)
	$(COMPOSE) config -q
else
	@echo "compose-check: neither docker compose nor docker-compose is installed; docker-compose.yml not checked"
endif

# staticcheck is pinned, fetched through the module proxy on first use.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	test -z "$$(gofmt -l .)"
	go vet ./...
	go run $(STATICCHECK) ./...

# Prometheus rules: syntax and unit tests (also run by make test, in ./deploy).
rules:
	cd deploy/prometheus && promtool check rules pollhook-rules.yml && promtool test rules pollhook-rules.test.yml
