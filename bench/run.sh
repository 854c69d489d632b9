#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/run.sh: start-to-exit time of `true` in a busybox container with koker-run, runc run
# and podman run, with no network and with a bridge (koker-run --network bridge vs podman's
# default network, and koker-run on a user-defined network vs its default bridge), and the
# resident set size of each tool's process while a container runs;
# markdown tables on stdout, progress on stderr.  See bench/README.md.
#
#   BENCH_RUNS=20          timed runs per tool, after BENCH_WARMUP=3 untimed ones
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
TOOLS=(true floor koker runc podman) # kokerbr, kokeruser and podmanbr join when their bridge works

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $WARMUP =~ ^[0-9]+$ ]] || bench_die "BENCH_WARMUP must be a number, not '$WARMUP'"

# ---------------------------------------------------------------- set-up

# podman_run_args [OPTION...]: `podman run` of the bench image with OPTIONs.
podman_run_args() {
    printf '%s\n' run --rm --pull never "$@" --runtime runc \
        --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 localhost/bench/busybox:latest
}

setup() {
    local rootfs=$BENCH_SCRATCH/rootfs
    KOKER_STORE=$BENCH_SCRATCH/koker
    IMG=$(bench_koker_image "$rootfs" "$KOKER_STORE")
    bench_log "koker image $IMG"

    RUNC_ROOT=$BENCH_WORK/runc
    mkdir -p "$BENCH_SCRATCH/floor"
    bench_runc_bundle "$BENCH_SCRATCH/bundle-true" "$rootfs" true
    bench_runc_bundle "$BENCH_SCRATCH/bundle-sleep" "$rootfs" sleep 5

    bench_podman "$BENCH_SCRATCH/podman"
    bench_podman_net "$BENCH_SCRATCH/podman-net"
    mapfile -t PODMAN_RUN < <(podman_run_args --network none)
    mapfile -t PODMAN_RUN_BRIDGE < <(podman_run_args) # the default network
    tar -C "$rootfs" -cf - . | "${PODMAN[@]}" import -q - localhost/bench/busybox:latest >/dev/null
    bench_log "podman image localhost/bench/busybox:latest"
}

# Runs a runc container is still known to runc (a failed run) are deleted at exit.
delete_runc() {
    local id
    [[ -d ${RUNC_ROOT:-} ]] || return 0
    for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
        runc --root "$RUNC_ROOT" delete -f "$id" 2>/dev/null
    done
    return 0
}

# Podman's overlay mounts and the scratch stores go at exit even after a failure.
remove_podman() {
    [[ -n ${BENCH_SCRATCH:-} && -d $BENCH_SCRATCH/podman ]] || return 0
    "${PODMAN[@]}" rm -af >/dev/null 2>&1
    bench_umount_under "$BENCH_SCRATCH/podman"
    return 0
}

# ---------------------------------------------------------------- one run per tool

# run_TOOL LABEL: one timed start-to-exit of `true`; sets BENCH_NS.
run_true() {
    bench_time "$BENCH_WORK/true.log" /bin/true
}

# bench/floor (built by `make bench`): the kernel's part of a container start alone.
run_floor() {
    bench_time "$BENCH_WORK/floor.log" "$BENCH_FLOOR" "$BENCH_SCRATCH/rootfs" "$BENCH_SCRATCH/floor" /bin/true
}

run_koker() {
    bench_time "$BENCH_WORK/koker.log" "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm \
        --network none "$IMG" true
}

