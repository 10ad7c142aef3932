#!/bin/bash
# Issue 16 from the command line: `lightvm run --save` / `--restore` as a
# user drives them — a counting program saved mid-run continues exactly,
# a snapshot restores more than once, a shell pipeline with child processes
# continues, and every bad snapshot or flag is one line and a non-zero exit.
# Usage: snapshot_cli_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
. "$(dirname "$0")/harness.sh"
harness_init snapshot "$@"

C=$G/counter.glibc
seq -f 'line%g' 1 50 >"$T/input.txt"

# --- The count continues where it stopped ---------------------------------------
# Saved 0.35 s into a ~0.8 s run: after the first count even on a loaded machine.
run "$L" run --fs "$T" "$C" 20 40 "$T/input.txt"
full=$OUT
run "$L" run --fs "$T" --save "$T/snap" --save-after 0.35 --save-stop "$C" 20 40 "$T/input.txt"
first=$OUT first_rc=$RC
run "$L" run --restore "$T/snap"
if [ "$first_rc" -eq 0 ] && [ "$RC" -eq 0 ] && [ -n "$first" ] && [ -n "$OUT" ] && [ "$first
$OUT" = "$full" ]; then
    pass "saved mid-run, the restored VM finishes the count exactly"
else
    fail "saved mid-run, the restored VM finishes the count exactly" "first '$first' (status $first_rc)" "$(describe)"
fi
second=$OUT
run "$L" run --restore "$T/snap"
expect "a snapshot restores again, with the same result" 0 "$second"

# A VM allowed two vCPUs that had started one is saved; restored, it keeps
# its limit of two (the snapshot's), and work for two starts the second.
run "$L" run --cpus 2 --save "$T/two" --save-after 0.3 --save-stop "$BUSYBOX" sh -c \
    'sleep 1; yes >/dev/null & yes >/dev/null & sleep 0.3; kill %1 %2; nproc; echo done'
run "$L" run --restore "$T/two" --stats
expect "restored from a --cpus 2 VM that had started one, it still may use two" 0 "2
done"
case "$ERR" in
    *"vcpus started             2"*) pass "and starts the second when it has work for it" ;;
    *) fail "and starts the second when it has work for it" "$(describe)" ;;
esac

# Both vCPUs busy (smpcount: two computing threads): saved mid-run, every
# vCPU is in the snapshot and two restores finish exactly as one run does.
S=$G/smpcount.glibc
run "$L" run --cpus 2 "$S" 30000
smp_full=$OUT
run "$L" run --cpus 2 --stats --save "$T/smp" --save-after 0.3 --save-stop "$S" 30000
smp_first=$OUT
case "$ERR" in
    *"vcpus started             2"*) pass "--cpus 2 with both vCPUs busy is saved" ;;
    *) fail "--cpus 2 with both vCPUs busy is saved" "$(describe)" ;;
