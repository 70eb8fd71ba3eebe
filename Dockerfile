# The order service as a container image: a static binary on distroless, as a non-root
# user, with a HEALTHCHECK that needs no shell.
#
#   docker build -t orders .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://... orders            # serve
#   docker run --rm -e DATABASE_URL=postgres://... orders migrate up
#
# Where no registry can be reached, `make image` builds the same binary on the host and
# wraps it in a FROM scratch image instead (Dockerfile.scratch). See docs/deploy.md.

ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/orders ./cmd/orders

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/orders /orders
# distroless's "nonroot"; numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENV LISTEN_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["/orders", "healthcheck"]
ENTRYPOINT ["/orders"]
CMD ["serve"]
