#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/exec.sh: `exec true` into a running busybox container with koker-exec, runc exec and
# podman exec, and the resident memory of what keeps a detached container company: koker's
# supervisor (`koker-run -d`) against podman's conmon (`podman run -d`); markdown tables on
# stdout, progress on stderr.  See bench/README.md.
#
#   BENCH_RUNS=20          timed execs per tool, after BENCH_WARMUP=3 untimed ones
#   BENCH_MEM_N=5          detached containers per tool whose monitor's memory is read
#   BENCH_SCRATCH=DIR      put the stores in DIR instead of a fresh loop-mounted ext4
#   BENCH_KEEP=1           keep the temp dir (logs)

# `make bench` may run this with sh; the rest needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

RUNS=${BENCH_RUNS:-20}
WARMUP=${BENCH_WARMUP:-3}
MEM_N=${BENCH_MEM_N:-5}
TOOLS=(koker runc podman)

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $WARMUP =~ ^[0-9]+$ ]] || bench_die "BENCH_WARMUP must be a number, not '$WARMUP'"
[[ $MEM_N =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_MEM_N must be a positive number, not '$MEM_N'"

KOKER_IDS=()
PODMAN_IDS=()
RUNC_ID=koker-bench-$$-exec

# ---------------------------------------------------------------- set-up and clean-up

setup() {
    local rootfs=$BENCH_SCRATCH/rootfs
    KOKER_STORE=$BENCH_SCRATCH/koker
    IMG=$(bench_koker_image "$rootfs" "$KOKER_STORE")

    RUNC_ROOT=$BENCH_WORK/runc
    bench_runc_bundle "$BENCH_SCRATCH/bundle" "$rootfs" sleep 300

    bench_podman "$BENCH_SCRATCH/podman"
    tar -C "$rootfs" -cf - . | "${PODMAN[@]}" import -q - localhost/bench/busybox:latest >/dev/null
}

remove_containers() {
    if ((${#KOKER_IDS[@]})); then
        "$KOKER_BIN/koker-rm" -q -f --root "$KOKER_STORE" "${KOKER_IDS[@]}" >/dev/null 2>&1
    fi
    if [[ -n ${BENCH_SCRATCH:-} && -d $BENCH_SCRATCH/podman ]]; then
        "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
        bench_umount_under "$BENCH_SCRATCH/podman"
    fi
    [[ -d ${RUNC_ROOT:-} ]] && runc --root "$RUNC_ROOT" delete -f "$RUNC_ID" >/dev/null 2>&1
    return 0
}

# Detached `sleep 300` containers: MEM_N of koker and podman, one of runc (no monitor).  The
# first koker container of the fresh store is started alone first: its run builds the store's
# seccomp cache, and its supervisor is measured apart (COLD_SUPERVISOR).  podman gets an
# untimed run first too.
start_containers() {
    local i id
    bench_log "first container of the fresh koker store"
    id=$("$KOKER_BIN/koker-run" -d --root "$KOKER_STORE" --network none "$IMG" sleep 300 </dev/null) ||
        bench_die "koker-run -d failed"
    KOKER_IDS+=("$id")
    COLD_SUPERVISOR=$("$KOKER_BIN/koker-inspect" -q --root "$KOKER_STORE" --type container "$id" |
        jq -r '.[].State.SupervisorPid')
    "${PODMAN[@]}" run --rm --pull never --network none --runtime runc --ulimit nofile=1024:1024 \
        --ulimit nproc=1000:1000 localhost/bench/busybox:latest true </dev/null >/dev/null ||
        bench_die "podman run failed"
    bench_log "starting $MEM_N detached containers each with koker-run and podman, one with runc"
    for ((i = 0; i < MEM_N; i++)); do
        id=$("$KOKER_BIN/koker-run" -d --root "$KOKER_STORE" --network none "$IMG" sleep 300 </dev/null) ||
            bench_die "koker-run -d failed"
        KOKER_IDS+=("$id")
        id=$("${PODMAN[@]}" run -d --pull never --network none --runtime runc \
            --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 localhost/bench/busybox:latest \
            sleep 300 </dev/null) || bench_die "podman run -d failed"
        PODMAN_IDS+=("$id")
    done
    runc --root "$RUNC_ROOT" run -d --bundle "$BENCH_SCRATCH/bundle" "$RUNC_ID" \
        </dev/null >"$BENCH_WORK/runc-run.log" 2>&1 || bench_die "runc run -d failed: $(cat "$BENCH_WORK/runc-run.log")"
}

# ---------------------------------------------------------------- exec

exec_koker() {
    bench_time "$BENCH_WORK/koker.log" "$KOKER_BIN/koker-exec" --root "$KOKER_STORE" "${KOKER_IDS[0]}" true
}

exec_runc() {
    bench_time "$BENCH_WORK/runc.log" runc --root "$RUNC_ROOT" exec "$RUNC_ID" true
}

exec_podman() {
    bench_time "$BENCH_WORK/podman.log" "${PODMAN[@]}" exec "${PODMAN_IDS[0]}" true
}

# ---------------------------------------------------------------- memory

# monitor_pids TOOL: koker's supervisors or podman's conmons, one pid a line.
monitor_pids() {
    local id
    case $1 in
        koker)
            "$KOKER_BIN/koker-inspect" -q --root "$BENCH_SCRATCH/koker" --type container "${KOKER_IDS[@]}" |
                jq -r '.[].State.SupervisorPid'
            ;;
        podman)
            for id in "${PODMAN_IDS[@]}"; do
                "${PODMAN[@]}" inspect --format '{{.State.ConmonPid}}' "$id"
            done
            ;;
    esac
}

MEM_FIELDS=(VmRSS RssAnon Pss Private_Dirty Private_Clean Shared_Clean)
# measure_memory: the medians of MEM_FIELDS over each tool's monitors, in mem[TOOL.FIELD] (kB).
declare -A mem=() cpu=()
measure_memory() {
    local tool pid f
    local -A s
    for tool in koker podman; do
        s=()
        for pid in $(monitor_pids "$tool"); do
            [[ $pid == "$COLD_SUPERVISOR" ]] && continue
            [[ $pid =~ ^[1-9][0-9]*$ && -r /proc/$pid/smaps_rollup ]] || bench_die "no monitor process for $tool ($pid)"
            for f in VmRSS RssAnon; do s[$f]+=" $(status_kb "$pid" "$f")"; done
            for f in Pss Private_Dirty Private_Clean Shared_Clean; do s[$f]+=" $(smaps_kb "$pid" "$f")"; done
            [[ $tool == koker ]] && KOKER_SUPERVISOR=$pid
        done
        for f in "${MEM_FIELDS[@]}"; do
            # shellcheck disable=SC2086 # the samples are words
            mem[$tool.$f]=$(bench_median ${s[$f]})
            bench_summary "mem.$tool.$f" "${mem[$tool.$f]}"
        done
    done
    for f in VmRSS RssAnon; do mem[cold.$f]=$(status_kb "$COLD_SUPERVISOR" "$f"); done
    for f in Pss Private_Dirty Private_Clean Shared_Clean; do mem[cold.$f]=$(smaps_kb "$COLD_SUPERVISOR" "$f"); done
    bench_summary mem.cold.RssAnon "${mem[cold.RssAnon]}"
    # Where the supervisor's private memory is: its mappings, largest first.
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = NF >= 6 ? $6 : "[anon]" }
        $1 == "Private_Dirty:" { pd[name] += $2 }
        END { for (n in pd) if (pd[n] > 0) printf "%d %s\n", pd[n], n }' \
        "/proc/$KOKER_SUPERVISOR/smaps" | sort -rn | head -n 8 >"$BENCH_WORK/supervisor-map"
    THREADS=$(status_kb "$KOKER_SUPERVISOR" Threads 2>/dev/null || awk '$1 == "Threads:" { print $2 }' "/proc/$KOKER_SUPERVISOR/status")
}

kib() {
    printf '%s KiB\n' "$1"
}

# ---------------------------------------------------------------- main

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (namespaces, cgroups, mounts)"
    bench_deps runc podman conmon busybox-static jq e2fsprogs mount
    local t
    for t in koker-run koker-exec koker-inspect koker-rm koker-pull; do
        [[ -x $BENCH_TOP/bin/$t ]] || bench_die "no $BENCH_TOP/bin/$t: run make all"
    done

    bench_workdir exec
    bench_cgroups_guard
    bench_scratch 1G
    bench_net_guard # podman makes /run/containers/networks even for --network none
    bench_on_exit remove_containers
    setup
    start_containers
    measure_memory

    local tool i
    local -A samples=() cpus=()
    bench_log "exec: $WARMUP warm-up and $RUNS timed runs each"
    for ((i = 1; i <= WARMUP; i++)); do
        for tool in "${TOOLS[@]}"; do "exec_$tool"; done
    done
    for ((i = 1; i <= RUNS; i++)); do
        for tool in "${TOOLS[@]}"; do
            "exec_$tool"
            samples[$tool]+=" $BENCH_NS"
            cpus[$tool]+=" $BENCH_CPU_NS"
        done
    done
    bench_tool_stats exec "${TOOLS[@]}"
    report
}

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local v_exec v_rss v_anon k_rss=${mem[koker.VmRSS]} c_rss=${mem[podman.VmRSS]}
    local k_anon=${mem[koker.RssAnon]} k_dirty=${mem[koker.Private_Dirty]}
    if ((med[koker] <= TARGET_EXEC_MS * 1000000)); then v_exec=met; else v_exec="**MISSED**"; fi
    if ((k_rss <= c_rss)); then v_rss=met; else v_rss="**MISSED**"; fi
    if ((k_anon < TARGET_PRIVATE_KB && k_dirty < TARGET_PRIVATE_KB)); then
        v_anon=met
    else
        v_anon="**MISSED**"
    fi

    printf '## `exec true` into a running container\n\n'
    printf -- '- the container runs `sleep 300` in the busybox image, detached: `koker-run -d --network none`, `runc run -d` (bundle from `runc spec`), `podman run -d --network none --runtime runc`\n'
    printf -- '- `koker-exec ID true`, `runc exec ID true`, `podman exec ID true`; %s timed runs per tool after %s warm-up runs, round-robin; median\n' "$RUNS" "$WARMUP"
    bench_machine
    printf -- '- CPU: user + system time of the command and of the processes it waited for (getrusage of the children, 1 ms resolution), median; conmon is not among them\n'
    printf '\n| command | median | min | max | CPU | |\n'
    printf '|---|---:|---:|---:|---:|---|\n'
    printf '| koker-exec | %s ms | %s ms | %s ms | %s ms | target ≤ %s ms: %s |\n' "$(bench_ms "${med[koker]}")" \
        "$(bench_ms "${min[koker]}")" "$(bench_ms "${max[koker]}")" "$(bench_ms "${cpu[koker]}")" "$TARGET_EXEC_MS" "$v_exec"
    printf '| runc exec | %s ms | %s ms | %s ms | %s ms | koker-exec / it: %s (issue 21: ≤ %s: %s) |\n' "$(bench_ms "${med[runc]}")" \
        "$(bench_ms "${min[runc]}")" "$(bench_ms "${max[runc]}")" "$(bench_ms "${cpu[runc]}")" \
        "$(awk -v a="${med[koker]}" -v b="${med[runc]}" 'BEGIN { printf "%.2f", a / b }')" "$TARGET_EXEC_RUNC" \
        "$(if awk -v a="${med[koker]}" -v b="${med[runc]}" -v t="$TARGET_EXEC_RUNC" 'BEGIN { exit !(a <= t * b) }'; then echo met; else echo '**MISSED**'; fi)"
    printf '| podman exec | %s ms | %s ms | %s ms | %s ms | koker-exec / it: %s |\n' "$(bench_ms "${med[podman]}")" \
        "$(bench_ms "${min[podman]}")" "$(bench_ms "${max[podman]}")" "$(bench_ms "${cpu[podman]}")" \
        "$(awk -v a="${med[koker]}" -v b="${med[podman]}" 'BEGIN { printf "%.2f", a / b }')"

    printf '\n## Memory per running container: koker'"'"'s supervisor vs conmon\n\n'
    printf -- '- median over %s detached `sleep 300` containers per tool (after a first one: see the last koker row), read once they run; koker: the process `.State.SupervisorPid` of `koker-inspect` names; podman: conmon (`.State.ConmonPid`); runc run -d leaves no process beside the container\n' "$MEM_N"
    printf -- '- VmRSS and RssAnon from /proc/PID/status; Pss, Private_Dirty, Private_Clean and Shared_Clean from /proc/PID/smaps_rollup\n'
    printf -- '- conmon %s\n' "$(dpkg-query -W -f '${Version}' conmon)"
    printf '\n| process | VmRSS | RssAnon | Private_Dirty | Private_Clean | Shared_Clean | Pss | |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---|\n'
    printf '| koker supervisor | %s | %s | %s | %s | %s | %s | VmRSS ≤ conmon: %s; private < %s KiB: %s |\n' \
        "$(kib "${mem[koker.VmRSS]}")" "$(kib "${mem[koker.RssAnon]}")" "$(kib "${mem[koker.Private_Dirty]}")" \
        "$(kib "${mem[koker.Private_Clean]}")" "$(kib "${mem[koker.Shared_Clean]}")" "$(kib "${mem[koker.Pss]}")" \
        "$v_rss" "$TARGET_PRIVATE_KB" "$v_anon"
    printf '| koker supervisor of the first container in a fresh store (its koker-run built the seccomp cache) | %s | %s | %s | %s | %s | %s | once per store |\n' \
        "$(kib "${mem[cold.VmRSS]}")" "$(kib "${mem[cold.RssAnon]}")" "$(kib "${mem[cold.Private_Dirty]}")" \
        "$(kib "${mem[cold.Private_Clean]}")" "$(kib "${mem[cold.Shared_Clean]}")" "$(kib "${mem[cold.Pss]}")"
    printf '| conmon | %s | %s | %s | %s | %s | %s | |\n' \
        "$(kib "${mem[podman.VmRSS]}")" "$(kib "${mem[podman.RssAnon]}")" "$(kib "${mem[podman.Private_Dirty]}")" \
        "$(kib "${mem[podman.Private_Clean]}")" "$(kib "${mem[podman.Shared_Clean]}")" "$(kib "${mem[podman.Pss]}")"
    printf '\nThe supervisor'"'"'s private dirty memory by mapping (one supervisor, %s threads):' "$THREADS"
    awk '{ printf "%s %s %s KiB", (NR > 1 ? ";" : ""), $2, $1 } END { print "." }' "$BENCH_WORK/supervisor-map"
}

main "$@"
