FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD)
ARG VERSION=devel
ARG REVISION=
RUN CGO_ENABLED=0 go build -ldflags "-X syncer/internal/buildinfo.version=${VERSION} -X syncer/internal/buildinfo.revision=${REVISION} -X syncer/internal/buildinfo.buildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)" -o /syncer ./cmd/syncer

FROM gcr.io/distroless/static-debian12
COPY --from=build /syncer /syncer
ENTRYPOINT ["/syncer"]
