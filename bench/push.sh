#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/push.sh: push a debian-sized image (a busybox layer and 4 layers of 20 MiB of random
# data, gzip, ~85 MiB) from a local store to a fresh docker-registry on 127.0.0.1 with
# koker-push, against skopeo copy of the same image from its OCI layout to another fresh
# registry, and print the medians as a markdown table on stdout.  Progress goes to stderr.
# Not part of `make bench` or `make check`.  See bench/README.md.
#
#   BENCH_RUNS=5            timed runs per tool, after one warm-up run each
#   BENCH_LAYER_MB=20       MiB of random data per layer (4 such layers)
#   BENCH_KEEP=1            keep the temp dir (registry storage, logs)
#   BENCH_TARGET=RATIO      the koker/skopeo ratio to meet (default 1.00: "at most skopeo's time")

# The rest needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"

RUNS=${BENCH_RUNS:-5}
LAYER_MB=${BENCH_LAYER_MB:-20}
TARGET_PUSH=${BENCH_TARGET:-1.00} # koker-push's median at most this times skopeo copy's

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $LAYER_MB =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_LAYER_MB must be a positive number"

# The image: busybox, then 4 layers of random data (incompressible, as binaries nearly are).
build_image() {
    local stage=$BENCH_WORK/stage i args=()
    mkdir -p "$stage/rootfs"
    koker_make_rootfs "$stage/rootfs"
    tar -C "$stage/rootfs" --numeric-owner --sort=name -cf - . | gzip -6 -n >"$stage/0.tar.gz"
    args+=(--layer "$stage/0.tar.gz")
    for i in 1 2 3 4; do
        mkdir -p "$stage/l$i/data"
        head -c "$((LAYER_MB << 20))" /dev/urandom >"$stage/l$i/data/blob$i"
        tar -C "$stage/l$i" --numeric-owner --sort=name -cf - . | gzip -1 -n >"$stage/$i.tar.gz"
        args+=(--layer "$stage/$i.tar.gz")
    done
    "$KOKER_TEST_PYTHON" "$BENCH_TOP/tests/fixtures/mkimage.py" "$LAYOUT" bench "${args[@]}" \
        --config '{"Cmd": ["sh"]}' >/dev/null
    rm -rf "$stage"
}

# A registry of its own for each run ($1: a label); sets REG.
fresh_registry() {
    koker_registry_start "registry-$1"
    REG=$KOKER_REPLY
}

push_koker() {
    fresh_registry "koker-$1"
    bench_time "$BENCH_WORK/koker-$1.log" "$KOKER_BIN/koker-push" -q --root "$STORE" \
        bench/push:1 "$REG/bench/push:1"
    grep -Eq '^sha256:[0-9a-f]{64}$' "$BENCH_WORK/koker-$1.log" ||
        bench_die "koker-push printed no digest: $(cat "$BENCH_WORK/koker-$1.log")"
    rm -rf "$BENCH_WORK/registry-koker-$1/storage"
}

push_skopeo() {
    fresh_registry "skopeo-$1"
    bench_time "$BENCH_WORK/skopeo-$1.log" skopeo --insecure-policy copy -q \
        --dest-tls-verify=false "oci:$LAYOUT:bench" "docker://$REG/bench/push:1"
    rm -rf "$BENCH_WORK/registry-skopeo-$1/storage"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
}

seconds() {
    awk -v ns="$1" 'BEGIN { printf "%.3f s\n", ns / 1e9 }'
}

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (the koker store is root's)"
    bench_deps docker-registry skopeo busybox-static python3 curl jq gzip tar
    [[ -x $BENCH_TOP/bin/koker-push ]] || bench_die "no $BENCH_TOP/bin/koker-push: run make all"
    bench_workdir push
    BENCH_SCRATCH_WHAT="$(findmnt -n -o FSTYPE -T "$BENCH_WORK") $BENCH_WORK"
    LAYOUT=$BENCH_WORK/layout
    STORE=$BENCH_WORK/store
    bench_log "building the image (busybox + 4 x $LAYER_MB MiB of random data)"
    build_image
    "$KOKER_BIN/koker-pull" -q --root "$STORE" --tag bench/push:1 "oci:$LAYOUT:bench" >/dev/null

    local tool i
    local -A samples=([koker]="" [skopeo]="") cpus=([koker]="" [skopeo]="")
    for tool in koker skopeo; do
        bench_log "warm-up: $tool"
        "push_$tool" w
    done
    # Round-robin, so drift in the machine's speed hits both alike.
    for ((i = 1; i <= RUNS; i++)); do
        for tool in koker skopeo; do
            "push_$tool" "$i"
            bench_log "run $i/$RUNS: $tool $(seconds "$BENCH_NS")"
            samples[$tool]+=" $BENCH_NS"
            cpus[$tool]+=" $BENCH_CPU_NS"
        done
    done
    local -A cpu
    bench_tool_stats push koker skopeo

    local r verdict manifest compressed layers
    r=$(ratio "${med[koker]}" "${med[skopeo]}")
    if awk -v r="$r" -v t="$TARGET_PUSH" 'BEGIN { exit !(r <= t) }'; then
        verdict="met"
    else
        verdict="**MISSED**"
    fi
    manifest=$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$LAYOUT/index.json")
    compressed=$(jq '.layers | map(.size) | add' "$LAYOUT/blobs/sha256/$manifest")
    layers=$(jq '.layers | length' "$LAYOUT/blobs/sha256/$manifest")

    printf '## Push to a local registry\n\n'
    printf -- '- image: busybox + 4 layers of %s MiB of random data, %s gzip layers, %s MiB compressed\n' \
        "$LAYER_MB" "$layers" "$((compressed / 1048576))"
    printf -- '- koker-push from a store the OCI layout was pulled into; skopeo copy from that layout (oci:); each run to a new, empty docker-registry %s on 127.0.0.1 (plain HTTP)\n' \
        "$(dpkg-query -W -f '${Version}' docker-registry)"
    printf -- '- %s timed runs per tool after one warm-up, round-robin; page cache warm; median; skopeo %s\n' \
        "$RUNS" "$(skopeo --version | awk '{print $3}')"
    bench_machine
    printf '\n| tool | median | min | max | CPU (median) | / skopeo |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    printf '| koker-push | %s | %s | %s | %s | %s (target ≤ %s: %s) |\n' \
        "$(seconds "${med[koker]}")" "$(seconds "${min[koker]}")" "$(seconds "${max[koker]}")" \
        "$(seconds "${cpu[koker]}")" "$r" "$TARGET_PUSH" "$verdict"
    printf '| skopeo copy oci: docker:// | %s | %s | %s | %s | 1.00 |\n' \
        "$(seconds "${med[skopeo]}")" "$(seconds "${min[skopeo]}")" "$(seconds "${max[skopeo]}")" \
        "$(seconds "${cpu[skopeo]}")"
}

main "$@"
