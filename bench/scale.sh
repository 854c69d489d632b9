#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/scale.sh: many koker containers at once (issue 21.4).  Each round starts
# BENCH_SCALE_N (1000) detached `sleep 300` containers one after another, compares the
# start time of the last ones with the first ones', times koker-ps and koker-inspect with
# them all running, removes them with one `koker-rm -f`, checks that nothing is left, then
# does the same with BENCH_SCALE_PAR (50) containers started at once.  The rounds run with
# --network none, then again on the bridge.  Markdown tables on stdout, progress on stderr.
# See bench/README.md.
#
#   BENCH_SCALE_ROUNDS=3   rounds per network; every figure is the median over them
#   BENCH_SCALE_N=1000     containers started one after another
#   BENCH_SCALE_PAR=50     containers started at once
#   BENCH_SCALE_NETS="none bridge"   the networks, each its own rounds and table
#   BENCH_SCALE_SUBNET=10.198.16.0/20   the bench bridge's subnet: room for 4093 containers
#   BENCH_RUNS=20          timed koker-ps and koker-inspect calls per round
#   BENCH_SCRATCH=DIR      put the store in DIR instead of a fresh loop-mounted ext4
#   BENCH_KEEP=1           keep the temp dir (logs)

# `make bench` may run this with sh; the rest needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

ROUNDS=${BENCH_SCALE_ROUNDS:-3}
N=${BENCH_SCALE_N:-1000}
PAR=${BENCH_SCALE_PAR:-50}
RUNS=${BENCH_RUNS:-20}
read -r -a NETS <<<"${BENCH_SCALE_NETS:-none bridge}"
# lib.sh's /24 for the other parts holds 253 containers; a Linux bridge takes 1023 ports.
export KOKER_SUBNET=${BENCH_SCALE_SUBNET:-10.198.16.0/20}
# How many starts at each end of a round are compared: the median of the last EDGE against
# the median of the first EDGE (one start alone is too noisy to compare).
EDGE=$((N >= 500 ? 50 : (N + 9) / 10))

for v in ROUNDS N PAR RUNS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive number, not '${!v}'"
done
for v in "${NETS[@]}"; do
    [[ $v == none || $v == bridge ]] || bench_die "BENCH_SCALE_NETS: none or bridge, not '$v'"
done

# ---------------------------------------------------------------- set-up and clean-up

setup() {
    STORE=$BENCH_SCRATCH/koker
    IMG=$(bench_koker_image "$BENCH_SCRATCH/rootfs" "$STORE")
    # The store's first run builds its seccomp cache: not part of any round.
    koker --rm --network none "$IMG" true >/dev/null || bench_die "koker-run failed"
}

koker() {
    "$KOKER_BIN/koker-run" --root "$STORE" "$@" </dev/null
}

