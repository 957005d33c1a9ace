# syntax=docker/dockerfile:1
#
# The Landfall controller image: one static binary on distroless, running as uid 65532.
#
# This image is not built by `make test`: the development and CI machines have no container
# engine. Build it where one runs:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=$(git describe --tags --always) -t ghcr.io/landfall-dev/landfall:dev .

ARG GO_VERSION=1.26

# Build on the builder's own platform and cross-compile: no emulation, and CGO is off anyway.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# timetzdata embeds the time zone database: sync windows name IANA zones, and the binary
# must not depend on the base image having /usr/share/zoneinfo.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/landfall ./cmd/landfall

# distroless/static has CA certificates (for HTTPS Git hosts), /etc/passwd with the nonroot
# user, and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/landfall /usr/local/bin/landfall
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/landfall"]
CMD ["controller"]
