# shellcheck shell=bash
# Shared helpers of the guest benchmark scripts (sourced; needs $L, the
# lightvm binary, $RUNS and a scratch directory $T).
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
med() { printf '%s\n' "$@" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
exits() { awk '/ exits / {print $2; exit}' "$1"; }

# timed_row NAME N PROG RUN_OPTS ARGS...: PROG ARGS prints "MODE N us_per_op";
# it runs natively and with `lightvm run --stats RUN_OPTS` ($RUNS times
# each, alternating). Prints a table row: medians, ratio, exits per op
# (the run's exits less the final one, over N).
timed_row() {
    local name=$1 n=$2 prog=$3 opts=$4 tn=() tv=() ex=()
    shift 4
    for _ in $(seq "$RUNS"); do
        tn+=("$("$prog" "$@" | awk '{print $3}')")
        # shellcheck disable=SC2086 # opts is a word list
        tv+=("$("$L" run --stats $opts "$prog" "$@" 2>"$T/stats" | awk '{print $3}')")
        ex+=("$(exits "$T/stats")")
    done
    if [ -z "${tv[0]}" ]; then
        echo "| $name | $(med "${tn[@]}") us | failed: $(head -c 150 "$T/stats" | tr '\n' ' ') | | |"
        return
    fi
    local mn mv me
    mn=$(med "${tn[@]}"); mv=$(med "${tv[@]}"); me=$(med "${ex[@]}")
    echo "| $name | $mn us | $mv us | $(ratio "$mv" "$mn") | $(awk -v e="$me" -v n="$n" 'BEGIN {printf "%.3f", (e - 1) / n}') |"
}

p90() { sort -g | awk '{a[NR]=$1} END {i=int(NR*0.9+0.5); if (i<1) i=1; print a[i]}'; }

# runc_vs_lightvm WHAT LV RC: the table of the OCI benchmarks, median and
# p90 of the arrays named LV (lightvm-oci) and RC (runc), in µs, and ratios.
runc_vs_lightvm() {
    local what=$1
    local -n lv_=$2 rc_=$3
    local mlv mrc plv prc
    mlv=$(printf '%s\n' "${lv_[@]}" | median); mrc=$(printf '%s\n' "${rc_[@]}" | median)
    plv=$(printf '%s\n' "${lv_[@]}" | p90); prc=$(printf '%s\n' "${rc_[@]}" | p90)
    echo "| $what (${#lv_[@]} runs each) | runc | lightvm-oci | ratio |"
    echo "|---|---:|---:|---:|"
    echo "| median µs | $mrc | $mlv | $(ratio "$mlv" "$mrc") |"
    echo "| p90 µs | $prc | $plv | $(ratio "$plv" "$prc") |"
}
