#!/usr/bin/env bash
# Raw-commands baseline: build the polyboard reference app (Go + cgo + Rust
# kernel) for an embedded Linux board by hand, serially.
#   usage: bench/raw/build_linux.sh BOARD OUTDIR   (BOARD: rpi3 | rpi4 | visionfive2)
# Output: OUTDIR/app (static Rust kernel linked in, dynamic glibc).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BOARD OUTDIR" >&2
    exit 2
fi
BOARD=$1
OUT=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$ROOT/src
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

GOARM_ENV=()
case $BOARD in
    rpi3)
        TRIPLE=armv7-unknown-linux-gnueabihf; GOARCH=arm; CC=arm-linux-gnueabihf-gcc
        GOARM_ENV=(GOARM=7)
        ;;
    rpi4)
        TRIPLE=aarch64-unknown-linux-gnu; GOARCH=arm64; CC=aarch64-linux-gnu-gcc
        ;;
    visionfive2)
        TRIPLE=riscv64gc-unknown-linux-gnu; GOARCH=riscv64; CC=riscv64-linux-gnu-gcc
        ;;
    *)
        echo "unknown Linux board: $BOARD (rpi3 | rpi4 | visionfive2)" >&2
        exit 2
        ;;
esac

# Go needs a cache and module path; keep them with the outputs unless given.
export GOCACHE=${GOCACHE:-$OUT/gocache}
export GOPATH=${GOPATH:-$OUT/gopath}

# 1. Rust kernel -> libkernel.a (core built from source: no prebuilt rust-std).
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$OUT/target" \
    /usr/bin/cargo build --release -Zbuild-std=core --target "$TRIPLE" \
    --manifest-path "$SRC/kernel/Cargo.toml"

# 2. Go app, linking libkernel.a through cgo (kern.go has no #cgo lines: the include folder and
#    the library come from CGO_CFLAGS/CGO_LDFLAGS, as polyboard passes them). Go's build cache does not notice a changed C
#    library (`go help cache`): without the library's hash in the link flags, a Rust edit
#    would leave a stale app. One sha256sum is the cheapest correct way to type it by hand.
LIBHASH=$(sha256sum "$OUT/target/$TRIPLE/release/libkernel.a" | cut -c1-16)
cd "$SRC/app"
env CGO_ENABLED=1 GOOS=linux GOARCH="$GOARCH" "${GOARM_ENV[@]}" CC="$CC" \
    CGO_CFLAGS="-I$SRC/kernel/include" CGO_LDFLAGS="-L$OUT/target/$TRIPLE/release -lkernel" GOFLAGS=-mod=mod \
    go build -trimpath -ldflags="-X=main.kernelLibrary=$LIBHASH" -o "$OUT/app" .