# `runc run` in the foreground deletes the container when it exits; the delete that follows
# (untimed) only matters when it did not.
run_runc() {
    local id=koker-bench-$$-$1
    bench_time "$BENCH_WORK/runc.log" runc --root "$RUNC_ROOT" run --bundle "$BENCH_SCRATCH/bundle-true" "$id"
    runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

run_podman() {
    bench_time "$BENCH_WORK/podman.log" "${PODMAN[@]}" "${PODMAN_RUN[@]}" true
}

run_kokerbr() {
    bench_time "$BENCH_WORK/kokerbr.log" "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm \
        --network bridge "$IMG" true
}

# On a user-defined network: its bridge, and its resolver (started by the run's attach when
# the last run's has ended, as it does within a second of its last container).
run_kokeruser() {
    bench_time "$BENCH_WORK/kokeruser.log" "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm \
        --network bench "$IMG" true
}

run_podmanbr() {
    bench_time "$BENCH_WORK/podmanbr.log" "${PODMAN[@]}" "${PODMAN_RUN_BRIDGE[@]}" true
}

# ---------------------------------------------------------------- resident set size

# wait_for_sleep PID: wait (up to 5 s) until a process named sleep runs below PID.
wait_for_sleep() {
    local pid=$1 i p
    for ((i = 0; i < 500; i++)); do
        # One pgrep a try, not a cat of every /proc/*/comm: on a loaded host that scan took
        # longer than the container's `sleep 5` lives, and the wait never ended.
        for p in $(pgrep -x sleep); do
            is_below "$p" "$pid" && return 0
        done
        sleep 0.01
    done
    bench_die "no sleep process appeared below pid $pid"
}

# is_below PID ANCESTOR: whether ANCESTOR is PID's parent, grandparent, ...
is_below() {
    local p=$1
    while [[ $p -gt 1 ]]; do
        p=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null) || return 1
        [[ -n $p ]] || return 1
        [[ $p == "$2" ]] && return 0
    done
    return 1
}

# conmon daemonises, so it is found as the parent of the container's `sleep` (a subreaper, it
# adopts the container), checked by its command line, which names our runroot. Not the first
# conmon of that runroot: one of an earlier --rm run may still be cleaning up.
conmon_of_sleep() {
    local p parent
    for p in $(pgrep -x sleep); do # as wait_for_sleep: one pgrep, not a scan of /proc
        parent=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
        [[ -n $parent && $(cat "/proc/$parent/comm" 2>/dev/null) == conmon ]] || continue
        tr '\0' ' ' <"/proc/$parent/cmdline" 2>/dev/null | grep -qF "$BENCH_PODMAN_RUN" || continue
        printf '%s\n' "$parent"
        return 0
    done
    return 1
}

# rss_row NAME PID [NOTE]: a table row of PID's memory while its container sleeps.
rss_row() {
    local rss anon file hwm
    rss=$(status_kb "$2" VmRSS) anon=$(status_kb "$2" RssAnon)
    file=$(status_kb "$2" RssFile) hwm=$(status_kb "$2" VmHWM)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(kib "$rss")" "$(kib "$anon")" \
        "$(kib "$file")" "$(kib "$hwm")" "${3:-}"
}

kib() {
    awk -v k="$1" 'BEGIN { printf "%.2f MiB\n", k / 1024 }'
}

