# One image with pollhook's four runtime commands (worker, migrate,
# pollhookctl, simulator); docker-compose.yml picks one per service. The
# bench and the demo stay out: they are tools for a checkout.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t pollhook .
#
# (make docker does this.) The runtime image is distroless: no shell, so the
# healthcheck is the worker's own "worker healthcheck" subcommand.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what --version prints and the User-Agent carries.
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/pollhook/pollhook/internal/version.stamp=${VERSION}" \
	-o /out/ ./cmd/worker ./cmd/migrate ./cmd/pollhookctl ./cmd/simulator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# The worker's HTTP server (health, metrics; River UI and pprof only when
# enabled) must listen beyond loopback to be reachable from outside the
# container. Publish it on a private network only.
ENV POLLHOOK_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
	CMD ["/usr/local/bin/worker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/worker"]
