#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/oci.sh: koker-oci, koker's OCI runtime, against runc (and crun where it runs), in one
# run: start to exit of `true` from one prepared bundle with `koker-oci run` and `runc run`;
# `podman run --runtime` with each; and koker-run against koker-run built from an earlier
# commit (KOKER_BENCH_BASE), to check it got no slower.  Markdown tables on stdout, progress
# on stderr.  See bench/README.md.
#
#   BENCH_RUNS=20          timed runs per command, after BENCH_WARMUP=3 untimed ones
#   KOKER_BENCH_BASE=REV   the commit whose koker-run is the "before" (default: the parent of
#                          the commit that added src/koker-oci.cpp); `none` leaves it out.
#                          Built once from `git archive REV` in the temp dir, and cached
#                          in $BENCH_CACHE/base-SHA
#   BENCH_CACHE=DIR        /var/cache/koker-bench
#   BENCH_SCRATCH=DIR      put the stores and the bundle in DIR instead of a fresh loop ext4
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
CACHE=${BENCH_CACHE:-/var/cache/koker-bench}
RUNC=/usr/sbin/runc
# crun, podcrun and kokerbase join when they run here.
TOOLS=(true kokeroci runc podkoker podrunc kokerrun)
declare -A NA=() WHY=() cpu=()

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $WARMUP =~ ^[0-9]+$ ]] || bench_die "BENCH_WARMUP must be a number, not '$WARMUP'"

# ---------------------------------------------------------------- set-up

setup() {
    ROOTFS=$BENCH_SCRATCH/rootfs
    KOKER_STORE=$BENCH_SCRATCH/koker
    IMG=$(bench_koker_image "$ROOTFS" "$KOKER_STORE")
    bench_log "koker image $IMG"
    # One bundle for every runtime: runc spec's config (new mount, pid, net, ipc and uts
    # namespaces, no terminal) running `true` on the read-only busybox root.
    BUNDLE=$BENCH_SCRATCH/bundle-true
    bench_runc_bundle "$BUNDLE" "$ROOTFS" true
    # Each runtime keeps its state in its own --root here, not in /run.
    STATE=$BENCH_WORK/state
    mkdir -p "$STATE"

    bench_podman "$BENCH_SCRATCH/podman"
    bench_podman_net "$BENCH_SCRATCH/podman-net"
    podman_runtimes "$CONTAINERS_CONF"
    mapfile -t POD_KOKER < <(podman_run_args "$KOKER_BIN/koker-oci")
    mapfile -t POD_RUNC < <(podman_run_args "$RUNC")
    tar -C "$ROOTFS" -cf - . | "${PODMAN[@]}" import -q - localhost/bench/busybox:latest >/dev/null
    bench_log "podman image localhost/bench/busybox:latest"
}

# podman_runtimes CONF: koker-oci in podman's runtime_supports_json, so that conmon passes it
# --log-format json as it does runc and crun (podman matches the binary's base name), and a
# runtime named koker-oci in [engine.runtimes], so that podman finds it by name too.  CONF is
# podman's system file with comments left out (bench_podman_net), where neither is set.
podman_runtimes() {
    local conf=$1
    awk -v oci="$KOKER_BIN/koker-oci" '
        { print }
        $0 == "[engine]" { print "runtime_supports_json = [\"koker-oci\", \"crun\", \"runc\"]"; e = 1 }
        $0 == "[engine.runtimes]" { printf "koker-oci = [\"%s\"]\n", oci; r = 1 }
        END {
            if (!e) print "[engine]\nruntime_supports_json = [\"koker-oci\", \"crun\", \"runc\"]"
            if (!r) printf "[engine.runtimes]\nkoker-oci = [\"%s\"]\n", oci
        }
    ' "$conf" >"$conf.new"
    mv "$conf.new" "$conf"
}

# podman_run_args RUNTIME: `podman run` of `true` in the bench image with RUNTIME (a path).
# The ulimits: podman's default for the container is higher than this host allows runc.
podman_run_args() {
    printf '%s\n' run --rm --pull never --network none --runtime "$1" \
        --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 localhost/bench/busybox:latest true
}

