# scalectl in a container: a static binary on a distroless base (no shell,
# no package manager; CA certificates for HTTPS to Prometheus included).
#
#   docker build -t scalectl .
#   docker run --rm -v "$PWD:/work" -w /work scalectl assess capacity/

FROM rust:1-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl \
    && apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock stages.toml ./
COPY src ./src
COPY benches ./benches
RUN cargo build --locked --release --target x86_64-unknown-linux-musl \
    && cp target/x86_64-unknown-linux-musl/release/scalectl /scalectl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /scalectl /usr/local/bin/scalectl
ENTRYPOINT ["/usr/local/bin/scalectl"]
CMD ["--help"]