esac
for clone in 1 2; do
    run "$L" run --restore "$T/smp"
    if [ "$RC" -eq 0 ] && [ "$smp_first" = "start" ] && [ "$smp_first
$OUT" = "$smp_full" ]; then
        pass "clone $clone of two busy vCPUs finishes exactly"
    else
        fail "clone $clone of two busy vCPUs finishes exactly" "first '$smp_first'" "$(describe)"
    fi
done
run "$L" run --restore "$T/smp" --cpus 1
expect_error "--restore with --cpus (the snapshot decides)" 2 "they come from the snapshot"
cp "$T/smp" "$T/smpbad"
cp --reflink=auto --sparse=always "$T/smp.mem" "$T/smpbad.mem"
printf '\xff' | dd of="$T/smpbad" bs=1 seek=1000 conv=notrunc status=none
run "$L" run --restore "$T/smpbad"
expect_error "a damaged two-vCPU snapshot" 125 "the file is corrupt"

# "Snapshot me here": a shell builds its state, writes the ready mark, then
# reads a request. --save-at-ready saves inside that write; every restore
# answers its own stdin from the state built before the mark. The shell's
# command substitution leaves a second task, so the read waits on the
# stdin's readiness (kNetPollStdin) in the restored VM too.
READY='x=$(seq 1000 | wc -l); echo 1 > /sys/devices/virtual/lightvm/ready; read line; echo "$x $line $(cat /sys/devices/virtual/lightvm/generation)"'
run "$L" run --save "$T/ready" --save-at-ready --save-stop "$BUSYBOX" sh -c "$READY"
expect "--save-at-ready saves at the mark, before the request is read" 0 ""
printf 'first\n' >"$T/req1"
printf 'second\n' >"$T/req2"
IN=$T/req1 run "$L" run --restore "$T/ready"
expect "a restore answers its own request from the state built before the mark" 0 "1000 first 1"
IN=$T/req2 run "$L" run --restore "$T/ready"
expect "and so does the next one" 0 "1000 second 1"
IN=$T/req1 run "$L" run "$BUSYBOX" sh -c "$READY"
expect "without --save-at-ready the mark changes nothing" 0 "1000 first 0"
run "$L" run --save-at-ready "$C" 1 1
expect_error "--save-at-ready without --save" 2 "needs --save PATH"
run "$L" run --save "$T/x" --save-at-ready --save-after 1 "$C" 1 1
expect_error "--save-at-ready with --save-after" 2 "not with --save-after"
run "$L" run --save "$T/never" --save-at-ready "$C" 1 1
expect "a program that never marks itself ready runs to its end" 0
if [ ! -s "$T/never" ]; then pass "and leaves no snapshot"; else fail "and leaves no snapshot" "$T/never has $(stat -c %s "$T/never") bytes"; fi

# The working set: one restore records the pages it touched (PATH.ws);
# --prefault then backs exactly those before the first instruction.
IN=$T/req1 run "$L" run --restore "$T/ready" --record-working-set
expect "--record-working-set: the restore runs as any other" 0 "1000 first 1"
if [ -s "$T/ready.ws" ]; then pass "and leaves PATH.ws"; else fail "and leaves PATH.ws" "$T/ready.ws is empty or missing"; fi
IN=$T/req2 run "$L" run --restore "$T/ready" --prefault --stats
if [ "$RC" -eq 0 ] && [ "$OUT" = "1000 second 1" ]; then pass "--prefault with a working set answers the same"; else fail "--prefault with a working set answers the same" "$(describe)"; fi
cp "$T/ready.ws" "$T/ws.good"
truncate -s 40 "$T/ready.ws"
IN=$T/req2 run "$L" run --restore "$T/ready" --prefault
expect_error "a damaged working set is refused, naming the file" 125 "ready.ws: truncated or oversized"
cp "$T/ws.good" "$T/ready.ws"
cp "$T/ws.good" "$T/snap.ws"
run "$L" run --restore "$T/snap" --prefault
expect_error "a working set of another snapshot is refused" 125 "recorded from another snapshot"
rm -f "$T/snap.ws"
run "$L" run --record-working-set "$C" 1 1
expect_error "--record-working-set without --restore" 2 "needs --restore PATH"

# A restored VM saved again, and restored again: the three parts are the whole.
run "$L" run --fs "$T" --save "$T/r1" --save-after 0.35 --save-stop "$C" 20 40 "$T/input.txt"
part1=$OUT
run "$L" run --restore "$T/r1" --save "$T/r2" --save-after 0.25 --save-stop
part2=$OUT part2_rc=$RC
run "$L" run --restore "$T/r2"
if [ "$part2_rc" -eq 0 ] && [ -n "$part2" ] && [ -n "$OUT" ] && [ "$part1
$part2
$OUT" = "$full" ]; then
    pass "a restored VM saved again continues exactly from the second save"
else
    fail "re-saving a restored VM" "part 1 '$part1'" "part 2 '$part2' (status $part2_rc)" "$(describe)"
fi
run "$L" run --restore "$T/r1" --save "$T/r1" --save-after 0.1
expect_error "--save over the snapshot being restored is refused" 2 "is the snapshot being restored"

# The restored guest still holds stdin it read ahead from the old stdin:
# those bytes are delivered, and never "given back" to the new stdin (a
# regular file the caller shares: the next reader continues where it was).
printf 'a1\na2\na3\n' >"$T/stdin_a"
printf 'b1\nb2\n' >"$T/stdin_b"
IN=$T/stdin_a run "$L" run --save "$T/st" --save-after 0.4 --save-stop "$BUSYBOX" sh -c 'read a; echo "got $a"; sleep 1; read b; echo "then $b"'
st_first=$OUT
(cd "$T" && { read -r _; timeout 20 "$L" run --restore "$T/st"; cat; } <"$T/stdin_b" >"$T/st_out" 2>&1)
if [ "$st_first" = "got a1" ] && [ "$(cat "$T/st_out")" = "$(printf 'then a2\nb2')" ]; then
    pass "stdin read ahead before the save is not given back to the new stdin"
else
    fail "stdin give-back after restore" "first '$st_first'" "then '$(cat "$T/st_out")'"
fi

# Only touched memory is in the memory file: a 1 GiB guest costs a few MiB.
run "$L" run --mem 1G --save "$T/big" --save-after 0.1 --save-stop "$C" 5 40
used_kib=$(du -k "$T/big.mem" | cut -f1)
apparent=$(stat -c %s "$T/big.mem")
if [ "$RC" -eq 0 ] && [ "$apparent" -eq $((1 << 30)) ] && [ "$used_kib" -lt 16384 ]; then
    pass "memory file is sparse (${used_kib} KiB on disk for --mem 1G)"
else
    fail "memory file is sparse" "status $RC, $used_kib KiB used, $apparent bytes"
fi
run "$L" run --restore "$T/big"
case "$OUT" in *"done 5 "*) [ "$RC" -eq 0 ] && pass "1 GiB guest restores" || fail "1 GiB guest restores" "$(describe)" ;;
    *) fail "1 GiB guest restores" "$(describe)" ;; esac

# A shell with a pipeline of child processes, saved while they run.
run "$L" run --save "$T/sh" --save-after 0.5 --save-stop "$BUSYBOX" sh -c \
    'i=0; while [ $i -lt 12 ]; do i=$((i+1)); echo "step $i" | cat; sleep 0.1; done; echo end'
