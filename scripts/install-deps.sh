#!/bin/sh
# Installs the Debian 12 packages lightvm needs to build and test, if missing.
set -eu
# Build: compilers, CMake/Ninja, tl::expected, CLI11. Tests: GoogleTest,
# musl-gcc (guest programs), busybox-static, zsh-static and bash-static
# (real unmodified binaries: applets and shells compared with native runs),
# util-linux's unshare/setpriv (already in Debian's base system).
# golang-go: static Go test programs (goroutines on guest threads).
# rustc: static Rust thread programs (tests/system/threads_lang_test.sh).
# linux-libc-dev: the uapi headers (<linux/elf.h>, <linux/auxvec.h>, ...)
# that freestanding/ and the guest kernel compile against. libseccomp-dev:
# the sandbox's seccomp filter, compiled at build time; libclang-rt-14-dev:
# libFuzzer for make fuzz.
# Daemon: cpp-httplib (HTTP on a Unix socket) and nlohmann-json; curl drives
# the daemon in the system tests. passt: its pasta gives --net user its
# outbound network; iproute2: the namespaces and dummy interfaces the net
# tests make (tests/system/net_cli_test.sh).
# Dynamically linked programs the guest runs from the host's / and compares
# with native runs (tests/system/dynamic_test.sh, bench/vm_bench.sh): python3,
# perl, mawk, and tar/gzip/findutils/grep/sed (essential, listed to be sure);
# GNU time for the benchmarks' peak RSS.
# containerd (with ctr, its runc v2 shim and runc): lightvm-oci under
# containerd (tests/system/containerd_test.sh, bench/oci_bench.sh); docker.io:
# under Docker (tests/system/docker_test.sh, bench/docker_bench.sh), whose
# dockerd the tests start themselves with private directories.
# Images (src/image, `lightvm run --image`): libarchive-dev reads tars and
# their gzip/zstd compression (libzstd-dev and zlib1g-dev for the static
# link), nettle-dev hashes (SHA-256); zstd makes zstd layers in the tests.
# golang-github-opencontainers-runtime-tools-dev: the OCI runtime-tools'
# generate/validate libraries and the runtime-spec's schemas, built offline
# into tests/system/oci_validation.sh's checker (Debian ships no validation
# programs: docs/oci.md "runtime-tools validation").
PKGS="build-essential cmake ninja-build g++ clang linux-libc-dev libexpected-dev libcli11-dev
libgtest-dev libgmock-dev musl-tools busybox-static libseccomp-dev libclang-rt-14-dev libcpp-httplib-dev
nlohmann-json3-dev curl passt iproute2 python3 perl mawk tar gzip findutils grep sed time zsh-static bash-static golang-go rustc containerd docker.io
libarchive-dev libzstd-dev zlib1g-dev nettle-dev zstd golang-github-opencontainers-runtime-tools-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