# crun joins only if it is installed and one trial run works (Debian's crun 1.8 refuses a
# hybrid cgroup host, even with its cgroup manager disabled).
setup_crun() {
    local log=$BENCH_WORK/crun-trial.log
    CRUN=$(command -v crun || true)
    if [[ -z $CRUN ]]; then
        NA[crun]="n/a: crun is not installed on this host"
        NA[podcrun]=${NA[crun]}
    elif ! "$CRUN" --root "$STATE/crun" run --bundle "$BUNDLE" "koker-bench-$$-trial" >"$log" 2>&1 </dev/null; then
        NA[crun]="n/a: crun $(crun_version) fails here"
        WHY[crun]=$(head -n 1 "$log")
        NA[podcrun]=${NA[crun]}
        "$CRUN" --root "$STATE/crun" delete -f "koker-bench-$$-trial" >/dev/null 2>&1 || true
    else
        TOOLS+=(crun)
        mapfile -t POD_CRUN < <(podman_run_args "$CRUN")
        if "${PODMAN[@]}" "${POD_CRUN[@]}" >"$log" 2>&1 </dev/null; then
            TOOLS+=(podcrun)
        else
            NA[podcrun]="n/a: podman with crun fails here"
            WHY[podcrun]=$(grep -m 1 -i error "$log" || head -n 1 "$log")
        fi
    fi
    bench_log "crun: ${NA[crun]:-joins} ${WHY[crun]:-}"
}

crun_version() {
    "$CRUN" --version 2>/dev/null | awk 'NR == 1 { print $3 }'
}

# ---------------------------------------------------------------- koker-run before

# The commit before koker-oci: the parent of the commit that added src/koker-oci.cpp.
default_base() {
    local added
    added=$(git -C "$BENCH_TOP" log --diff-filter=A --format=%H -- src/koker-oci.cpp 2>/dev/null | tail -n 1)
    [[ -n $added ]] && git -C "$BENCH_TOP" rev-parse --verify -q "$added^"
}

# setup_base: BASE_BIN, a directory with koker-run and koker-pull built from KOKER_BENCH_BASE,
# and IMG_BASE, the bench image in a store of their own; or NA[kokerbase] and why not.
setup_base() {
    local rev=${KOKER_BENCH_BASE:-} sha src log=$BENCH_WORK/base-build.log
    if [[ $rev == none ]]; then
        NA[kokerbase]="n/a: KOKER_BENCH_BASE=none"
        return 0
    fi
    [[ -n $rev ]] || rev=$(default_base) || true
    if [[ -z $rev ]] || ! sha=$(git -C "$BENCH_TOP" rev-parse --verify -q "$rev^{commit}"); then
        NA[kokerbase]="n/a: no commit ${rev:-before koker-oci} in $BENCH_TOP (set KOKER_BENCH_BASE)"
        return 0
    fi
    BASE_REV=$(git -C "$BENCH_TOP" rev-parse --short "$sha")
    BASE_BIN=$CACHE/base-$sha
    if [[ ! -x $BASE_BIN/koker-run || ! -x $BASE_BIN/koker-pull ]]; then
        bench_log "building koker-run and koker-pull of $BASE_REV (once; cached in $BASE_BIN)"
        src=$BENCH_WORK/base-src
        mkdir -p "$src" "$CACHE"
        if ! git -C "$BENCH_TOP" archive "$sha" | tar -x -C "$src" ||
            ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
                make -C "$src" -s -j"$(nproc)" bin/koker-run bin/koker-pull >"$log" 2>&1; then
            tail -n 20 "$log" >&2
            NA[kokerbase]="n/a: the build of $BASE_REV failed"
            return 0
        fi
        rm -rf "$BASE_BIN.tmp.$$"
        mkdir -p "$BASE_BIN.tmp.$$"
        cp -p "$src/bin/koker-run" "$src/bin/koker-pull" "$BASE_BIN.tmp.$$/"
        rm -rf "$BASE_BIN"
        mv "$BASE_BIN.tmp.$$" "$BASE_BIN"
        rm -rf "$src"
    fi
    BASE_STORE=$BENCH_SCRATCH/koker-base
    if ! IMG_BASE=$("$BASE_BIN/koker-pull" -q --root "$BASE_STORE" --tag bench/busybox "dir:$ROOTFS" 2>"$log") ||
        ! "$BASE_BIN/koker-run" --root "$BASE_STORE" --rm --network none "$IMG_BASE" true >>"$log" 2>&1 </dev/null; then
        NA[kokerbase]="n/a: koker-run of $BASE_REV fails here"
        WHY[kokerbase]=$(tail -n 1 "$log")
        return 0
    fi
    TOOLS+=(kokerbase)
    bench_log "koker-run of $BASE_REV: image $IMG_BASE in its own store"
}

