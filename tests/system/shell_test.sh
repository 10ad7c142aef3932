#!/bin/bash
# Processes inside one VM (issue 9) as a user meets them: shell scripts run
# by Debian's busybox sh, bash-static and zsh-static with the host's / as
# the guest's read-only root. Each script runs natively and in lightvm in
# an empty writable directory; stdout and the exit status must be the same.
#   usage: shell_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
set -u
. "$(dirname "$0")/harness.sh"
harness_init shell "$@"
trap 'rm -rf "$T"' EXIT

W=$T/work
ENV=(PATH=/usr/bin:/bin LC_ALL=C TZ=UTC HOME=/tmp)
GUEST=("$L" run --rootfs /:ro --tmpfs /tmp --fs "$T" -w "$W")
for e in "${ENV[@]}"; do GUEST+=(--env "$e"); done

# same NAME SHELL SCRIPT: the script (a file in $T) run by SHELL in a fresh
# $W, natively and in lightvm.
same() {
    local name=$1 shell=$2 script=$3
    printf '%s\n' "$script" > "$T/script"
    rm -rf "$W" && mkdir -p "$W"
    # shellcheck disable=SC2086 # "$shell" may be "PROGRAM ARG"
    (cd "$W" && timeout -s KILL 60 env -i "${ENV[@]}" $shell "$T/script" < /dev/null > "$T/native.out" 2>"$T/native.err")
    local native_rc=$?
    rm -rf "$W" && mkdir -p "$W"
    # shellcheck disable=SC2086
    IN_DIR=$W run "${GUEST[@]}" $shell "$T/script"
    if [ "$RC" -ne "$native_rc" ]; then
        fail "$name" "status $RC in lightvm, $native_rc natively" "$(describe)"
    elif ! cmp -s "$T/native.out" "$T/out"; then
        fail "$name" "stdout differs from the native run:" "$(diff "$T/native.out" "$T/out" | head -8)"
    else
        pass "$name"
    fi
}

