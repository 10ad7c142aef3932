# The test image of image_test.sh and daemon_image_test.sh: built by
# tests/system/image_build.py from Debian's busybox-static into $T/img.
# Sets ID, SHORT and ROOT (its root in the cache $LIGHTVM_IMAGE_DIR once
# imported); a failed build fails the test and ends it. Sourced.
build_test_image() {
    if ! python3 "$HERE/image_build.py" "$T/img" --busybox "$BUSYBOX" >"$T/build.log" 2>&1; then
        fail "build the test image" "$(cat "$T/build.log")"
        harness_finish
        exit 1
    fi
    ID=$(cat "$T/img/id")
    SHORT=${ID:0:12}
    ROOT="$LIGHTVM_IMAGE_DIR/roots/sha256/$ID/rootfs"
}