sh_first=$OUT
run "$L" run --restore "$T/sh"
if [ -n "$sh_first" ] && [ "$sh_first
$OUT" = "$(printf 'step %s\n' $(seq 12); echo end)" ]; then
    pass "busybox sh pipeline continues after restore"
else
    fail "busybox sh pipeline continues after restore" "first '$sh_first'" "$(describe)"
fi

# A guest blocked reading the host's stdin when the save falls due: its read
# does not fail (EINTR); the save happens once the read returns.
(sleep 0.8; echo hello) | timeout 20 "$L" run --env COUNTER_MODE=stdin \
    --save "$T/in" --save-after 0.2 --save-stop "$C" 3 30 >"$T/in_first" 2>"$T/in_err"
in_rc=$?
run "$L" run --restore "$T/in"
if [ "$in_rc" -eq 0 ] && [ "$(cat "$T/in_first"; echo "$OUT")" = "$(printf 'read 6 bytes: hello\ncount 1 line=- mem=11400714819323198492 fpu=1.200000\ncount 2 line=- mem=15755400384260043853 fpu=1.440000\ncount 3 line=- mem=13064056694810536083 fpu=1.728000\ndone 3 13064056694810536083')" ]; then
    pass "a read of stdin in progress at the save neither fails nor is lost"
else
    fail "a read of stdin in progress at the save" "first run status $in_rc: '$(cat "$T/in_first" "$T/in_err")'" "$(describe)"
fi

# Saving without --save-stop: the original runs to its end as well.
run "$L" run --save "$T/cont" --save-after 0.1 "$C" 6 30
case "$OUT" in *"done 6 "*) [ -s "$T/cont" ] && pass "--save without --save-stop keeps the VM running" ||
    fail "--save without --save-stop keeps the VM running" "no state file" ;;
    *) fail "--save without --save-stop keeps the VM running" "$(describe)" ;; esac

# The guest ends before the save: nothing written, one line, the guest's status.
run "$L" run --save "$T/late" --save-after 30 "$G/exitcode.glibc" 3
if [ "$RC" -eq 3 ] && [ "$ERR_LINES" -eq 1 ] && grep -q "no snapshot written" "$T/err" && [ ! -s "$T/late" ]; then
    pass "a guest that ends before the save: one line, its own status, no snapshot"
else
    fail "a guest that ends before the save" "$(describe)"
fi

# --- Bad snapshots: one line, status 125 (127: no such file) -------------------
cp "$T/snap" "$T/corrupt"
printf 'X' | dd of="$T/corrupt" bs=1 seek=100 conv=notrunc 2>/dev/null
cp "$T/snap.mem" "$T/corrupt.mem"
run "$L" run --restore "$T/corrupt"
expect_error "corrupt state file" 125 "checksum mismatch"
head -c 64 "$T/snap" >"$T/short"
run "$L" run --restore "$T/short"
expect_error "truncated state file" 125 "truncated (64 of"
run "$L" run --restore /etc/hostname
expect_error "foreign file" 125 "not a lightvm snapshot (bad magic)"
run "$L" run --restore "$T/nonexistent"
expect_error "missing state file" 127 "No such file or directory"
cp "$T/snap" "$T/nomem"
run "$L" run --restore "$T/nomem"
expect_error "missing memory file" 125 "nomem.mem: No such file or directory"
cp "$T/cont" "$T/mixed"
cp "$T/big.mem" "$T/mixed.mem"
run "$L" run --restore "$T/mixed"
expect_error "memory file of another snapshot" 125 "not the snapshot's memory file"
run "$L" run --mem 1G --save "$T/big2" --save-after 0.1 --save-stop "$C" 5 40
cp "$T/big2" "$T/mixed2"
cp "$T/big.mem" "$T/mixed2.mem"
run "$L" run --restore "$T/mixed2"
expect_error "memory file of another snapshot, same size" 125 "belongs to another snapshot"
echo more >>"$T/input.txt"
run "$L" run --restore "$T/snap"
expect_error "an open file that changed" 125 "input.txt changed since the snapshot was taken"

# --- Bad flags -----------------------------------------------------------------
run "$L" run --save-after 1 "$C" 1 1
expect_error "--save-after without --save" 2 "needs --save PATH"
run "$L" run --save-stop "$C" 1 1
expect_error "--save-stop without --save" 2 "needs --save PATH"
run "$L" run --save "$T/x" --save-after soon "$C" 1 1
expect_error "--save-after junk" 2 "invalid number of seconds"
run "$L" run --restore "$T/snap" "$C"
expect_error "--restore with an APP" 2 "they come from the snapshot"
run "$L" run --restore "$T/snap" --mem 64M
expect_error "--restore with --mem" 2 "they come from the snapshot"
run "$L" run --net host --save "$T/net" --save-after 0.05 "$C" 5 30
expect_error "host sockets cannot be saved" 2 "cannot be saved"
run "$L" run --save "$T/nodir/x" "$C" 1 1
expect_error "--save into a missing directory" 125 "--save $T/nodir/x"

harness_finish