# Scripts that mean the same in every shell here (POSIX sh).
declare -A POSIX
POSIX[pipeline of 4 external commands]='seq 1 3000 | grep 7 | sort -rn | head -3; seq 1 500 | tr 0-9 a-j | wc -l'
POSIX[command substitution and subshells]='a=$(echo one; echo two | tr a-z A-Z); echo "$a"; (cd /; pwd); pwd | wc -c; echo $( (exit 3); echo $?)'
POSIX[background jobs and wait]='sleep 0.2 & p1=$!; (sleep 0.1; exit 4) & p2=$!; wait $p2; echo "second: $?"; wait $p1; echo "first: $?"; wait; echo all'
POSIX[here-documents]='x=world; cat <<EOT
hello $x
$(echo nested)
EOT
cat <<"RAW"
no $x here
RAW'
POSIX[exec redirections]='exec 3>out.txt; echo first >&3; echo second >&3; exec 3>&-; cat out.txt; exec 4<out.txt; read l <&4; echo "read: $l"; exec 4<&-; ls'
POSIX[set -e stops at the first failure]='set -e; echo before; false; echo never'
POSIX[trap EXIT and TERM]='trap "echo exiting" EXIT; trap "echo got TERM; exit 7" TERM; kill -TERM $$; echo not reached'
POSIX[xargs -P2 and find -exec]='mkdir -p d/e; for i in 1 2 3; do echo "line $i" > d/f$i.txt; done; echo deep > d/e/g.txt; seq 1 12 | xargs -P2 -n3 echo | sort; find d -name "*.txt" -exec wc -l {} \; | sort'
POSIX[tar -z runs gzip]='mkdir -p t; echo alpha > t/a; echo beta > t/b; tar -czf t.tgz t && tar -tzf t.tgz | sort && tar -xzOf t.tgz t/a t/b'
POSIX[timeout kills its child]='timeout 1 sleep 5; echo "timeout: $?"'
POSIX[SIGPIPE ends yes]='yes | head -2; yes abc | head -c 8; echo; echo "done"'
POSIX[300 external commands in a loop]='i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done; echo $i'
POSIX[exit status of a killed child]='sh -c "kill -9 \$\$"; echo "status $?"; sh -c "exit 42"; echo "status $?"'
POSIX[scripts with #! and PATH lookup]='printf "#!/bin/sh\necho from script \"\$@\"\nexit 5\n" > s.sh; chmod +x s.sh; ./s.sh a b; echo "rc $?"; PATH=$PWD:$PATH s.sh c; echo "rc $?"'

for sh in "/bin/busybox sh" /bin/bash-static /bin/zsh-static; do
    label=$(basename "$sh")
    for name in "${!POSIX[@]}"; do
        same "$label: $name" "$sh" "${POSIX[$name]}"
    done
done

# bash only.
same "bash: pipefail" /bin/bash-static 'set -o pipefail; false | true; echo "status $?"; true | true; echo "status $?"'
same "bash: kill %1 and job status" /bin/bash-static 'sleep 10 & kill %1; wait %1; echo "status $?"; jobs; echo end'
same "bash: trap INT" /bin/bash-static 'trap "echo caught INT" INT; kill -INT $$; echo after'
same "bash: set -m, a job stopped and continued" /bin/bash-static 'set -m; sleep 5 & p=$!; kill -STOP $p; sleep 0.2; jobs -l | sed "s/ *$p / PID /"; kill -CONT $p; sleep 0.2; jobs; kill $p; wait $p; echo "status $?"'
same "bash: suspend and resume a job with SIGTSTP" /bin/bash-static 'set -m; (sleep 0.3; echo child done) & kill -TSTP %1; sleep 0.1; jobs; fg %1 >/dev/null; echo "fg: $?"'
same "bash: process substitution" /bin/bash-static 'diff <(seq 1 5) <(seq 1 6); echo "diff: $?"; while read l; do echo "got $l"; done < <(printf "a\nb\n")'

# /proc/PID as scripts read it (issue 9 part 4): the same natively.
same "busybox sh: /proc/PID of a background job" "$BUSYBOX sh" 'sleep 5 & p=$!; sleep 0.2
read -r pid comm state ppid rest < /proc/$p/stat
echo "$comm $state parent-is-me=$([ "$ppid" = "$$" ] && echo yes)"
[ "$(busybox pgrep -P $$ -x sleep)" = "$p" ] && echo pgrep finds it
tr "\0" " " < /proc/$p/cmdline; echo
[ "$(readlink /proc/$p/cwd)" = "$(pwd -P)" ] && echo cwd link
kill $p; wait $p; echo "status $?"; [ -e /proc/$p ] || echo gone'

# busybox ps inside the VM sees the VM's processes only (no native
# comparison: the host has others).
run "$L" run --rootfs /:ro "$BUSYBOX" sh -c 'sleep 5 & sleep 0.2; ps -o pid,ppid,stat,comm; kill $!'
expect "busybox ps lists the VM's processes" 0 "PID   PPID  STAT COMMAND
    1     0 S    busybox
    2     1 S    sleep
    4     1 R    ps"

# A fork bomb held by --pids: EAGAIN at the limit, everybody exits, quickly.
run "$L" run --pids 50 "$G/forkbomb.musl"
expect "fork bomb under --pids 50" 0 "nproc soft 50 hard 50
processes at the end: 50, the first process's fork error: EAGAIN, EAGAIN seen 1, its children reaped 1"

# make -j2 (Debian's dynamically linked make) running shell recipes in parallel.
MAKEFILE='all: out/c.txt
	@cat out/c.txt
out/a.txt: | out
	@echo a > $@
out/b.txt: | out
	@seq 1 100 | busybox tail -n 3 > $@
out/c.txt: out/a.txt out/b.txt
	@cat $^ | sort > $@
out:
	@mkdir -p out
clean:
	@rm -rf out'
same "make -j2 with parallel recipes" /bin/bash-static "printf '%s\n' '$MAKEFILE' > Makefile; make -j2 --no-print-directory && make clean && ls"

harness_finish