# measure_rss: start a `sleep 5` container with each tool in the background, read the tool's
# /proc/PID/status once the container's sleep runs, and print the rows.
measure_rss() {
    local pid verdict conmon
    bench_log "memory: koker-run ... sleep 5"
    "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm --network none "$IMG" sleep 5 \
        >"$BENCH_WORK/rss-koker.log" 2>&1 </dev/null &
    pid=$!
    wait_for_sleep "$pid"
    if (($(status_kb "$pid" VmRSS) < TARGET_RUN_RSS_KB)); then verdict=met; else verdict="**MISSED**"; fi
    rss_row koker-run "$pid" "the only process beside the container; target VmRSS < $((TARGET_RUN_RSS_KB / 1024)) MiB: $verdict" \
        >"$BENCH_WORK/rss-koker.row"
    wait "$pid" || bench_die "koker-run sleep 5 failed: $(cat "$BENCH_WORK/rss-koker.log")"

    bench_log "memory: runc run ... sleep 5"
    runc --root "$RUNC_ROOT" run --bundle "$BENCH_SCRATCH/bundle-sleep" "koker-bench-$$-rss" \
        >"$BENCH_WORK/rss-runc.log" 2>&1 </dev/null &
    pid=$!
    wait_for_sleep "$pid"
    rss_row "runc run" "$pid" "parent of the container" >"$BENCH_WORK/rss-runc.row"
    wait "$pid" || bench_die "runc run sleep 5 failed: $(cat "$BENCH_WORK/rss-runc.log")"

    bench_log "memory: podman run ... sleep 5"
    "${PODMAN[@]}" "${PODMAN_RUN[@]}" sleep 5 >"$BENCH_WORK/rss-podman.log" 2>&1 </dev/null &
    pid=$!
    conmon=
    for _ in {1..500}; do
        conmon=$(conmon_of_sleep) && break
        sleep 0.01
    done
    [[ -n $conmon ]] || bench_die "no sleep process below a conmon of podman run"
    {
        rss_row "podman run" "$pid" "the client, attached"
        rss_row conmon "$conmon" "podman's monitor of the container"
    } >"$BENCH_WORK/rss-podman.row"
    wait "$pid" || bench_die "podman run sleep 5 failed: $(cat "$BENCH_WORK/rss-podman.log")"
}

# ---------------------------------------------------------------- bridge network
#
# koker-run --network bridge puts the container on $KOKER_BRIDGE (kbench0, 10.198.0.0/24,
# set in lib.sh), not on the host's koker0; `koker-net down` takes it away at exit.  podman's
# default network (netavark, bridge podman0) is moved to $BENCH_PODMAN_SUBNET by the
# containers.conf of bench_podman_net.  Nothing is sent: `true` does not use the network.
# Each tool joins the timed runs only if one trial run of it works; the table says why not.

declare -A BRIDGE_NA=() BRIDGE_WHY=() cpu=()
setup_bridge() {
    local log=$BENCH_WORK/bridge-trial.log
    KOKER_NET_STORE=$KOKER_STORE
    if "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm --network bridge "$IMG" \
        ip -o -4 addr show eth0 >"$log" 2>&1 </dev/null; then
        TOOLS+=(kokerbr)
        KOKER_BR_ADDR=$(awk '{ print $4 }' "$log")
        bench_log "koker-run --network bridge: eth0 $KOKER_BR_ADDR on $KOKER_BRIDGE"
    else
        BRIDGE_NA[kokerbr]="n/a (bridge not available)"
        bench_log "koker-run --network bridge does not work here: $(head -n 1 "$log")"
        BRIDGE_WHY[kokerbr]=$(head -n 1 "$log")
    fi
    if [[ -z ${BRIDGE_NA[kokerbr]:-} ]] &&
        "$KOKER_BIN/koker-net" --root "$KOKER_STORE" create --subnet "$BENCH_USER_SUBNET" \
            -o com.docker.network.bridge.name="$BENCH_USER_BRIDGE" bench >"$log" 2>&1 &&
        "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm --network bench "$IMG" \
            ip -o -4 addr show eth0 >"$log" 2>&1 </dev/null; then
        TOOLS+=(kokeruser)
        KOKER_USER_ADDR=$(awk '{ print $4 }' "$log")
        bench_log "koker-run --network bench: eth0 $KOKER_USER_ADDR on $BENCH_USER_BRIDGE"
    else
        BRIDGE_NA[kokeruser]="n/a (a user-defined network does not work here)"
        BRIDGE_WHY[kokeruser]=$(head -n 1 "$log")
    fi
    if [[ -n $BENCH_NET_HAD_PODMAN0 ]]; then
        BRIDGE_NA[podmanbr]="n/a (podman0 already exists on this host)"
    elif "${PODMAN[@]}" "${PODMAN_RUN_BRIDGE[@]}" ip -o -4 addr show eth0 >"$log" 2>&1 </dev/null; then
        TOOLS+=(podmanbr)
        PODMAN_BR_ADDR=$(awk '{ print $4 }' "$log")
        bench_log "podman run (default network): eth0 $PODMAN_BR_ADDR on podman0"
    else
        BRIDGE_NA[podmanbr]="n/a (podman's default network fails here)"
        BRIDGE_WHY[podmanbr]=$(grep -m 1 -i error "$log" || head -n 1 "$log")
        bench_log "podman's default network does not work here: ${BRIDGE_WHY[podmanbr]}"
    fi
}

