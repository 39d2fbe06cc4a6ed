# hubsync serve in a container: a static binary (no cgo: SQLite is modernc's pure-Go one) on an
# empty base image, run as a non-root user, with the SQLite file in the /data volume.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t hubsync .
#   docker run -d --name hubsync -p 8080:8080 -v hubsync-data:/data --env-file hubsync.env hubsync
#
# hubsync.env holds the HUBSYNC_* variables (docs/cli.md): the HubSpot app, the LearnWorlds API
# client, HUBSYNC_TOKEN_KEY, HUBSYNC_ADMIN_TOKEN, HUBSYNC_PUBLIC_URL. For PostgreSQL set HUBSYNC_DB
# to its postgres:// URL instead; the volume is then unused. One-shot commands run in the same
# image: docker run --rm -it -v hubsync-data:/data --env-file hubsync.env hubsync connect
# See docs/operations.md.

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, so that a change of the source does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what "hubsync version" prints (the build context has no .git, see .dockerignore).
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hubsync ./cmd/hubsync
# The directories the runtime image needs: /data for the store, /tmp for SQLite's temporary files
# (an empty image has neither).
RUN mkdir -p /out/data /out/tmp && chmod 0700 /out/data && chmod 1777 /out/tmp

FROM scratch
# HubSpot and LearnWorlds are reached over HTTPS: the build image's CA certificates.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=10001:10001 /out/data /data
COPY --from=build /out/hubsync /hubsync
# A numeric user: an empty image has no /etc/passwd. 10001 owns /data (and a new named volume
# takes its owner and mode from the image's /data).
USER 10001:10001
WORKDIR /data
ENV HUBSYNC_DB=/data/hubsync.db \
    HUBSYNC_LISTEN=:8080
VOLUME ["/data"]
EXPOSE 8080
# serve shuts down gracefully on SIGTERM (docker stop): requests in flight finish, leased jobs go
# back to the queue.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/hubsync"]
CMD ["serve"]
