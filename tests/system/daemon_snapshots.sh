# Issue 16 through lightvmd, as a user drives it: `lightvm snapshot create`,
# `snapshot restore`, `clone`, and the REST resource behind them. Sourced by
# daemon_test.sh (its daemon, helpers and spec checks); not run on its own.
C=$G/counter.glibc
log_of() { "$L" logs "$1"; }
pool_ready() { "$L" pool --json | grep -q '"ready": [1-9]'; }
# The whole count of a VM that is never saved: what the halves must add up to.
run "$L" run -d --name snap-full -m 64M "$C" 16 60
[ "$RC" -eq 0 ] || fail "snapshots: run -d of the reference count" "$(describe)"
run "$L" wait snap-full
FULL=$(log_of snap-full)
case "$FULL" in *"done 16 "*) pass "snapshots: the reference count runs" ;; *) fail "snapshots: reference count" "$FULL" ;; esac

# Saved with --stop in the middle: the two halves are exactly the whole, and
# the restore took a warm shell of the snapshot's memory size.
run "$L" run -d --name snap-a -m 64M "$C" 16 60
sleep 0.3
run "$L" snapshot create --stop snap-a "$T/a"
expect "snapshot create --stop prints the snapshot's path" 0 "$T/a"
run "$L" wait snap-a
expect "a VM saved with --stop ends with status 0" 0 "0"
[ -s "$T/a" ] && [ -s "$T/a.mem" ] && [ ! -e "$T/a.part" ] && pass "state and memory files written, no .part left" ||
    fail "snapshot files" "$(ls -la "$T" | grep ' a')"
wait_until 10 pool_ready
run "$L" snapshot restore --name snap-b "$T/a"
B=$OUT
[[ "$B" =~ ^[0-9a-f]{16}$ ]] && pass "snapshot restore prints the new VM's ID" || fail "snapshot restore prints an ID" "$(describe)"
run "$L" wait snap-b
expect "the restored VM finishes with status 0" 0 "0"
if [ "$(log_of snap-a; log_of snap-b)" = "$FULL" ] && [ -n "$(log_of snap-a)" ] && [ -n "$(log_of snap-b)" ]; then
    pass "saved mid-count through lightvmd, the restored VM finishes the count exactly"
else
    fail "save and restore through lightvmd" "first: $(log_of snap-a | tail -2)" "second: $(log_of snap-b | head -2)"
fi
run "$L" inspect snap-b
case "$OUT" in *'"pooled": true'*'"restored_from": "'"$T/a"'"'*) pass "the restore went into a warm shell from the pool" ;;
    *) fail "restore into a pooled shell" "$(describe)" ;; esac
run "$L" ps -a
case "$OUT" in *"snap-b "*"restored from $T/a"*) pass "ps shows what a restored VM continues" ;; *) fail "ps of a restored VM" "$(describe)" ;; esac

# Without --stop the original goes on untouched; the copy continues from the save.
run "$L" run -d --name snap-c -m 64M "$C" 16 60
sleep 0.3
run "$L" snapshot create --json snap-c "$T/c"
case "$OUT" in *'"bytes": '*'"save_ns": '*'"stopped": false'*) pass "snapshot create --json reports sizes" ;; *) fail "snapshot create --json" "$(describe)" ;; esac
run "$L" wait snap-c
[ "$RC" -eq 0 ] && [ "$(log_of snap-c)" = "$FULL" ] && pass "a VM saved without --stop runs on to the same end" ||
    fail "saved without --stop" "$(describe)" "$(log_of snap-c | tail -2)"
run "$L" snapshot restore "$T/c"
D_ID=$OUT
run "$L" wait "$D_ID"
REST=$(log_of "$D_ID")
if [ "$RC" -eq 0 ] && [ -n "$REST" ] && [ "${FULL%"$REST"}" != "$FULL" ] && [ "$REST" != "$FULL" ]; then
    pass "its copy continues from the save point"
else
    fail "restore of a snapshot taken without --stop" "$(describe)" "$REST"
fi

# A restored VM saved again (its RAM is the old memory file, copy-on-write).
run "$L" run -d --name snap-e -m 64M "$C" 16 60
sleep 0.25
run "$L" snapshot create --stop snap-e "$T/e"
run "$L" snapshot restore --name snap-f "$T/e"
sleep 0.3
run "$L" snapshot create --stop snap-f "$T/f"
expect "a restored VM can be saved again" 0 "$T/f"
run "$L" snapshot restore --name snap-g "$T/f"
run "$L" wait snap-g
if [ "$RC" -eq 0 ] && [ "$(log_of snap-e; log_of snap-f; log_of snap-g)" = "$FULL" ]; then
    pass "saved, restored, saved again, restored: the count is exact"
else
    fail "re-saving a restored VM" "e: $(log_of snap-e | tail -1)" "f: $(log_of snap-f | tail -1)" "g: $(log_of snap-g)"
