#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/all.sh: every benchmark in one run (`make bench`): bench/pull.sh, run.sh, exec.sh,
# scale.sh, oci.sh, build.sh and rootless.sh, one after another, each on its own fresh store.  Prints a markdown summary table
# of medians, ratios and targets, with the machine, followed by each part's tables, and
# writes the same to bench/RESULTS.md when every part ran and succeeded, with the SVG charts of
# bench/charts.sh (gnuplot) beside the tables in bench/charts/.  Progress goes to stderr.  See
# bench/README.md.
#
#   BENCH_PULL_RUNS=5      timed pulls per tool
#   BENCH_RUNS=20          timed runs per tool for run.sh and exec.sh, calls for scale.sh
#   BENCH_PARTS="pull run exec scale oci build rootless"   the parts to run (RESULTS.md needs all)
#   BENCH_RESULTS=bench/RESULTS.md      where the results go
#   BENCH_QUIET=LOAD       before each part, wait (up to BENCH_QUIET_WAIT=600 s) for the 1-minute
#                          load average to drop below LOAD: the VM is shared with builds
#   and every variable the parts read (BENCH_SCALE_N, BENCH_KEEP, ...)

# `make bench` runs this with sh; the rest needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

PULL_RUNS=${BENCH_PULL_RUNS:-5}
RUNS=${BENCH_RUNS:-20}
ALL_PARTS="pull run exec scale oci build rootless"
read -r -a PARTS <<<"${BENCH_PARTS:-$ALL_PARTS}"
RESULTS=${BENCH_RESULTS:-$BENCH_TOP/bench/RESULTS.md}

declare -A S=() # the parts' summaries: key -> value

# wait_quiet: with BENCH_QUIET set, wait until the load average is below it (or time is up).
wait_quiet() {
    local limit=${BENCH_QUIET:-} waited=0 most=${BENCH_QUIET_WAIT:-600}
    [[ -n $limit ]] || return 0
    while awk -v l="$(cut -d ' ' -f 1 /proc/loadavg)" -v m="$limit" 'BEGIN { exit !(l >= m) }'; do
        if ((waited >= most)); then
            bench_log "load average still $(cut -d ' ' -f 1 /proc/loadavg) after ${most} s; going on"
            return 0
        fi
        ((waited % 60 == 0)) && bench_log "waiting for the load average ($(cut -d ' ' -f 1 /proc/loadavg)) to drop below $limit"
        sleep 5
        waited=$((waited + 5))
    done
}

# ---------------------------------------------------------------- formatting

is_num() {
    [[ $1 =~ ^-?[0-9]+$ ]]
}

# ms NS, s NS, kib KB: a value or, when it is not a number (n/a, failed), the value itself.
ms() {
    if is_num "${1:-}"; then printf '%s ms\n' "$(bench_ms "$1")"; else printf '%s\n' "${1:-failed}"; fi
}

s() {
    if is_num "${1:-}"; then awk -v ns="$1" 'BEGIN { printf "%.2f s\n", ns / 1e9 }'; else printf '%s\n' "${1:-failed}"; fi
}

kib() {
    if is_num "${1:-}"; then printf '%s KiB\n' "$1"; else printf '%s\n' "${1:-failed}"; fi
}

# ms_cpu KEY: the median of KEY in ms, and its CPU time (KEY.cpu) if there is one.
ms_cpu() {
    local v
    v=$(ms "${S[$1]:-}")
    if is_num "${S[$1]:-}" && is_num "${S[$1.cpu]:-}"; then v+=" (CPU $(bench_ms "${S[$1.cpu]}") ms)"; fi
    printf '%s\n' "$v"
}

# ratio A B: A / B to 2 decimals, or empty.
ratio() {
    is_num "${1:-}" && is_num "${2:-}" && (($2 != 0)) || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
}

# verdict OK: met or MISSED; OK is an awk condition.
verdict() {
    if awk "BEGIN { exit !($1) }"; then echo met; else echo "**MISSED**"; fi
}

# at_most VALUE LIMIT: whether VALUE is a number and at most LIMIT (awk condition text).
at_most() {
    if is_num "${1:-}"; then verdict "$1 <= $2"; else echo "**MISSED** (not measured)"; fi
}

