#!/usr/bin/env bash
# lightvm image import|ls|rm and lightvm run --image, over an image built
# here from Debian's busybox-static (tests/system/image_build.py: two
# layers, whiteout, opaque directory, a user) as an OCI image layout and as
# a docker-archive tar. Offline; compared with a native chroot of the
# cached root where that makes sense (as root).
#   image_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
set -u
. "$(dirname "$0")/harness.sh"
harness_init image-test "$@"
HERE=$(cd "$(dirname "$0")" && pwd)
trap 'rm -rf "$T"' EXIT
export LIGHTVM_IMAGE_DIR="$T/cache"
. "$HERE/image_env.sh"
build_test_image
# Every file of the cached root with its contents' hash: what no VM may change.
root_digest() { (cd "$ROOT" && find . -printf '%p %y %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum; }
# Waits (up to 3 s) for the cache's run/ to be empty: the cleaner's job.
run_dir_empty() {
    for _ in $(seq 30); do [ -z "$(ls -A "$T/cache/run")" ] && return 0; sleep 0.1; done
    return 1
}

# --- import ------------------------------------------------------------
run "$L" image import "$T/img/oci"
expect "import an OCI image layout prints the short ID" 0 "$SHORT"
INODE=$(stat -c %i "$ROOT")
run "$L" image import "$T/img/docker.tar"
expect "import the docker-archive of the same image: same ID" 0 "$SHORT"
if [ "$(stat -c %i "$ROOT")" = "$INODE" ] && [ -z "$(ls -A "$T/cache/tmp")" ]; then
    pass "second import is a cache hit: the root was not unpacked again"
else
    fail "second import is a cache hit" "rootfs inode $INODE -> $(stat -c %i "$ROOT")"
fi
run "$L" image import "$T/img/docker.tar:test/image:1" --name busy
expect "import PATH:TAG --name" 0 "$SHORT"
run "$L" image ls
if [ "$RC" -eq 0 ] && echo "$OUT" | head -1 | grep -q '^ID  *NAME  *SIZE  *CREATED  *IMPORTED' &&
    echo "$OUT" | grep -q "^$SHORT  *test/image:1 .*MiB  *2023-11-14" && echo "$OUT" | grep -q "^$SHORT  *busy "; then
    pass "image ls: one row per name"
else
    fail "image ls" "$(describe)"
fi
run "$L" image ls --json
if [ "$RC" -eq 0 ] && echo "$OUT" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert len(j) == 1 and j[0]["id"] == "sha256:'"$ID"'", j
assert j[0]["names"] == ["test/image:1", "busy"] and j[0]["layers"] == 2 and j[0]["size"] > 1000000, j
assert j[0]["format"] == "oci-layout" and j[0]["rootfs"] == "'"$ROOT"'", j'; then
    pass "image ls --json"
else
    fail "image ls --json" "$(describe)"
fi
DIGEST_BEFORE=$(root_digest)

# --- run: the config's Cmd, Env, WorkingDir, User -------------------------
run "$L" run --image test/image:1
expect "default Cmd, WorkingDir and User from the config" 0 "default cmd in /home/app as 1000"
run "$L" run --image "$T/img/oci" echo overridden
expect "a trailing CMD replaces Cmd (IMAGE as a path: cache hit)" 0 "overridden"
run "$L" run --image busy --entrypoint /bin/echo from entrypoint
expect "--entrypoint" 0 "from entrypoint"
run "$L" run -e SHADOWED=cli -e NEW=1 --image busy sh -c 'echo "$GREETING/$SHADOWED/$NEW/$PATH"'
expect "the image's Env merged under -e" 0 "hello from the image/cli/1//usr/bin:/bin"
run "$L" run --image busy sh -c 'echo $HOME'
expect "HOME from the user's /etc/passwd entry, as runc sets it" 0 "/home/app"
run "$L" run -u 4242 -e HOME=/h --image busy sh -c 'echo $HOME'
expect "-e HOME wins" 0 "/h"
run "$L" run -w /tmp --image busy pwd
expect "-w wins over WorkingDir" 0 "/tmp"
run "$L" run --image busy id
expect "User 'app' from the image's /etc/passwd and /etc/group" 0 "uid=1000(app) gid=1000(app) groups=1000(app),1001(extra)"
run "$L" run -u 0 --image busy id -u
expect "-u wins over User" 0 "0"
run "$L" run --image "${SHORT:0:6}" id -u
expect "an ID prefix names the image" 0 "1000"

# --- the root: whiteouts, compared with a native chroot ----------------
run "$L" run -u 0 --image busy sh -c 'ls /etc /opaque; test -e /etc/doomed && echo present || echo absent'
if [ "$(id -u)" -eq 0 ]; then
    NATIVE=$(chroot "$ROOT" /bin/sh -c 'ls /etc /opaque; test -e /etc/doomed && echo present || echo absent' 2>&1)
    expect "whiteout and opaque directory: the same as a native chroot of the cached root" 0 "$NATIVE"
else
    expect "whiteout and opaque directory" 0 "$(printf '/etc:\nadded\ngroup\npasswd\n\n/opaque:\nc\nabsent')"
fi
case "$OUT" in *absent) pass "the whited-out file is absent" ;; *) fail "the whited-out file is absent" "$(describe)" ;; esac