# ---------------------------------------------------------------- clean-up

# What a failed run left in the runtimes' own roots.
delete_runtimes() {
    local rt dir id
    [[ -d ${STATE:-} ]] || return 0
    for rt in koker-oci runc crun; do
        dir=$STATE/$rt
        [[ -d $dir ]] || continue
        case $rt in
            koker-oci) rt=$KOKER_BIN/koker-oci ;;
            runc) rt=$RUNC ;;
            crun) rt=${CRUN:-crun} ;;
        esac
        for id in $("$rt" --root "$dir" list -q 2>/dev/null); do
            "$rt" --root "$dir" delete -f "$id" >/dev/null 2>&1 || bench_log "unable to delete $id ($rt)"
        done
    done
    return 0
}

# podman's containers (by the runtime each was made with), its overlay mounts, and the
# runtimes' default roots in /run if this run made them (conmon passes no --root).
remove_podman() {
    [[ -n ${BENCH_SCRATCH:-} && -d $BENCH_SCRATCH/podman ]] || return 0
    "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
    bench_umount_under "$BENCH_SCRATCH/podman"
    local d
    for d in "${RUN_NEW[@]}"; do
        [[ -d $d ]] && rmdir "$d" 2>/dev/null
    done
    return 0
}

RUN_NEW=()
guard_run_dirs() {
    local d
    for d in /run/koker-oci /run/runc /run/crun; do
        [[ -e $d ]] || RUN_NEW+=("$d")
    done
}

# ---------------------------------------------------------------- one run per command

# run_TOOL LABEL: one timed start to exit of `true`; sets BENCH_NS.
run_true() {
    bench_time "$BENCH_WORK/true.log" /bin/true
}

# run_bundle NAME BINARY LABEL: `BINARY --root STATE/NAME run --bundle BUNDLE ID`; the
# delete that follows (untimed) only matters when the run did not delete the container.
run_bundle() {
    local id=koker-bench-$$-$3
    bench_time "$BENCH_WORK/$1.log" "$2" --root "$STATE/$1" run --bundle "$BUNDLE" "$id"
    "$2" --root "$STATE/$1" delete -f "$id" >/dev/null 2>&1 || true
}

run_kokeroci() {
    run_bundle koker-oci "$KOKER_BIN/koker-oci" "$1"
}

run_runc() {
    run_bundle runc "$RUNC" "$1"
}

run_crun() {
    run_bundle crun "$CRUN" "$1"
}

run_podkoker() {
    bench_time "$BENCH_WORK/podkoker.log" "${PODMAN[@]}" "${POD_KOKER[@]}"
}

run_podrunc() {
    bench_time "$BENCH_WORK/podrunc.log" "${PODMAN[@]}" "${POD_RUNC[@]}"
}

run_podcrun() {
    bench_time "$BENCH_WORK/podcrun.log" "${PODMAN[@]}" "${POD_CRUN[@]}"
}

run_kokerrun() {
    bench_time "$BENCH_WORK/kokerrun.log" "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --rm \
        --network none "$IMG" true
}

run_kokerbase() {
    bench_time "$BENCH_WORK/kokerbase.log" "$BASE_BIN/koker-run" --root "$BASE_STORE" --rm \
        --network none "$IMG_BASE" true
}

