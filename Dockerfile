# syntax=docker/dockerfile:1
#
# voxray container image: a static (musl) binary on a stripped Alpine 3.20 base.
#
#   docker build -t voxray:latest .
#   docker run --rm -p 8080:8080 -v "$PWD/config.json:/app/config.json:ro" \
#     -e VOXRAY_SERVER_API_KEY -e OPENAI_API_KEY voxray:latest
#   docker run --rm voxray:latest id        # uid=1001(voxray) gid=1001(voxray)
#
# The final image has no package manager, no shell, no cron and no sshd: of BusyBox only `id`
# is kept (as /usr/bin/id). It holds no config and no secret: mount the config read-only at
# /app/config.json and pass secrets as environment variables. Without a config it runs the
# keyless echo default. Ports below 1024 belong to a reverse proxy; never run it as root.

# ---- build stage: a statically linked binary (musl is Alpine's native libc) ----
FROM rust:1-alpine AS builder
# The build stage is not shipped; its toolchain packages follow the base image.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin voxray \
    && strip target/release/voxray \
    && ./target/release/voxray --version

# ---- final stage ----
FROM alpine:3.20

# One RUN, executed by BusyBox's shell, that removes that shell last: create the user, keep
# BusyBox solely as /usr/bin/id, delete apk and its database, cron, every BusyBox applet link
# (sh included) and the remaining shell utilities. A private copy of BusyBox does the deleting
# and finally deletes itself.
RUN set -eu; \
    addgroup -S -g 1001 voxray; \
    adduser -S -D -H -h /app -s /sbin/nologin -G voxray -u 1001 voxray; \
    mkdir -p /app; \
    cp /bin/busybox /tmp/busybox; \
    bb=/tmp/busybox; \
    $bb rm -f /usr/bin/id; \
    $bb cp /bin/busybox /usr/bin/id; \
    $bb rm -rf /sbin/apk /etc/apk /lib/apk /usr/share/apk /var/cache/apk \
        /etc/crontabs /var/spool/cron /etc/periodic \
        /usr/bin/scanelf /usr/bin/ssl_client /usr/bin/getconf /usr/bin/getent \
        /usr/bin/iconv /usr/bin/ldd /sbin/ldconfig; \
    for applet in $($bb --list-full); do \
        if [ -L "/$applet" ]; then $bb rm -f "/$applet"; fi; \
    done; \
    $bb rm -f /bin/busybox; \
    exec $bb rm -f /tmp/busybox

COPY --from=builder /src/target/release/voxray /usr/local/bin/voxray

# The name (not 1001) so that `id` and `voxray check --dockerfile` show who runs it.
# hadolint ignore=DL3066
USER voxray
WORKDIR /app
ENV VOXRAY_HOST=0.0.0.0
EXPOSE 8080
# Exec form (there is no shell): GET /health on 127.0.0.1:<port>, exit 0 on 200, else 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["voxray", "health"]
CMD ["voxray", "serve"]