# --- the writable layer ------------------------------------------------
run "$L" run -u 0 --image busy sh -c 'echo written > /written && echo more >> /etc/added && rm /etc/passwd && cat /written && cat /etc/added'
expect "a write to / inside the VM succeeds" 0 "$(printf 'written\nadded by layer 2\nmore')"
if [ "$(root_digest)" = "$DIGEST_BEFORE" ] && [ ! -e "$ROOT/written" ]; then
    pass "the cached root is untouched"
else
    fail "the cached root is untouched" "$(ls -la "$ROOT" "$ROOT/etc")"
fi
run "$L" run -u 0 --image busy sh -c 'test -e /written && echo seen || echo unseen; cat /etc/added; test -e /etc/passwd && echo passwd'
expect "a second VM does not see the first one's writes" 0 "$(printf 'unseen\nadded by layer 2\npasswd')"
if run_dir_empty; then pass "the per-VM upper directories are gone once the VMs ended"; else fail "per-VM upper directories removed" "$(ls -la "$T/cache/run")"; fi
run "$L" run -u 0 --image busy --read-only sh -c 'echo a > /tmp/x && cat /tmp/x && echo b > /var/tmp/y && cat /var/tmp/y; echo c > /z'
if [ "$RC" -eq 1 ] && [ "$OUT" = "$(printf 'a\nb')" ] && echo "$ERR" | grep -q 'Read-only file system'; then
    pass "--read-only: / refuses writes, /tmp and /var/tmp are tmpfs"
else
    fail "--read-only" "$(describe)"
fi
# No overlayfs possible (the cache itself on overlayfs, which refuses an
# overlay upper directory): the run goes on read-only, with one warning.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    mkdir -p "$T/ovl/lower" "$T/ovl/upper" "$T/ovl/work" "$T/ovl/merged"
    run unshare -m sh -c 'mount --make-rprivate / && mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work" "$1/merged" &&
        LIGHTVM_IMAGE_DIR="$1/merged/cache" "$2" image import "$3" >/dev/null &&
        LIGHTVM_IMAGE_DIR="$1/merged/cache" "$2" run -u 0 --image test/image:1 sh -c "echo a > /tmp/x && cat /tmp/x; echo b > /y"' \
        sh "$T/ovl" "$L" "$T/img/oci"
    if [ "$RC" -eq 1 ] && [ "$OUT" = a ] && [ "$(grep -c . "$T/err")" -eq 2 ] &&
        grep -q '^lightvm: warning: no overlay file system for the image.s writable layer (mount overlay: .*): its root is read-only, /tmp, /run and /var/tmp are tmpfs in guest RAM$' "$T/err" &&
        grep -q 'Read-only file system' "$T/err"; then
        pass "without overlayfs: one warning, a read-only root and tmpfs /tmp"
    else
        fail "without overlayfs: read-only fallback" "$(describe)"
    fi
