# gatepass serve in a container.
#
#   docker build -t gatepass .
#   docker run --read-only -p 8080:8080 \
#     -v /srv/gatepass/etc:/etc/gatepass:ro \
#     -v gatepass-data:/var/lib/gatepass \
#     gatepass
#
# /etc/gatepass holds gatepass.toml (keyset, users and store settings), the keyset and the
# users file, readable by UID 10001; the server only reads them, and picks up changes to
# the keyset and users files within seconds. /var/lib/gatepass holds the file store's
# journal. Nothing else is written, so the root filesystem can be read-only. A store URL
# with a password goes in GATEPASS_STORE (e.g. `--env-file`), never on the command line.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gatepass

FROM debian:bookworm-slim
# curl for the health check; CA certificates for rediss:// and PostgreSQL over TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/gatepass /var/lib/gatepass \
 && chown 10001:10001 /var/lib/gatepass
COPY --from=build /src/target/release/gatepass /usr/local/bin/gatepass
ENV GATEPASS_LISTEN=0.0.0.0:8080 \
    GATEPASS_CONFIG=/etc/gatepass/gatepass.toml \
    GATEPASS_LOG_FORMAT=json
VOLUME ["/var/lib/gatepass"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/gatepass"]
CMD ["serve"]