# Whatever a failed round left running.
remove_all() {
    local all
    [[ -n ${STORE:-} && -d $STORE/containers ]] || return 0
    mapfile -t all < <(ls "$STORE/containers")
    ((${#all[@]} == 0)) || "$KOKER_BIN/koker-rm" -q -f --root "$STORE" "${all[@]}" >/dev/null 2>&1
    return 0
}

mem_available_kb() {
    awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo
}

# MEM_AVAILABLE: MemAvailable in KiB, read with builtins only (no fork inside a timed loop).
mem_available_now() {
    local k v _
    while read -r k v _; do
        [[ $k == MemAvailable: ]] && break
    done </proc/meminfo
    MEM_AVAILABLE=$v
}

# container_mem FILE: for the containers FILE lists, in KiB per container, `A B C`: the
# median RssAnon of their supervisors, the mean Pss of their supervisors, and the mean memory
# charged to their memory cgroups (v1 memory.usage_in_bytes or v2 memory.current).
container_mem() {
    local id pid anon=() pss=0 cg=0 n=0 f ids pairs
    mapfile -t ids <"$1"
    pairs=$("$KOKER_BIN/koker-inspect" -q --root "$STORE" --type container "${ids[@]}" |
        jq -r '.[] | "\(.Id) \(.State.SupervisorPid)"')
    while read -r id pid; do
        [[ -r /proc/$pid/smaps_rollup ]] || continue
        anon+=("$(status_kb "$pid" RssAnon)")
        pss=$((pss + $(smaps_kb "$pid" Pss)))
        for f in /sys/fs/cgroup/memory/koker/"$id"/memory.usage_in_bytes /sys/fs/cgroup/koker/"$id"/memory.current; do
            [[ -r $f ]] && cg=$((cg + $(<"$f") / 1024))
        done
        n=$((n + 1))
    done <<<"$pairs"
    ((n)) || { echo "0 0 0"; return; }
    printf '%s %s %s\n' "$(bench_median "${anon[@]}")" $((pss / n)) $((cg / n))
}

# leftovers FILE: what the containers whose IDs FILE lists left after their removal, or none.
# A veth goes with its container's network namespace, which the kernel tears down in a work
# queue after the last process is gone (koker does not delete it itself: that would cost an
# RCU grace period per exit, lib/net/net.cpp): the kernel gets up to 2 s to finish.
leftovers() {
    local idfile=$1 id n_cg=0 n_veth n_mnt n_dir n_proc=0 out=() links p try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        n_veth=0
        links=$(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1)
        while read -r id; do
            [[ -n $id ]] || continue
            grep -qxF "veth${id:0:11}" <<<"$links" && ((n_veth += 1))
        done <"$idfile"
        ((n_veth)) || break
        sleep 0.2
    done
    while read -r id; do
        [[ -n $id ]] || continue
        for p in /sys/fs/cgroup/*/koker/"$id" /sys/fs/cgroup/koker/"$id"; do
            [[ -d $p ]] && ((n_cg += 1))
        done
    done <"$idfile"
    n_mnt=$(findmnt -rn -o TARGET,SOURCE,OPTIONS | grep -cF "$STORE/" || true)
    n_dir=$(find "$STORE/containers" -mindepth 1 -maxdepth 1 | wc -l)
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "--root $STORE " && ((n_proc += 1))
    done
    ((n_cg)) && out+=("$n_cg cgroup dirs")
    ((n_veth)) && out+=("$n_veth veths")
    ((n_mnt)) && out+=("$n_mnt mounts")
    ((n_dir)) && out+=("$n_dir container dirs")
    ((n_proc)) && out+=("$n_proc koker processes")
    if ((${#out[@]})); then
        local IFS=,
        printf '**%s**\n' "${out[*]}"
    else
        echo none
    fi
}

# ---------------------------------------------------------------- one round

# round R: sets the globals r_*[R] (read through namerefs by med_of and all_of).
ROUND_VARS="rmerr prmerr anon pss cg seq each first last fail mem ps psa insp name rm left par pfail pmem prm pleft procs"
declare -A r_rmerr r_prmerr r_anon r_pss r_cg r_seq r_each r_first r_last r_fail r_mem r_ps r_psa r_insp r_name r_rm r_left r_par r_pfail r_pmem r_prm r_pleft r_procs
# shellcheck disable=SC2034
round() {
    local r=$1
    local idfile=$BENCH_WORK/ids-$r pids=() i t0 t1 id fail=0 m0 m1 s=() running
    local step=$(((N + 19) / 20))
    : >"$idfile"
    bench_log "round $r: $N containers one after another, --network $NET"
    m0=$(mem_available_kb)
    bench_data "scale-mem$DATA_SUFFIX" "$r 0 0"
    t0=${EPOCHREALTIME/[.,]/}
    for ((i = 0; i < N; i++)); do
        if bench_time "$BENCH_WORK/run.log" koker -d --network "$NET" "$IMG" sleep 300; then
            head -n 1 "$BENCH_WORK/run.log" >>"$idfile"
            s+=("$BENCH_NS")
            # For bench/charts.sh: ROUND RUNNING NS, the start of the RUNNING-th container.
            bench_data "scale-starts$DATA_SUFFIX" "$r $((${#s[@]})) $BENCH_NS"
        else
            ((fail += 1))
        fi
        # ROUND RUNNING KB: MemAvailable's drop since the round began, 20 times a round
        # (untimed: between two starts).
        if [[ -n ${BENCH_DATA:-} ]] && (((i + 1) % step == 0 || i + 1 == N)); then
            mem_available_now
            bench_data "scale-mem$DATA_SUFFIX" "$r ${#s[@]} $((m0 - MEM_AVAILABLE))"
        fi
    done
    t1=${EPOCHREALTIME/[.,]/}
    r_seq[$r]=$(((t1 - t0) * 1000))
    r_each[$r]=$(bench_median "${s[@]}")
    local edge=$((${#s[@]} < EDGE ? ${#s[@]} : EDGE))
    r_first[$r]=$(bench_median "${s[@]:0:edge}")
    r_last[$r]=$(bench_median "${s[@]:${#s[@]}-edge}")
    r_fail[$r]=$fail
    sleep 1 # let the supervisors settle
    m1=$(mem_available_kb)
    r_mem[$r]=$(((m0 - m1) / N))
    read -r m0 m1 i < <(container_mem "$idfile")
    r_anon[$r]=$m0 r_pss[$r]=$m1 r_cg[$r]=$i
    r_procs[$r]=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
    running=$("$KOKER_BIN/koker-ps" -q --root "$STORE" | wc -l)
    if ((running != N - fail)); then
        bench_log "round $r: koker-ps lists $running running containers, not $((N - fail))"
        r_fail[$r]=$((N - running > fail ? N - running : fail))
    fi

    bench_log "round $r: koker-ps and koker-inspect with $running containers"
    id=$(sed -n "$((N / 2))p" "$idfile")
    local name
    name=$("$KOKER_BIN/koker-inspect" -q --root "$STORE" --type container "$id" | jq -r '.[0].Name | ltrimstr("/")')
    r_ps[$r]=$(bench_median_of "$RUNS" "$BENCH_WORK/ps.log" "$KOKER_BIN/koker-ps" --root "$STORE")
    r_psa[$r]=$(bench_median_of "$RUNS" "$BENCH_WORK/ps.log" "$KOKER_BIN/koker-ps" -a --root "$STORE")
    r_insp[$r]=$(bench_median_of "$RUNS" "$BENCH_WORK/inspect.log" "$KOKER_BIN/koker-inspect" --root "$STORE" "$id")
    r_name[$r]=$(bench_median_of "$RUNS" "$BENCH_WORK/inspect.log" "$KOKER_BIN/koker-inspect" --root "$STORE" "$name")

    bench_log "round $r: koker-rm -f of all $running"
    remove_timed "$idfile"
    r_rm[$r]=$RM_NS r_rmerr[$r]=$RM_ERR
    r_left[$r]=$(leftovers "$idfile")

    bench_log "round $r: $PAR containers at once"
    : >"$idfile"
    m0=$(mem_available_kb)
    t0=${EPOCHREALTIME/[.,]/}
    for ((i = 0; i < PAR; i++)); do
        koker -d --network "$NET" "$IMG" sleep 300 >"$BENCH_WORK/par-$i.log" 2>&1 &
        pids+=($!)
    done
    fail=0
    for ((i = 0; i < PAR; i++)); do
        if wait "${pids[i]}"; then
            head -n 1 "$BENCH_WORK/par-$i.log" >>"$idfile"
        else
            ((fail += 1))
            bench_log "parallel koker-run failed: $(cat "$BENCH_WORK/par-$i.log")"
        fi
    done
    t1=${EPOCHREALTIME/[.,]/}
    r_par[$r]=$(((t1 - t0) * 1000))
    sleep 1
    m1=$(mem_available_kb)
    r_pmem[$r]=$(((m0 - m1) / PAR))
    running=$("$KOKER_BIN/koker-ps" -q --root "$STORE" | wc -l)
    # A start that said it worked but whose container is not running counts as failed too.
    r_pfail[$r]=$((PAR - running > fail ? PAR - running : fail))
    remove_timed "$idfile"
    r_prm[$r]=$RM_NS r_prmerr[$r]=$RM_ERR
    r_pleft[$r]=$(leftovers "$idfile")
    bench_log "round $r: $(seconds "${r_seq[$r]}") for $N ($fail failed), ps $(bench_ms "${r_ps[$r]}") ms, rm $(seconds "${r_rm[$r]}"), left: ${r_left[$r]}; $PAR at once $(seconds "${r_par[$r]}"), left: ${r_pleft[$r]}"
}

# remove_timed FILE: one timed `koker-rm -f` of the containers FILE lists; sets RM_NS and
# RM_ERR (none, or koker-rm's error).  After an error, what is left is removed untimed.
remove_timed() {
    local ids t0 t1
    mapfile -t ids <"$1"
    RM_ERR=none
    ((${#ids[@]})) || { RM_NS=0; return 0; }
    t0=${EPOCHREALTIME/[.,]/}
    if ! "$KOKER_BIN/koker-rm" -q -f --root "$STORE" "${ids[@]}" >"$BENCH_WORK/rm.log" 2>&1 </dev/null; then
        RM_ERR=$(grep -m 1 -v '^[0-9a-f]\{64\}$' "$BENCH_WORK/rm.log" || echo "exit status non-zero")
        bench_log "koker-rm -f failed: $RM_ERR; removing the rest"
        remove_all
    fi
    t1=${EPOCHREALTIME/[.,]/}
    RM_NS=$(((t1 - t0) * 1000))
}

seconds() {
    awk -v ns="$1" 'BEGIN { printf "%.2f s\n", ns / 1e9 }'
}

# med_of ARRAY: the median of the values of the associative array ARRAY.
med_of() {
    local -n a=$1
    bench_median "${a[@]}"
}

# all_of ARRAY: the values of ARRAY, round by round, joined by ", ".
all_of() {
    local -n a=$1
    local r out=()
    for ((r = 1; r <= ROUNDS; r++)); do out+=("${a[$r]}"); done
    local IFS=';'
    printf '%s\n' "${out[*]}" | sed 's/;/, /g'
}

# rm_errors: none, or how many of the removals failed and the first error.
rm_errors() {
    local r e n=0 first=
    for ((r = 1; r <= ROUNDS; r++)); do
        for e in "${r_rmerr[$r]}" "${r_prmerr[$r]}"; do
            [[ $e == none ]] && continue
            n=$((n + 1))
            [[ -n $first ]] || first=$e
        done
    done
    if ((n == 0)); then echo none; else echo "**$n of $((2 * ROUNDS)) failed**: $first"; fi
}

# reset_rounds: empty every r_* array before a network's rounds.
reset_rounds() {
    local v
    for v in $ROUND_VARS; do
        unset "r_$v"
        declare -gA "r_$v=()"
    done
}

# growth: the median over the rounds of (last EDGE starts' median / first EDGE's), "1.07".
growth() {
    local r g=()
    for ((r = 1; r <= ROUNDS; r++)); do
        g+=("$(awk -v a="${r_last[$r]}" -v b="${r_first[$r]}" 'BEGIN { printf "%d\n", b ? 1000 * a / b : 0 }')")
    done
    awk -v m="$(bench_median "${g[@]}")" 'BEGIN { printf "%.2f\n", m / 1000 }'
}

# ---------------------------------------------------------------- main

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (namespaces, cgroups, mounts)"
    bench_deps busybox-static jq e2fsprogs mount iproute2
    local t
    for t in koker-run koker-ps koker-inspect koker-rm koker-pull koker-net; do
        [[ -x $BENCH_TOP/bin/$t ]] || bench_die "no $BENCH_TOP/bin/$t: run make all"
    done
    bench_workdir scale
    bench_cgroups_guard
    bench_scratch 4G
    # Before remove_all: the exit steps run last first, so the containers go before the bridge.
    [[ " ${NETS[*]} " != *" bridge "* ]] || bench_net_guard
    bench_on_exit remove_all
    setup
    KOKER_NET_STORE=$STORE

    local r k
    for NET in "${NETS[@]}"; do
        # none keeps the keys all.sh has always read; the bridge's are scale.bridge.*
        if [[ $NET == none ]]; then KEY=scale DATA_SUFFIX=; else KEY=scale.$NET DATA_SUFFIX=-$NET; fi
        reset_rounds
        for ((r = 1; r <= ROUNDS; r++)); do round "$r"; done
        for k in seq each first last fail mem anon pss cg ps psa insp name rm par pfail pmem prm; do
            bench_summary "$KEY.$k" "$(med_of "r_$k")"
        done
        bench_summary "$KEY.growth" "$(growth)"
        bench_summary "$KEY.left" "$(all_of r_left)"
        bench_summary "$KEY.pleft" "$(all_of r_pleft)"
        bench_summary "$KEY.rmerr" "$(rm_errors)"
        report
    done
}

# verdict_ms NS LIMIT_MS: met if NS is under LIMIT_MS milliseconds, else **MISSED**.
verdict_ms() {
    if (($1 < $2 * 1000000)); then echo met; else echo "**MISSED**"; fi
}

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local v_fail v_growth fails=0 f g
    for f in "${r_fail[@]}" "${r_pfail[@]}"; do fails=$((fails + f)); done
    if ((fails == 0)); then v_fail=met; else v_fail="**MISSED**"; fi
    g=$(growth)
    if awk -v g="$g" -v t="$TARGET_SCALE_GROWTH" 'BEGIN { exit !(g <= t) }'; then v_growth=met; else v_growth="**MISSED**"; fi

    printf '## %s containers, `--network %s`\n\n' "$N" "$NET"
    printf -- '- %s rounds; each starts %s `koker-run -d --network %s IMG sleep 300` one after another, times `koker-ps` and `koker-inspect` (%s calls each) with them running, removes them with one `koker-rm -f ID...`, then starts %s at once (background jobs) and removes them\n' \
        "$ROUNDS" "$N" "$NET" "$RUNS" "$PAR"
    [[ $NET == none ]] || printf -- '- the bridge: %s, %s (one port and one veth a container)\n' "$KOKER_BRIDGE" "$KOKER_SUBNET"
    printf -- '- every figure is the median over the rounds (the %s sequential starts took %s s)\n' \
        "$N" "$(all_of r_seq | awk -F', ' '{ for (i = 1; i <= NF; i++) printf "%s%.2f", (i > 1 ? ", " : ""), $i / 1e9 }')"
    printf -- '- growth: the median start time of the last %s containers over that of the first %s, in each round\n' "$EDGE" "$EDGE"
    printf -- '- memory with %s running: the supervisors'"'"' RssAnon (median) and Pss (mean), the memory charged to the containers'"'"' memory cgroups (mean: the `sleep`, its page tables and kernel objects), and the drop of MemAvailable per container (everything, the kernel'"'"'s part included, but noisy: other work on the host moves it too); processes on the host then: %s\n' \
        "$N" "$(med_of r_procs)"
    printf -- '- left behind after the removal: cgroup dirs /sys/fs/cgroup/*/koker/ID, veths veth+ID (2 s after: the kernel ends a network namespace in a work queue), mounts naming the store, container dirs, processes running koker on the store\n'
    bench_machine
    printf '\n| what | median | |\n'
    printf '|---|---:|---|\n'
    printf '| %s × `koker-run -d`, one after another | %s | %s ms each; failures in each round: %s (target: none: %s) |\n' \
        "$N" "$(seconds "$(med_of r_seq)")" "$(bench_ms "$(med_of r_each)")" "$(all_of r_fail)" "$v_fail"
    printf '| start of the last %s against the first %s | %s ms / %s ms | %s (target ≤ %s: %s) |\n' \
        "$EDGE" "$EDGE" "$(bench_ms "$(med_of r_last)")" "$(bench_ms "$(med_of r_first)")" "$g" "$TARGET_SCALE_GROWTH" "$v_growth"
    printf '| memory per running container: supervisor RssAnon / Pss, cgroup charge, MemAvailable drop / %s | %s / %s / %s / %s KiB | |\n' \
        "$N" "$(med_of r_anon)" "$(med_of r_pss)" "$(med_of r_cg)" "$(med_of r_mem)"
    printf '| `koker-ps` with %s running | %s ms | target < %s ms: %s |\n' "$N" "$(bench_ms "$(med_of r_ps)")" "$TARGET_PS_MS" "$(verdict_ms "$(med_of r_ps)" "$TARGET_PS_MS")"
    printf '| `koker-ps -a` with %s running | %s ms | |\n' "$N" "$(bench_ms "$(med_of r_psa)")"
    printf '| `koker-inspect ID` with %s running | %s ms | |\n' "$N" "$(bench_ms "$(med_of r_insp)")"
    printf '| `koker-inspect NAME` with %s running | %s ms | target < %s ms: %s |\n' "$N" "$(bench_ms "$(med_of r_name)")" "$TARGET_INSPECT_MS" "$(verdict_ms "$(med_of r_name)" "$TARGET_INSPECT_MS")"
    printf '| `koker-rm -f` of all %s | %s | left behind: %s |\n' "$N" "$(seconds "$(med_of r_rm)")" "$(all_of r_left)"
    printf '| `koker-rm -f` errors (the rest was then removed by a second call) | %s | |\n' "$(rm_errors)"
    printf '| %s × `koker-run -d` at once | %s | failures in each round: %s |\n' "$PAR" "$(seconds "$(med_of r_par)")" "$(all_of r_pfail)"
    printf '| memory per running container (MemAvailable drop / %s) | %s KiB | |\n' "$PAR" "$(med_of r_pmem)"
    printf '| `koker-rm -f` of all %s | %s | left behind: %s |\n\n' "$PAR" "$(seconds "$(med_of r_prm)")" "$(all_of r_pleft)"
}

main "$@"