# What the bridge runs left: veths still on the bridges (the bridges themselves go at exit).
bridge_leftovers() {
    local n
    n=$( (ip -o link show master "$KOKER_BRIDGE" 2>/dev/null; ip -o link show master "$BENCH_USER_BRIDGE" 2>/dev/null
        ip -o link show master podman0 2>/dev/null) | wc -l)
    if ((n == 0)); then echo none; else echo "**$n veths**"; fi
}

# ---------------------------------------------------------------- main

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (namespaces, cgroups, mounts)"
    bench_deps runc podman busybox-static jq e2fsprogs mount
    [[ -x $BENCH_TOP/bin/koker-run && -x $BENCH_TOP/bin/koker-pull ]] ||
        bench_die "no $BENCH_TOP/bin/koker-run: run make all"
    BENCH_FLOOR=$BENCH_TOP/bench/floor
    [[ -x $BENCH_FLOOR ]] || bench_die "no $BENCH_FLOOR: run make bench/floor"

    bench_workdir run
    bench_cgroups_guard
    bench_scratch 1G
    bench_net_guard # after the podman clean-up below, before the unmount of the store
    bench_on_exit delete_runc
    bench_on_exit remove_podman
    setup
    setup_bridge

    local tool i
    local -A samples=() cpus=()
    bench_log "warm-up: $WARMUP runs each"
    for ((i = 1; i <= WARMUP; i++)); do
        for tool in "${TOOLS[@]}"; do
            "run_$tool" "w$i"
        done
    done
    # Round-robin, so drift in the machine's speed hits every tool alike.
    for ((i = 1; i <= RUNS; i++)); do
        for tool in "${TOOLS[@]}"; do
            "run_$tool" "$i"
            samples[$tool]+=" $BENCH_NS"
            cpus[$tool]+=" $BENCH_CPU_NS"
        done
        ((i % 5 == 0 || i == RUNS)) && bench_log "run $i/$RUNS"
    done

    bench_tool_stats run "${TOOLS[@]}"
    # Every timed run, for bench/charts.sh's distributions: TOOL NS.
    local ns
    for tool in "${TOOLS[@]}"; do
        for ns in ${samples[$tool]}; do bench_data run-samples "$tool $ns"; done
    done
    for tool in kokerbr kokeruser podmanbr; do
        [[ -z ${BRIDGE_NA[$tool]:-} ]] || bench_summary "run.$tool" "${BRIDGE_NA[$tool]}"
    done
    LEFT=$(bridge_leftovers)

    measure_rss
    report
}