# ---------------------------------------------------------------- main

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (namespaces, cgroups, mounts)"
    bench_deps runc podman busybox-static jq e2fsprogs mount git make g++
    [[ -x $BENCH_TOP/bin/koker-oci && -x $BENCH_TOP/bin/koker-run ]] ||
        bench_die "no $BENCH_TOP/bin/koker-oci: run make all"
    [[ -x $RUNC ]] || bench_die "no $RUNC"

    bench_workdir oci
    bench_cgroups_guard
    bench_scratch 1G
    guard_run_dirs
    bench_net_guard # after the podman clean-up below, before the unmount of the store
    bench_on_exit delete_runtimes
    bench_on_exit remove_podman
    setup
    setup_crun
    setup_base

    local tool i
    local -A samples=() cpus=()
    bench_log "warm-up: $WARMUP runs each of ${TOOLS[*]}"
    for ((i = 1; i <= WARMUP; i++)); do
        for tool in "${TOOLS[@]}"; do
            "run_$tool" "w$i"
        done
    done
    # Round-robin, so drift in the machine's speed hits every command alike.
    for ((i = 1; i <= RUNS; i++)); do
        for tool in "${TOOLS[@]}"; do
            "run_$tool" "$i"
            samples[$tool]+=" $BENCH_NS"
            cpus[$tool]+=" $BENCH_CPU_NS"
        done
        ((i % 5 == 0 || i == RUNS)) && bench_log "run $i/$RUNS"
    done

    bench_tool_stats oci "${TOOLS[@]}"
    for tool in crun podcrun kokerbase; do
        [[ -z ${NA[$tool]:-} ]] || bench_summary "oci.$tool" "${NA[$tool]}"
    done
    [[ -z ${BASE_REV:-} ]] || bench_summary oci.base "$BASE_REV"
    LEFT=$(leftovers)
    report
}

# What the runs left: containers in the runtimes' roots, cgroups named after the bench's ids.
leftovers() {
    local n=0 rt dir
    for rt in koker-oci runc crun; do
        dir=$STATE/$rt
        [[ -d $dir ]] || continue
        n=$((n + $(find "$dir" -mindepth 1 -maxdepth 1 -type d | wc -l)))
    done
    n=$((n + $(find /sys/fs/cgroup -maxdepth 4 -type d -name "*koker-bench-$$-*" 2>/dev/null | wc -l)))
    if ((n == 0)); then echo none; else echo "**$n**"; fi
}

