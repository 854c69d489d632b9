#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/commit.sh: koker-commit against podman commit of a stopped busybox container that
# wrote 50 files of 1 MiB (random bytes, so compression could not hide work); the same image
# in both, from one local OCI layout (umoci). Markdown on stdout, progress on stderr.  See
# bench/README.md.  Not part of all.sh.
#
#   BENCH_RUNS=7           timed commits per tool, after one untimed each, round-robin
#   BENCH_COMMIT_MB=50     MiB of changes
#   BENCH_SCRATCH=DIR      put the stores in DIR instead of a fresh loop-mounted ext4
#   BENCH_KEEP=1           keep the temp dir (logs)

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

RUNS=${BENCH_RUNS:-7}
MB=${BENCH_COMMIT_MB:-50}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $MB =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_COMMIT_MB must be a positive number, not '$MB'"

WRITE="mkdir /data; i=0; while [ \$i -lt $MB ]; do head -c 1048576 /dev/urandom >/data/f\$i; i=\$((i+1)); done"

setup() {
    local rootfs=$BENCH_SCRATCH/rootfs layout=$BENCH_SCRATCH/layout
    bench_log "busybox root filesystem in $rootfs, OCI layout $layout"
    koker_make_rootfs "$rootfs"
    umoci init --layout "$layout"
    umoci new --image "$layout:busybox"
    umoci insert --image "$layout:busybox" "$rootfs" / >/dev/null
    umoci config --image "$layout:busybox" --config.cmd sh

    KOKER_STORE=$BENCH_SCRATCH/koker
    IMG=$("$KOKER_BIN/koker-pull" -q --root "$KOKER_STORE" "oci:$layout:busybox")
    "$KOKER_BIN/koker-run" --root "$KOKER_STORE" --name bench-commit --network none "$IMG" \
        sh -c "$WRITE" >/dev/null

    bench_podman "$BENCH_SCRATCH/podman"
    # podman pull oci:DIR names the image after DIR, which mktemp made mixed-case: skopeo
    # copies it into podman's store under a name of ours.
    koker_skopeo copy -q "oci:$layout:busybox" \
        "containers-storage:[overlay@${PODMAN[2]}+${PODMAN[4]}]localhost/bench/busybox:latest" >/dev/null
    PODMAN_IMG=localhost/bench/busybox:latest
    "${PODMAN[@]}" run --name bench-commit --pull never --runtime runc --network none \
        --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 "$PODMAN_IMG" sh -c "$WRITE"
    bench_log "koker image $IMG, podman image $PODMAN_IMG; $MB MiB written in each container"
}

remove_podman() {
    [[ -n ${BENCH_SCRATCH:-} && -d $BENCH_SCRATCH/podman ]] || return 0
    "${PODMAN[@]}" rm -af >/dev/null 2>&1
    "${PODMAN[@]}" rmi -af >/dev/null 2>&1
    bench_umount_under "$BENCH_SCRATCH/podman"
    return 0
}

remove_koker() {
    [[ -n ${KOKER_STORE:-} && -d $KOKER_STORE ]] || return 0
    "$KOKER_BIN/koker-rm" --root "$KOKER_STORE" -f bench-commit >/dev/null 2>&1
    return 0
}

# commit_TOOL N: one timed commit, then (untimed) the image removed, so every commit starts
# from the same store; sets BENCH_NS.
commit_koker() {
    bench_time "$BENCH_WORK/koker.log" "$KOKER_BIN/koker-commit" --root "$KOKER_STORE" \
        bench-commit "bench/commit:$1"
    "$KOKER_BIN/koker-rmi" --root "$KOKER_STORE" "bench/commit:$1" >/dev/null 2>&1
}

commit_podman() {
    bench_time "$BENCH_WORK/podman.log" "${PODMAN[@]}" commit -q bench-commit "bench/commit:$1"
    "${PODMAN[@]}" rmi "bench/commit:$1" >/dev/null 2>&1
}

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (namespaces, cgroups, mounts)"
    bench_deps podman runc umoci skopeo busybox-static jq e2fsprogs mount
    [[ -x $BENCH_TOP/bin/koker-commit ]] || bench_die "no $BENCH_TOP/bin/koker-commit: run make all"
    bench_workdir commit
    bench_cgroups_guard
    bench_scratch 2G
    bench_on_exit remove_podman
    bench_on_exit remove_koker
    setup

    local tool i
    local -A samples=() cpus=()
    declare -gA cpu=()
    bench_log "warm-up: one commit each"
    commit_koker w
    commit_podman w
    for ((i = 1; i <= RUNS; i++)); do
        for tool in koker podman; do
            "commit_$tool" "$i"
            samples[$tool]+=" $BENCH_NS"
            cpus[$tool]+=" $BENCH_CPU_NS"
        done
        bench_log "run $i/$RUNS"
    done
    bench_tool_stats commit koker podman
    report
}

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local ratio verdict
    ratio=$(awk -v a="${med[koker]}" -v b="${med[podman]}" 'BEGIN { printf "%.2f", a / b }')
    if awk -v r="$ratio" -v t="$TARGET_COMMIT" 'BEGIN { exit !(r <= t) }'; then verdict=met; else verdict="**MISSED**"; fi
    printf '## Commit of a container with %s MiB of changes\n\n' "$MB"
    printf -- '- image: busybox-static %s, one layer, from one OCI layout (umoci) into both stores\n' \
        "$(dpkg-query -W -f '${Version}' busybox-static)"
    printf -- '- the container (stopped) wrote %s files of 1 MiB from /dev/urandom under /data\n' "$MB"
    printf -- '- koker-commit: the upper layer as a tar blob in blobs/, unpacked into layers/ at the same time, config, manifest, images.json\n'
    printf -- '- podman %s commit -q (overlay, fresh --root): the diff into containers-storage, config, manifest\n' \
        "$(podman --version | awk '{print $3}')"
    printf -- '- %s timed commits per tool after one untimed each, round-robin, each image removed (untimed) before the next; median\n' "$RUNS"
    bench_machine
    printf '\n| command | median | min | max | CPU | / podman |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    printf '| koker-commit | %s ms | %s ms | %s ms | %s ms | %s (target ≤ %s: %s) |\n' \
        "$(bench_ms "${med[koker]}")" "$(bench_ms "${min[koker]}")" "$(bench_ms "${max[koker]}")" \
        "$(bench_ms "${cpu[koker]}")" "$ratio" "$TARGET_COMMIT" "$verdict"
    printf '| podman commit | %s ms | %s ms | %s ms | %s ms | 1.00 |\n' \
        "$(bench_ms "${med[podman]}")" "$(bench_ms "${min[podman]}")" "$(bench_ms "${max[podman]}")" \
        "$(bench_ms "${cpu[podman]}")"
}

main "$@"