fi
# Saving over the snapshot the VM runs from: the old files stay intact until
# the new ones are complete (written beside, renamed).
run "$L" snapshot restore --name snap-h "$T/c"
sleep 0.1
run "$L" snapshot create snap-h "$T/c"
run "$L" wait snap-h
[ "$RC" -eq 0 ] && [ "$(log_of snap-h)" = "$REST" ] && pass "saving over its own snapshot does not disturb the VM" ||
    fail "save over the VM's own snapshot" "$(describe)" "$(log_of snap-h)"

# Clones: each restore of one snapshot gets a fresh random seed and the next
# generation; getrandom() and the AT_RANDOM of a program started after the
# restore differ between clones. The saved process's own AT_RANDOM is the
# snapshot's (its libc read it long ago).
E=$G/entropy.glibc
run "$L" run -d --name rnd -m 64M -v "$G:$G:ro" "$E" 1500
sleep 0.5
run "$L" snapshot create --stop rnd "$T/rnd"
run "$L" clone --count 2 --name rnd "$T/rnd"
[ "$RC" -eq 0 ] && [ "$(echo "$OUT" | wc -l)" -eq 2 ] && pass "clone --count 2 prints two IDs" || fail "clone --count 2" "$(describe)"
run "$L" wait rnd-1
run "$L" wait rnd-2
ONE=$(log_of rnd-1) TWO=$(log_of rnd-2)
field() { echo "$1" | sed -n "s/^$2 //p"; }
if [ "$(field "$ONE" generation)" = 1 ] && [ "$(field "$TWO" generation)" = 1 ]; then
    pass "a clone reads generation 1 at /sys/devices/virtual/lightvm/generation"
else
    fail "clone generation" "$ONE" "$TWO"
fi
[ -n "$(field "$ONE" getrandom)" ] && [ "$(field "$ONE" getrandom)" != "$(field "$TWO" getrandom)" ] &&
    pass "two clones' getrandom() differ" || fail "clones' getrandom differ" "$ONE" "$TWO"
[ -n "$(field "$ONE" child_at_random)" ] && [ "$(field "$ONE" child_at_random)" != "$(field "$TWO" child_at_random)" ] &&
    pass "two clones' AT_RANDOM of a program started after the restore differ" || fail "clones' AT_RANDOM differ" "$ONE" "$TWO"
[ "$(field "$ONE" at_random)" = "$(field "$TWO" at_random)" ] &&
    pass "the saved process's own AT_RANDOM is the snapshot's (documented)" || fail "saved AT_RANDOM" "$ONE" "$TWO"
run "$L" clone --count 1 "$T/rnd"
THREE=$OUT
run "$L" wait "$THREE"
[ -n "$(field "$(log_of "$THREE")" getrandom)" ] && [ "$(field "$(log_of "$THREE")" getrandom)" != "$(field "$ONE" getrandom)" ] &&
    pass "a third clone differs again" || fail "third clone" "$(log_of "$THREE")"
run "$L" run -d -m 64M -v "$G:$G:ro" "$E" 0
FRESH=$OUT
run "$L" wait "$FRESH"
[ "$(field "$(log_of "$FRESH")" generation)" = 0 ] && pass "a VM that was never restored reads generation 0" ||
    fail "generation 0" "$(log_of "$FRESH")"

# A snapshot made at the program's ready mark by the CLI (no daemon: --save
# runs in-process), cloned through lightvmd: each clone continues from the
# mark in a fresh shell (the pool's shells are booted; a restore gets one
# that never ran), with stdin /dev/null: the read gets EOF.
READY='x=$(seq 1000 | wc -l); echo 1 > /sys/devices/virtual/lightvm/ready; read line; echo "$x [$line] $(cat /sys/devices/virtual/lightvm/generation)"'
run "$L" run --save "$T/ready" --save-at-ready --save-stop -m 64M "$BUSYBOX" sh -c "$READY"
expect "a ready-mark snapshot for lightvmd's clones" 0 ""
run "$L" clone --count 2 --name rdy "$T/ready"
[ "$RC" -eq 0 ] && [ "$(echo "$OUT" | wc -l)" -eq 2 ] || fail "clone --count 2 of a ready-mark snapshot" "$(describe)"
run "$L" wait rdy-1 rdy-2
if [ "$(log_of rdy-1)" = "1000 [] 1" ] && [ "$(log_of rdy-2)" = "1000 [] 1" ]; then
    pass "clones through lightvmd continue from the ready mark"
else
    fail "clones of a ready-mark snapshot" "$(log_of rdy-1)" "$(log_of rdy-2)"
fi

# The same snapshot made by a background VM (run -d --save --save-at-ready):
# lightvmd opens the files, the VM saves itself at its mark, the daemon
# renames them into place and says "saved".
run "$L" run -d --name rdy-d --save "$T/ready-d" --save-at-ready --save-stop -m 64M "$BUSYBOX" sh -c "$READY"
run "$L" wait rdy-d
[ "$RC" -eq 0 ] && [ -s "$T/ready-d" ] && [ -s "$T/ready-d.mem" ] && [ ! -e "$T/ready-d.part" ] &&
    [ ! -e "$T/ready-d.mem.part" ] && pass "run -d --save-at-ready: the VM saved itself through lightvmd" ||
    fail "run -d --save-at-ready" "$(describe)" "$(ls "$T" | grep ready-d)"