# ---------------------------------------------------------------- summary

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
summary() {
    local v k_run k_br k_exec
    printf '| measurement (median; CPU: user + system of the command and what it waited for) | koker | runc | podman | skopeo | koker / podman | target |\n'
    printf '|---|---:|---:|---:|---:|---:|---|\n'

    if [[ -n ${S[pull.koker]:-} ]]; then
        v=$(ratio "${S[pull.koker]}" "${S[pull.podman]:-}")
        printf '| pull into an empty store: %s | %s | | %s | %s | %s | ≤ %s × podman: %s |\n' \
            "${S[pull.image]:-?}" "$(s "${S[pull.koker]}")" "$(s "${S[pull.podman]:-}")" \
            "$(s "${S[pull.skopeo]:-}")" "$v" "$TARGET_PULL" "$(if [[ -n $v ]]; then verdict "$v <= $TARGET_PULL"; else echo '**MISSED**'; fi)"
    fi
    if [[ -n ${S[pull1.koker]:-} ]]; then
        local v1 vs
        v1=$(ratio "${S[pull1.koker]}" "${S[pull1.podman]:-}")
        vs=$(ratio "${S[pull1.koker]}" "${S[pull1.skopeo]:-}")
        printf '| pull into an empty store: %s | %s | | %s | %s | %s | ≤ %s × podman: %s; ≤ %s × skopeo: %s (%s) |\n' \
            "${S[pull1.image]:-?}" "$(s "${S[pull1.koker]}")" "$(s "${S[pull1.podman]:-}")" \
            "$(s "${S[pull1.skopeo]:-}")" "$v1" "$TARGET_PULL_ONE" \
            "$(if [[ -n $v1 ]]; then verdict "$v1 <= $TARGET_PULL_ONE"; else echo '**MISSED**'; fi)" \
            "$TARGET_PULL_SKOPEO" "$(if [[ -n $vs ]]; then verdict "$vs <= $TARGET_PULL_SKOPEO"; else echo '**MISSED**'; fi)" "$vs"
    fi
    if [[ -n ${S[run.koker]:-} ]]; then
        k_run=${S[run.koker]}
        printf '| start to exit of `true`, `--network none` (host `/bin/true`: %s) | %s | %s | %s | | %s | ≤ %s ms: %s |\n' \
            "$(ms "${S[run.true]:-}")" "$(ms_cpu run.koker)" "$(ms_cpu run.runc)" "$(ms "${S[run.podman]:-}")" \
            "$(ratio "$k_run" "${S[run.podman]:-}")" "$TARGET_RUN_MS" "$(at_most "$k_run" "$TARGET_RUN_MS * 1000000")"
        k_br=${S[run.kokerbr]:-}
        printf '| start to exit of `true`, bridge network (podman: its default network, netavark) | %s | | %s | | %s | ≤ %s ms: %s |\n' \
            "$(ms_cpu run.kokerbr)" "$(ms "${S[run.podmanbr]:-}")" "$(ratio "$k_br" "${S[run.podmanbr]:-}")" \
            "$TARGET_BRIDGE_MS" "$(at_most "$k_br" "$TARGET_BRIDGE_MS * 1000000")"
        # Issue 21.1 and 21.2: koker-run against bench/floor and runc, the bridge against none.
        v=$(ratio "$k_run" "${S[run.floor]:-}")
        printf '| ... against bench/floor (%s: namespaces, mounts, exec, nothing else) | %s × | | | | | ≤ %s × floor: %s |\n' \
            "$(ms "${S[run.floor]:-}")" "${v:-?}" "$TARGET_FLOOR" "$(if [[ -n $v ]]; then verdict "$v <= $TARGET_FLOOR"; else echo '**MISSED** (not measured)'; fi)"
        v=$(ratio "$k_run" "${S[run.runc]:-}")
        printf '| ... against runc run | %s × | | | | | ≤ %s × runc: %s |\n' \
            "${v:-?}" "$TARGET_RUNC_RATIO" "$(if [[ -n $v ]]; then verdict "$v <= $TARGET_RUNC_RATIO"; else echo '**MISSED** (not measured)'; fi)"
        v=$(ratio "$k_br" "$k_run")
        printf '| the bridge run against the `--network none` run | %s × | | | | | ≤ %s: %s |\n' \
            "${v:-?}" "$TARGET_BRIDGE_NONE" "$(if [[ -n $v ]]; then verdict "$v <= $TARGET_BRIDGE_NONE"; else echo '**MISSED** (not measured)'; fi)"
        # The user-defined network against the default bridge, both koker's, in the same run.
        v=$(ratio "${S[run.kokeruser]:-}" "$k_br")
        printf '| start to exit of `true`, user-defined network (its bridge and resolver) | %s | | | | | ≤ %s × the default bridge: %s |\n' \
            "$(ms_cpu run.kokeruser)" "$TARGET_USER_NET" \
            "$(if [[ -n $v ]]; then printf '%s × → %s' "$v" "$(verdict "$v <= $TARGET_USER_NET")"; else echo '**MISSED** (not measured)'; fi)"
    fi
    if [[ -n ${S[exec.koker]:-} ]]; then
        k_exec=${S[exec.koker]}
        printf '| `exec true` into a running container | %s | %s | %s | | %s | ≤ %s ms: %s |\n' \
            "$(ms_cpu exec.koker)" "$(ms_cpu exec.runc)" "$(ms "${S[exec.podman]:-}")" \
            "$(ratio "$k_exec" "${S[exec.podman]:-}")" "$TARGET_EXEC_MS" "$(at_most "$k_exec" "$TARGET_EXEC_MS * 1000000")"
        # Issue 21.2: koker-exec against runc exec, in the same run.
        v=$(ratio "$k_exec" "${S[exec.runc]:-}")
        printf '| ... against runc exec | %s × | | | | | ≤ %s × runc: %s |\n' \
            "${v:-?}" "$TARGET_EXEC_RUNC" "$(if [[ -n $v ]]; then verdict "$v <= $TARGET_EXEC_RUNC"; else echo '**MISSED** (not measured)'; fi)"
        printf '| resident memory per running container, VmRSS (koker: its supervisor; podman: conmon; runc: no process) | %s | 0 | %s | | %s | ≤ conmon: %s |\n' \
            "$(kib "${S[mem.koker.VmRSS]:-}")" "$(kib "${S[mem.podman.VmRSS]:-}")" \
            "$(ratio "${S[mem.koker.VmRSS]:-}" "${S[mem.podman.VmRSS]:-}")" \
            "$(at_most "${S[mem.koker.VmRSS]:-}" "${S[mem.podman.VmRSS]:-0}")"
        printf '| ... of which private: RssAnon (Private_Dirty) | %s (%s) | 0 | %s (%s) | | %s | < %s KiB: %s |\n' \
            "$(kib "${S[mem.koker.RssAnon]:-}")" "$(kib "${S[mem.koker.Private_Dirty]:-}")" \
            "$(kib "${S[mem.podman.RssAnon]:-}")" "$(kib "${S[mem.podman.Private_Dirty]:-}")" \
            "$(ratio "${S[mem.koker.RssAnon]:-}" "${S[mem.podman.RssAnon]:-}")" "$TARGET_PRIVATE_KB" \
            "$(at_most "${S[mem.koker.RssAnon]:-}" "$((TARGET_PRIVATE_KB - 1))")"
    fi
    if [[ -n ${S[oci.kokeroci]:-} ]]; then
        v=$(ratio "${S[oci.kokeroci]}" "${S[oci.runc]:-}")
        printf '| `koker-oci run` of a bundle (`runc spec`, `true`; koker: koker-oci) against `runc run`; crun: %s | %s | %s | | | | ≤ %s × runc: %s (%s) |\n' \
            "$(if is_num "${S[oci.crun]:-}"; then ms_cpu oci.crun; else printf '%s\n' "${S[oci.crun]:-?}"; fi)" \
            "$(ms_cpu oci.kokeroci)" "$(ms_cpu oci.runc)" "$TARGET_OCI_RUNC" \
            "$(if [[ -n $v ]]; then verdict "${S[oci.kokeroci]} <= $TARGET_OCI_RUNC * ${S[oci.runc]}"; else echo '**MISSED**'; fi)" "$v"
        v=$(ratio "${S[oci.podkoker]:-}" "${S[oci.podrunc]:-}")
        printf '| `podman run --runtime` koker-oci (koker column) and runc (podman column), `--network none` | %s | | %s | | %s | < podman with runc: %s |\n' \
            "$(ms "${S[oci.podkoker]:-}")" "$(ms "${S[oci.podrunc]:-}")" "$v" \
            "$(if [[ -n $v ]]; then verdict "${S[oci.podkoker]} < ${S[oci.podrunc]}"; else echo '**MISSED**'; fi)"
        if is_num "${S[oci.kokerbase]:-}"; then
            v=$(ratio "${S[oci.kokerrun]:-}" "${S[oci.kokerbase]}")
            printf '| koker-run `--network none`, this tree against the build of %s (%s), same rounds | %s | | | | | ≤ %s × %s: %s (%s) |\n' \
                "${S[oci.base]:-?}" "$(ms "${S[oci.kokerbase]}")" "$(ms_cpu oci.kokerrun)" "$TARGET_BASE" "${S[oci.base]:-?}" \
                "$(verdict "${S[oci.kokerrun]} <= $TARGET_BASE * ${S[oci.kokerbase]}")" "$v"
        else
            printf '| koker-run `--network none`, this tree against an earlier build | %s | | | | | not measured: %s |\n' \
                "$(ms_cpu oci.kokerrun)" "${S[oci.kokerbase]:-?}"
        fi
    fi
    if [[ -n ${S[build.koker-uncached]:-} ]]; then
        printf '| `koker build` of 3 steps (RUN, COPY, ENV) on busybox, `--no-cache` (buildah bud --layers --no-cache: %s) | %s | | | | | ≤ %s × buildah: %s (%s) |\n' \
            "$(ms "${S[build.buildah-uncached]:-}")" "$(ms_cpu build.koker-uncached)" "$TARGET_BUILD_UNCACHED" \
            "$(if is_num "${S[build.buildah-uncached]:-}"; then verdict "${S[build.koker-uncached]} <= $TARGET_BUILD_UNCACHED * ${S[build.buildah-uncached]}"; else echo '**MISSED**'; fi)" \
            "$(ratio "${S[build.koker-uncached]}" "${S[build.buildah-uncached]:-}")"
        printf '| the same build, every step cached (buildah: %s) | %s | | | | | ≤ %s × buildah: %s (%s) |\n' \
            "$(ms "${S[build.buildah-cached]:-}")" "$(ms_cpu build.koker-cached)" "$TARGET_BUILD_CACHED" \
            "$(if is_num "${S[build.buildah-cached]:-}"; then verdict "${S[build.koker-cached]} <= $TARGET_BUILD_CACHED * ${S[build.buildah-cached]}"; else echo '**MISSED**'; fi)" \
            "$(ratio "${S[build.koker-cached]}" "${S[build.buildah-cached]:-}")"
    fi
    if [[ -n ${S[rootless.koker]:-} ]]; then
        v=$(ratio "${S[rootless.koker]}" "${S[rootless.podman]:-}")
        printf '| rootless, as a user: start to exit of `true`, `--network none` | %s | | %s | | %s | ≤ %s × podman: %s |\n' \
            "$(ms "${S[rootless.koker]}")" "$(ms "${S[rootless.podman]:-}")" "$v" "$TARGET_ROOTLESS_PODMAN" \
            "$(if [[ -n $v ]]; then verdict "$v <= $TARGET_ROOTLESS_PODMAN"; else echo '**MISSED**'; fi)"
    fi
    if [[ -n ${S[scale.seq]:-} ]]; then
        local n=${BENCH_SCALE_N:-1000} par=${BENCH_SCALE_PAR:-50} k net
        for k in scale scale.bridge; do
            [[ -n ${S[$k.seq]:-} ]] || continue
            if [[ $k == scale ]]; then net=none; else net=bridge; fi
            printf '| %s containers (`--network %s`) started one after another, then %s at once: failures | %s, %s | | | | | none: %s |\n' \
                "$n" "$net" "$par" "${S[$k.fail]}" "${S[$k.pfail]}" "$(verdict "${S[$k.fail]} + ${S[$k.pfail]} == 0")"
            printf '| ... the start of the last of them against the first (medians of 50) | %s | | | | | ≤ %s: %s |\n' \
                "${S[$k.growth]}" "$TARGET_SCALE_GROWTH" "$(verdict "${S[$k.growth]} <= $TARGET_SCALE_GROWTH")"
            printf '| `koker-ps` with %s containers running (`--network %s`) | %s | | | | | < %s ms: %s |\n' \
                "$n" "$net" "$(ms "${S[$k.ps]}")" "$TARGET_PS_MS" "$(at_most "${S[$k.ps]}" "$TARGET_PS_MS * 1000000 - 1")"
            printf '| `koker-inspect NAME` with %s containers running (`--network %s`) | %s | | | | | < %s ms: %s |\n' \
                "$n" "$net" "$(ms "${S[$k.name]}")" "$TARGET_INSPECT_MS" "$(at_most "${S[$k.name]}" "$TARGET_INSPECT_MS * 1000000 - 1")"
        done
    fi

    if [[ -n ${S[scale.seq]:-} ]]; then
        printf '\n| koker at scale (median of %s rounds) | |\n' "${BENCH_SCALE_ROUNDS:-3}"
        printf '|---|---:|\n'
        printf '| %s × `koker-run -d` one after another | %s (%s each) |\n' "$n" "$(s "${S[scale.seq]}")" "$(ms "${S[scale.each]}")"
        printf '| %s × `koker-run -d` at once | %s |\n' "$par" "$(s "${S[scale.par]}")"
        printf '| memory per container with %s running: supervisor RssAnon, supervisor Pss, memory cgroup charge, MemAvailable drop | %s, %s, %s, %s |\n' \
            "$n" "$(kib "${S[scale.anon]}")" "$(kib "${S[scale.pss]}")" "$(kib "${S[scale.cg]}")" "$(kib "${S[scale.mem]}")"
        printf '| `koker-ps -a`, `koker-inspect ID`, `koker-inspect NAME` with %s running | %s, %s, %s |\n' \
            "$n" "$(ms "${S[scale.psa]}")" "$(ms "${S[scale.insp]}")" "$(ms "${S[scale.name]}")"
        printf '| `koker-rm -f` of all %s; of all %s | %s; %s |\n' "$n" "$par" "$(s "${S[scale.rm]}")" "$(s "${S[scale.prm]}")"
        printf '| `koker-rm -f` errors | %s |\n' "${S[scale.rmerr]:-?}"
        printf '| left behind after removal (cgroups, veths, mounts, container dirs, processes), each round | %s; %s |\n' \
            "${S[scale.left]}" "${S[scale.pleft]}"
    fi
}

