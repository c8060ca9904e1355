# One image per layer service, from one recipe:
#   docker build --build-arg LAYER=shard --build-arg VERSION=v0.1.0 \
#     -t ghcr.io/vtmeta/vtmeta-shard:v0.1.0 .
# (`make images` builds all of them.) A static binary on distroless, run as
# a non-root user; the version is stamped into vtmeta_build_info and --version.
FROM golang:1.26 AS build
ARG LAYER
ARG VERSION=dev
WORKDIR /src
COPY . .
RUN test -n "${LAYER}" && cd services/${LAYER} && \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags "-s -w -X github.com/vtmeta/vtmeta/internal/hook.Version=${VERSION}" -o /out/hook .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hook /hook
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/hook"]
