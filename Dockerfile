# A small image of the `hamstr` command: `docker build -t hamstr .`, then
# `docker run --rm -e GITHUB_TOKEN hamstr extract github repos rust-lang`. See docs/extract.md.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hamstr --features cli --bin hamstr \
 && strip target/release/hamstr

# glibc and libgcc only: TLS roots are compiled in (rustls with webpki-roots).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/hamstr /usr/local/bin/hamstr
ENTRYPOINT ["/usr/local/bin/hamstr"]