# ---------------------------------------------------------------- charts

# part_chart PART: the chart drawn from PART's samples, below its tables (markdown), if PART
# has one; a chart that cannot be drawn leaves a note instead.
part_chart() {
    local chart
    case $1 in
        run) chart=start ;;
        scale) chart=scale ;;
        pull) chart=pull ;;
        *) return 0 ;;
    esac
    if ! bash "$BENCH_TOP/bench/charts.sh" "$BENCH_DATA" "$BENCH_WORK/charts" "$chart" 2>"$BENCH_WORK/chart-$chart.log"; then
        rm -f "$BENCH_WORK/charts/$chart.svg"
        printf '\n_Chart %s not drawn: gnuplot failed (%s)._\n' "$chart" "$(grep -m 1 . "$BENCH_WORK/chart-$chart.log" || echo 'no message')"
    fi
}

# ---------------------------------------------------------------- main

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root"
    [[ $PULL_RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_PULL_RUNS must be a positive number"
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number"
    local part out=() failed=() load0 started key value attach
    for part in "${PARTS[@]}"; do
        [[ -f $BENCH_TOP/bench/$part.sh ]] || bench_die "no part named $part (BENCH_PARTS)"
    done
    bench_workdir all
    load0=$(cut -d ' ' -f 1-3 /proc/loadavg)
    attach=$(bench_cgroup_attach)
    started=$(date -u '+%Y-%m-%d %H:%M UTC')
    # Every part runs the same copy of the tools.
    export BENCH_ALL=1 BENCH_SUMMARY=$BENCH_WORK/summary BENCH_KOKER_BIN=$KOKER_BIN
    : >"$BENCH_SUMMARY"
    # The parts' raw samples, which bench/charts.sh draws into $BENCH_WORK/charts.
    export BENCH_DATA=$BENCH_WORK/data
    mkdir -p "$BENCH_DATA"

    for part in "${PARTS[@]}"; do
        wait_quiet
        bench_log "==== $part.sh"
        if BENCH_RUNS=$([[ $part == pull ]] && echo "$PULL_RUNS" || echo "$RUNS") \
            bash "$BENCH_TOP/bench/$part.sh" >"$BENCH_WORK/$part.md"; then
            out+=("$part")
        else
            failed+=("$part")
            bench_log "$part.sh failed; going on with the other parts"
        fi
    done
    while read -r key value; do
        S[$key]=$value
    done <"$BENCH_SUMMARY"

    {
        printf '# koker benchmarks\n\n'
        printf 'Generated by `bash bench/all.sh` (`make bench`) with the tools of bin/ (%s, built %s) in a tree at commit %s%s. Each part runs on its own fresh store; see bench/README.md for the method.\n\n' \
            "$("$KOKER_BIN/koker-run" --version | head -n 1)" \
            "$(date -u -r "$KOKER_BIN/koker-run" '+%Y-%m-%d %H:%M UTC')" \
            "$(git -C "$BENCH_TOP" rev-parse --short HEAD 2>/dev/null || echo '?')" \
            "$(git -C "$BENCH_TOP" diff --quiet HEAD -- src lib Makefile 2>/dev/null || echo ' with uncommitted changes in src/, lib/ or the Makefile')"
        printf -- '- machine: %s CPUs, %s, %s MiB RAM\n' "$(nproc)" \
            "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
            "$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))"
        printf -- '- kernel: %s %s; %s; cgroups: %s; %s\n' "$(uname -s)" "$(uname -r)" \
            "$(. /etc/os-release && echo "$PRETTY_NAME")" \
            "$(if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then echo v2; else echo 'v1 (hybrid)'; fi)" \
            "$attach"
        printf -- '- peers from Debian: runc %s, podman %s (with runc, conmon %s, netavark %s), skopeo %s, buildah %s\n' \
            "$(dpkg-query -W -f '${Version}' runc 2>/dev/null)" "$(dpkg-query -W -f '${Version}' podman 2>/dev/null)" \
            "$(dpkg-query -W -f '${Version}' conmon 2>/dev/null)" "$(dpkg-query -W -f '${Version}' netavark 2>/dev/null)" \
            "$(dpkg-query -W -f '${Version}' skopeo 2>/dev/null)" \
            "$(dpkg-query -W -f '${Version}' buildah 2>/dev/null)"
        printf -- '- runs: %s pulls per tool; %s runs/execs per tool, round-robin after warm-up; medians\n' "$PULL_RUNS" "$RUNS"
        printf -- '- crun: %s\n' "$(if command -v crun >/dev/null; then crun --version | head -n 1; else echo 'not installed'; fi)"
        printf -- '- started %s (load average %s), finished %s (load average %s)\n' "$started" "$load0" \
            "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(cut -d ' ' -f 1-3 /proc/loadavg)"
        ((${#failed[@]} == 0)) || printf -- '- **failed parts: %s** (their figures are missing)\n' "${failed[*]}"
        printf '\n## Summary\n\n'
        summary
        for part in "${out[@]}"; do
            printf '\n'
            sed 's/^## /### /' "$BENCH_WORK/$part.md"
            part_chart "$part"
        done
    } >"$BENCH_WORK/RESULTS.md"

    cat "$BENCH_WORK/RESULTS.md"
    if ((${#failed[@]})); then
        bench_log "failed: ${failed[*]}; $RESULTS left as it was"
        exit 1
    fi
    if [[ ${PARTS[*]} == "$ALL_PARTS" ]]; then
        cp "$BENCH_WORK/RESULTS.md" "$RESULTS"
        # The charts RESULTS.md links to, and no older ones beside them.
        rm -f "${RESULTS%/*}"/charts/*.svg
        if compgen -G "$BENCH_WORK/charts/*.svg" >/dev/null; then
            mkdir -p "${RESULTS%/*}/charts"
            cp "$BENCH_WORK"/charts/*.svg "${RESULTS%/*}/charts/"
        fi
        bench_log "wrote $RESULTS"
    else
        bench_log "BENCH_PARTS=${PARTS[*]}: $RESULTS left as it was"
    fi
}

main "$@"