run "$L" inspect rdy-d
case "$OUT" in *'"snapshots": 1'*) pass "... and inspect counts the snapshot" ;; *) fail "inspect after a self-save" "$(describe)" ;; esac
run "$L" clone --count 2 --name rdyd "$T/ready-d"
run "$L" wait rdyd-1 rdyd-2
[ "$(log_of rdyd-1)" = "1000 [] 1" ] && [ "$(log_of rdyd-2)" = "1000 [] 1" ] &&
    pass "its clones continue from the ready mark" || fail "clones of a daemon-made ready snapshot" "$(log_of rdyd-1)"
run "$L" run -d --name rdy-none --save "$T/ready-none" --save-at-ready -m 64M "$BUSYBOX" true
run "$L" wait rdy-none
[ "$RC" -eq 0 ] && [ -z "$(ls "$T" | grep ready-none)" ] && pass "a VM that never marks leaves no files behind" ||
    fail "no mark, no files" "$(ls "$T" | grep ready-none)"
run "$L" run -d --save "$T/x" -m 64M "$BUSYBOX" true
expect_error "run -d --save without --save-at-ready/--save-after: one line" 2 "only with --save-at-ready or --save-after"
curl_api POST /v1/vms "{\"app\":\"$BUSYBOX\",\"save\":{\"path\":\"$T/y\"}}"
expect_api "a save with neither at_ready nor after: 400" 400 "exactly one of at_ready"
curl_api POST /v1/vms "{\"app\":\"$BUSYBOX\",\"save\":{\"path\":\"rel\",\"at_ready\":true}}"
expect_api "a relative save path: 400" 400 "save.path"

# --- the REST resource, and what it refuses ------------------------------------
run "$L" run -d --name snap-r -m 64M "$G/sleep_ms.musl" 20000
curl_api POST /v1/vms/snap-r/snapshot "{\"path\":\"$T/r\"}"
expect_api "POST /v1/vms/REF/snapshot: 201 with the sizes" 201 '"save_ns":'
run "$L" pause snap-r
curl_api POST /v1/vms/snap-r/snapshot "{\"path\":\"$T/r2\",\"stop\":false}"
expect_api "a paused VM can be saved" 201 '"stopped":false'
run "$L" inspect snap-r
case "$OUT" in *'"snapshots": 2'*'"state": "paused"'*) pass "and stays paused" ;; *) fail "paused after the save" "$(describe)" ;; esac
run "$L" rm -f snap-r
curl_api POST /v1/vms/snap-full/snapshot "{\"path\":\"$T/x\"}"
expect_api "an exited VM cannot be saved: 409" 409 "only a running or paused VM can be saved"
curl_api POST /v1/vms/nosuch/snapshot "{\"path\":\"$T/x\"}"
expect_api "snapshot of an unknown VM: 404" 404 "no such VM"
curl_api POST /v1/vms/snap-full/snapshot '{"path":"relative"}'
expect_api "snapshot path must be absolute: 400" 400 "must be an absolute file path"
curl_api POST /v1/vms/snap-full/snapshot "{\"path\":\"$T/x\",\"bogus\":1}"
expect_api "snapshot request with an unknown field: 400" 400 "unknown field 'bogus'"
curl_api POST /v1/vms/snap-full/snapshot '{}'
expect_api "snapshot request without a path: 400" 400 "path: missing"
run "$L" run -d --name snap-s -m 64M "$G/sleep_ms.musl" 20000
run "$L" snapshot create snap-s "$T/nodir/x"
expect_error "snapshot into a missing directory: one line" 1 "$T/nodir/x.part"
run "$L" rm -f snap-s
curl_api POST '/v1/vms?start=1' "{\"restore\":\"$T/a\",\"app\":\"$C\"}"
expect_api "restore with an app: 400" 400 "app: not with restore"
curl_api POST '/v1/vms?start=1' "{\"restore\":\"$T/nonexistent\"}"
expect_api "restore of a missing snapshot: 404" 404 "No such file or directory"
head -c 64 "$T/a" >"$T/short"
curl_api POST '/v1/vms?start=1' "{\"restore\":\"$T/short\"}"
expect_api "restore of a truncated snapshot: 400" 400 "truncated"
curl_api POST '/v1/vms?start=1' "{\"restore\":\"/etc/hostname\"}"
expect_api "restore of a foreign file: 400" 400 "not a lightvm snapshot"
cp "$T/a" "$T/nomem"
run "$L" snapshot restore "$T/nomem"
expect_error "restore without its memory file: one line" 1 "nomem.mem: No such file or directory"
curl_api POST '/v1/vms?start=1' "{\"restore\":\"$T/a\",\"name\":\"snap-api\"}"
expect_api "restore through the API: 201" 201 '"id":'
run "$L" wait snap-api
expect "a restore through the API runs to the end" 0 "0"