# row NAME TOOL BASE [OP LIMIT]: a table row of TOOL's figures and its ratio to BASE's median;
# with OP (<= or <) and LIMIT, the target on that ratio, met or MISSED.
row() {
    local name=$1 tool=$2 base=$3 op=${4:-} limit=${5:-} r v=
    if [[ -n ${NA[$tool]:-} ]]; then
        printf '| %s | %s | | | | | %s |\n' "$name" "${NA[$tool]}" "${WHY[$tool]:-}"
        return 0
    fi
    r=$(awk -v a="${med[$tool]}" -v b="${med[$base]}" 'BEGIN { printf "%.2f", a / b }')
    if [[ -n $op ]]; then
        # The ratio unrounded, against the limit.
        if awk -v a="${med[$tool]}" -v b="${med[$base]}" -v l="$limit" "BEGIN { exit !(a / b $op l) }"; then
            v=met
        else
            v="**MISSED**"
        fi
        v="target $([[ $op == '<=' ]] && echo '≤' || echo '<') $limit: $v"
    fi
    printf '| %s | %s ms | %s ms | %s ms | %s ms | %s | %s |\n' "$name" "$(bench_ms "${med[$tool]}")" \
        "$(bench_ms "${min[$tool]}")" "$(bench_ms "${max[$tool]}")" "$(bench_ms "${cpu[$tool]}")" "$r" "$v"
}

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local runc_v podman_v
    runc_v=$("$RUNC" --version | awk 'NR == 1 { print $3 }')
    podman_v=$(podman --version | awk '{ print $3 }')

    printf '## OCI runtimes: start to exit of `true` from a bundle\n\n'
    printf -- '- bundle: `runc spec`'"'"'s config.json (new mount, pid, network, ipc and uts namespaces; no terminal) running `true` on a read-only busybox-static %s root shared by every run\n' \
        "$(dpkg-query -W -f '${Version}' busybox-static)"
    printf -- '- `koker-oci run`, `runc run` (runc %s)%s: each with its own `--root` in the temp dir, a new container id for each run, `delete -f` untimed\n' \
        "$runc_v" "$(if [[ -z ${NA[crun]:-} ]]; then printf ', `crun run` (crun %s)' "$(crun_version)"; fi)"
    printf -- '- %s timed runs per command after %s warm-up runs, round-robin with the tables below; wall time from fork to wait (bash EPOCHREALTIME); median\n' \
        "$RUNS" "$WARMUP"
    bench_machine
    printf -- '- CPU: user + system time of the command and of the processes it waited for (getrusage of the children, 1 ms resolution), median\n'
    printf -- '- left behind after the runs (containers in the runtimes'"'"' roots, cgroups named after the bench'"'"'s ids): %s\n' "$LEFT"
    printf '\n| command | median | min | max | CPU | / runc run | |\n'
    printf '|---|---:|---:|---:|---:|---:|---|\n'
    row '/bin/true on the host (timer and fork+exec floor)' true runc
    row '`koker-oci run`' kokeroci runc '<=' "$TARGET_OCI_RUNC"
    row '`runc run`' runc runc
    row '`crun run`' crun runc

    printf '\n## podman with each runtime\n\n'
    printf -- '- podman %s: `podman --runtime RUNTIME run --rm --pull never --network none --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 IMAGE true`, RUNTIME a path, image from `podman import`, overlay, cgroupfs, conmon %s\n' \
        "$podman_v" "$(dpkg-query -W -f '${Version}' conmon 2>/dev/null)"
    printf -- '- podman'"'"'s containers.conf lists koker-oci in `runtime_supports_json`, as runc and crun are by default, so conmon passes each the same `--log-format json`\n'
    printf -- '- conmon runs each runtime with its default `--root` (/run/koker-oci, /run/runc); CPU leaves out conmon, which podman does not wait for\n'
    printf '\n| command | median | min | max | CPU | / podman with runc | |\n'
    printf '|---|---:|---:|---:|---:|---:|---|\n'
    row '`podman --runtime koker-oci run`' podkoker podrunc '<' "$TARGET_PODMAN_OCI"
    row '`podman --runtime runc run`' podrunc podrunc
    row '`podman --runtime crun run`' podcrun podrunc

    printf '\n## koker-run against an earlier build\n\n'
    printf -- '- `koker-run --rm --network none ID true`, each build with its own store of the same image, in the same rounds as the tables above\n'
    if [[ -n ${BASE_REV:-} ]]; then
        printf -- '- the earlier build: commit %s of %s%s, built from `git archive` with this machine'"'"'s compiler\n' \
            "$BASE_REV" "$(git -C "$BENCH_TOP" log -1 --format=%cs "$BASE_REV")" \
            "$([[ -n ${KOKER_BENCH_BASE:-} ]] || echo ', the parent of the commit that added src/koker-oci.cpp (KOKER_BENCH_BASE unset)')"
    fi
    printf '\n| command | median | min | max | CPU | / earlier build | |\n'
    printf '|---|---:|---:|---:|---:|---:|---|\n'
    if [[ -n ${NA[kokerbase]:-} ]]; then
        printf '| koker-run, this tree | %s ms | %s ms | %s ms | %s ms | | |\n' "$(bench_ms "${med[kokerrun]}")" \
            "$(bench_ms "${min[kokerrun]}")" "$(bench_ms "${max[kokerrun]}")" "$(bench_ms "${cpu[kokerrun]}")"
    else
        row "koker-run, this tree ($(git -C "$BENCH_TOP" rev-parse --short HEAD 2>/dev/null || echo '?'))" \
            kokerrun kokerbase '<=' "$TARGET_BASE"
    fi
    row "koker-run, ${BASE_REV:-the earlier build}" kokerbase kokerbase
}

main "$@"