# The tables, from the globals med, min and max and the rss-*.row files.
# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local v_ms v_runc
    if ((med[koker] <= TARGET_RUN_MS * 1000000)); then v_ms=met; else v_ms="**MISSED**"; fi
    if ((med[koker] * TARGET_RUNC <= med[runc])); then v_runc=met; else v_runc="**MISSED**"; fi

    printf '## Start to exit of `true` in a busybox container\n\n'
    printf -- '- image: busybox-static %s (/bin/busybox, applet symlinks, /etc/passwd), one layer\n' \
        "$(dpkg-query -W -f '${Version}' busybox-static)"
    printf -- '- %s timed runs per tool after %s warm-up runs, round-robin; wall time from fork to wait (bash EPOCHREALTIME); median\n' \
        "$RUNS" "$WARMUP"
    printf -- '- koker-run: `koker-run --rm --network none ID true` (overlay root, cgroups, seccomp, capabilities)\n'
    printf -- '- runc %s: `runc run` of a bundle from `runc spec` (read-only rootfs shared by every run, no overlay), unique id, `runc delete` untimed\n' \
        "$(runc --version | awk 'NR == 1 { print $3 }')"
    printf -- '- podman %s: `podman run --rm --network none --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1000:1000`, image from `podman import`, overlay, cgroupfs\n' \
        "$(podman --version | awk '{print $3}')"
    bench_machine
    printf -- '- CPU: user + system time of the command and of the processes it waited for (getrusage of the children, 1 ms resolution), median; podman'"'"'s conmon is not among them\n'
    printf '\n| command | median | min | max | CPU | koker-run / it |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    printf '| /bin/true on the host (timer and fork+exec floor) | %s ms | %s ms | %s ms | %s ms | |\n' \
        "$(bench_ms "${med[true]}")" "$(bench_ms "${min[true]}")" "$(bench_ms "${max[true]}")" "$(bench_ms "${cpu[true]}")"
    printf '| bench/floor: namespaces, overlay, runc'"'"'s mounts, pivot_root, exec | %s ms | %s ms | %s ms | %s ms | %s (target ≤ %s: %s) |\n' \
        "$(bench_ms "${med[floor]}")" "$(bench_ms "${min[floor]}")" "$(bench_ms "${max[floor]}")" "$(bench_ms "${cpu[floor]}")" \
        "$(ratio_of koker floor)" "$TARGET_FLOOR" "$(ratio_verdict koker floor "$TARGET_FLOOR")"
    printf '| koker-run | %s ms | %s ms | %s ms | %s ms | target ≤ %s ms: %s |\n' \
        "$(bench_ms "${med[koker]}")" "$(bench_ms "${min[koker]}")" "$(bench_ms "${max[koker]}")" \
        "$(bench_ms "${cpu[koker]}")" "$TARGET_RUN_MS" "$v_ms"
    printf '| runc run | %s ms | %s ms | %s ms | %s ms | %s (target ≤ %s: %s) |\n' \
        "$(bench_ms "${med[runc]}")" "$(bench_ms "${min[runc]}")" "$(bench_ms "${max[runc]}")" \
        "$(bench_ms "${cpu[runc]}")" \
        "$(awk -v a="${med[koker]}" -v b="${med[runc]}" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v r="$TARGET_RUNC" 'BEGIN { printf "%.2f", 1 / r }')" "$v_runc; issue 21: ≤ $TARGET_RUNC_RATIO: $(ratio_verdict koker runc "$TARGET_RUNC_RATIO")"
    printf '| podman run | %s ms | %s ms | %s ms | %s ms | %s |\n' \
        "$(bench_ms "${med[podman]}")" "$(bench_ms "${min[podman]}")" "$(bench_ms "${max[podman]}")" \
        "$(bench_ms "${cpu[podman]}")" \
        "$(awk -v a="${med[koker]}" -v b="${med[podman]}" 'BEGIN { printf "%.2f", a / b }')"

    printf '\n## Memory of the tool while its container runs `sleep 5`\n\n'
    printf '| process | VmRSS | RssAnon | RssFile | VmHWM (peak) | |\n'
    printf '|---|---:|---:|---:|---:|---|\n'
    cat "$BENCH_WORK/rss-koker.row" "$BENCH_WORK/rss-runc.row" "$BENCH_WORK/rss-podman.row"

    report_bridge
}

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report_bridge() {
    local tool v
    printf '\n## Start to exit of `true` on a bridge network\n\n'
    printf -- '- koker-run: `koker-run --rm --network bridge ID true` on bridge %s, subnet %s (a veth, an address, a default route; the bridge made once by the first run)%s\n' \
        "$KOKER_BRIDGE" "$KOKER_SUBNET" "${KOKER_BR_ADDR:+; a trial container got $KOKER_BR_ADDR}"
    printf -- '- podman: the same `podman run` as above without `--network none`, so on podman'"'"'s default network "podman" (%s, bridge podman0), moved to subnet %s by containers.conf%s\n' \
        "$("${PODMAN[@]}" info --format '{{.Host.NetworkBackend}}' 2>/dev/null || echo '?') $(dpkg-query -W -f '${Version}' netavark 2>/dev/null)" \
        "$BENCH_PODMAN_SUBNET" "${PODMAN_BR_ADDR:+; a trial container got $PODMAN_BR_ADDR}"
    printf -- '- koker-run on a user-defined network: `koker-run --rm --network bench ID true`, network `bench` (bridge %s, subnet %s) made by `koker-net create`; each run plugs the container into it and starts the network'"'"'s resolver if the last run'"'"'s has ended%s\n' \
        "$BENCH_USER_BRIDGE" "$BENCH_USER_SUBNET" "${KOKER_USER_ADDR:+; a trial container got $KOKER_USER_ADDR}"
    printf -- '- same runs as the table above (interleaved with them); veths left on the bridges after the runs: %s\n' "$LEFT"
    printf '\n| command | median | min | max | CPU | |\n'
    printf '|---|---:|---:|---:|---:|---|\n'
    for tool in kokerbr kokeruser podmanbr; do
        if [[ -n ${BRIDGE_NA[$tool]:-} ]]; then
            printf '| %s | %s | | | | %s |\n' "$(bridge_name "$tool")" "${BRIDGE_NA[$tool]}" "${BRIDGE_WHY[$tool]:-}"
            continue
        fi
        v=
        if [[ $tool == kokerbr ]]; then
            if ((med[kokerbr] <= TARGET_BRIDGE_MS * 1000000)); then v=met; else v="**MISSED**"; fi
            v="target ≤ $TARGET_BRIDGE_MS ms: $v"
            [[ -n ${BRIDGE_NA[podmanbr]:-} ]] ||
                v+="; $(awk -v a="${med[kokerbr]}" -v b="${med[podmanbr]}" 'BEGIN { printf "%.2f", a / b }') × podman"
            v+="; $(ratio_of kokerbr koker) × --network none, target ≤ $TARGET_BRIDGE_NONE: $(ratio_verdict kokerbr koker "$TARGET_BRIDGE_NONE")"
        fi
        if [[ $tool == kokeruser ]]; then
            v=$(awk -v a="${med[kokeruser]}" -v b="${med[kokerbr]}" 'BEGIN { printf "%.2f", a / b }')
            if awk -v r="$v" -v t="$TARGET_USER_NET" 'BEGIN { exit !(r <= t) }'; then
                v="$v × the default bridge; target ≤ $TARGET_USER_NET: met"
            else
                v="$v × the default bridge; target ≤ $TARGET_USER_NET: **MISSED**"
            fi
        fi
        printf '| %s | %s ms | %s ms | %s ms | %s ms | %s |\n' "$(bridge_name "$tool")" "$(bench_ms "${med[$tool]}")" \
            "$(bench_ms "${min[$tool]}")" "$(bench_ms "${max[$tool]}")" "$(bench_ms "${cpu[$tool]}")" "$v"
    done
}

# ratio_of A B: med[A] / med[B], two decimals; ratio_verdict A B T: met if it is at most T.
ratio_of() {
    awk -v a="${med[$1]}" -v b="${med[$2]}" 'BEGIN { printf "%.2f", b ? a / b : 0 }'
}
ratio_verdict() {
    if awk -v a="${med[$1]}" -v b="${med[$2]}" -v t="$3" 'BEGIN { exit !(b && a <= t * b) }'; then
        echo met
    else
        echo "**MISSED**"
    fi
}

bridge_name() {
    case $1 in
        kokerbr) echo 'koker-run --network bridge' ;;
        kokeruser) echo 'koker-run --network bench (user-defined)' ;;
        podmanbr) echo 'podman run (default network)' ;;
    esac
}

main "$@"