fi
# Two VMs at once, each writing the same file.
"$L" run -u 0 --image busy sh -c 'echo one > /same; sleep 1; cat /same' >"$T/par1" 2>&1 &
P1=$!
run "$L" run -u 0 --image busy sh -c 'echo two > /same; sleep 0.3; cat /same'
wait $P1
if [ "$OUT" = two ] && [ "$(cat "$T/par1")" = one ]; then pass "two VMs at once have separate writable layers"; else fail "two VMs at once" "$(describe)" "first: $(cat "$T/par1")"; fi

# --- errors: one line, nothing left behind -----------------------------
run "$L" run --image busy --rootfs / true
expect_error "--image with --rootfs" 2 "--image: not with --rootfs"
run "$L" run --image no-such-image true
expect_error "an unknown image" 125 "no image 'no-such-image'"
run "$L" run --image busy no-such-program
expect_error "a program the image lacks" 127 "'no-such-program' not found (searched PATH) in the image"
run "$L" run --entrypoint /bin/true "$BUSYBOX" true
expect_error "--entrypoint without --image" 2 "--entrypoint: needs --image"
cp -r "$T/img/oci" "$T/bad"
LAYER2=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+m))["layers"][1]["digest"][7:])' "$T/bad")
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$T/bad/blobs/sha256/$LAYER2"
export LIGHTVM_IMAGE_DIR="$T/cache2"
run "$L" image import "$T/bad"
expect_error "a corrupt layer blob: import fails naming it" 1 "image: blob sha256:$LAYER2 (layer 2 of 2): digest mismatch"
if [ -z "$(find "$T/cache2/roots/sha256" "$T/cache2/tmp" -mindepth 1)" ]; then pass "the failed import left nothing in the cache"; else fail "nothing left after a failed import" "$(find "$T/cache2")"; fi
run "$L" run --image "$T/bad" true
expect_error "a corrupt image on the fly" 125 "digest mismatch"
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    # Disk full: the cache on a 1 MiB tmpfs, in a mount namespace of the test's own.
    mkdir -p "$T/small"
    run unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs "$1" &&
        LIGHTVM_IMAGE_DIR="$1/cache" "$2" image import "$3"; rc=$?; find "$1/cache/tmp" "$1/cache/roots/sha256" -mindepth 1 >&2; exit $rc' \
        sh "$T/small" "$L" "$T/img/oci"
    expect_error "disk full: one line, nothing left in the cache" 1 "No space left on device"
fi
echo "just text" >"$T/text"
run "$L" image import "$T/text"
expect_error "not an image" 1 "not an image"
run "$L" image import "$T/missing"
expect_error "a missing path" 1 "lightvm: $T/missing: no such file or directory" exact
export LIGHTVM_IMAGE_DIR="$T/cache"

# --- image rm ----------------------------------------------------------
"$L" run --image busy sleep 2 >/dev/null 2>&1 &
P2=$!
sleep 0.7
run "$L" image rm "$SHORT"
expect_error "image rm while a VM runs the image" 1 "is in use by a VM"
wait $P2
run "$L" image rm busy
expect "image rm NAME of an image with another name: untagged" 0 "untagged busy"
run "$L" image rm "$SHORT"
expect "image rm ID" 0 "deleted sha256:$ID"
run "$L" image ls -q
expect "image ls after rm" 0 ""
if [ ! -e "$T/cache/roots/sha256/$ID" ] && [ -z "$(ls -A "$T/cache/tmp")" ]; then pass "image rm removed the root"; else fail "image rm removed the root" "$(find "$T/cache" -maxdepth 3)"; fi
run "$L" image rm "$SHORT"
expect_error "image rm of an unknown image" 1 "no image '$SHORT'"

harness_finish
