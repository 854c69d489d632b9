#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/build.sh: koker build against `buildah bud --isolation chroot` of the same context, a
# 3-step Containerfile (RUN, COPY, ENV) on a busybox base, uncached and fully cached.
# Markdown on stdout, progress on stderr.  See bench/README.md.
#
#   BENCH_RUNS=10          timed builds per tool and case, after one untimed each, round-robin
#   BENCH_BUILD_KB=1024    KiB of random data the COPY step copies
#   BENCH_SCRATCH=DIR      put the stores in DIR instead of a fresh loop-mounted ext4
#   BENCH_KEEP=1           keep the temp dir (logs)
#
# Both tools do the same work in each case: an image per step (buildah --layers, as docker's
# classic builder and koker do), the RUN on the host's network (buildah's chroot isolation
# makes no network namespace; koker --network host), nothing pulled.  Uncached: --no-cache.
# Cached: the same build again, every step found in the cache.  buildah's default (no
# --layers: one commit at the end, never cached) is timed too, for the record.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

RUNS=${BENCH_RUNS:-10}
KB=${BENCH_BUILD_KB:-1024}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $KB =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_BUILD_KB must be a positive number, not '$KB'"

IMAGE=localhost/bench/busybox:latest

# The base in both stores from one OCI layout (umoci), under the same name, and the context.
setup() {
    local rootfs=$BENCH_SCRATCH/rootfs layout=$BENCH_SCRATCH/layout
    bench_log "busybox root filesystem in $rootfs, OCI layout $layout"
    koker_make_rootfs "$rootfs"
    umoci init --layout "$layout"
    umoci new --image "$layout:busybox"
    umoci insert --image "$layout:busybox" "$rootfs" / >/dev/null
    umoci config --image "$layout:busybox" --config.cmd sh

    export KOKER_ROOT=$BENCH_SCRATCH/koker
    "$KOKER_BIN/koker-pull" -q --tag "$IMAGE" "oci:$layout:busybox" >/dev/null

    local bh=$BENCH_SCRATCH/buildah
    mkdir -p "$bh/root" "$bh/runroot" "$bh/tmp"
    printf 'unqualified-search-registries = []\n' >"$bh/registries.conf"
    BUILDAH=(env "CONTAINERS_REGISTRIES_CONF=$bh/registries.conf" "TMPDIR=$bh/tmp"
        buildah --root "$bh/root" --runroot "$bh/runroot" --storage-driver overlay)
    koker_skopeo copy -q "oci:$layout:busybox" \
        "containers-storage:[overlay@$bh/root+$bh/runroot]$IMAGE" >/dev/null

    CTX=$BENCH_SCRATCH/context
    mkdir -p "$CTX"
    head -c "$((KB * 1024))" /dev/urandom >"$CTX/data"
    cat >"$CTX/Containerfile" <<EOF
FROM $IMAGE
RUN echo built >/built
COPY data /data
ENV BENCH=1
EOF
    bench_log "context: a 3-step Containerfile and $KB KiB of data, in $CTX"
}

remove_buildah() {
    [[ -n ${BENCH_SCRATCH:-} && -d $BENCH_SCRATCH/buildah ]] || return 0
    "${BUILDAH[@]}" rm -a >/dev/null 2>&1
    "${BUILDAH[@]}" rmi -a -f >/dev/null 2>&1
    bench_umount_under "$BENCH_SCRATCH/buildah"
    return 0
}

remove_koker() {
    [[ -n ${KOKER_ROOT:-} && -d $KOKER_ROOT ]] || return 0
    local ids
    ids=$("$KOKER_BIN/koker-ps" -a -q 2>/dev/null) || true
    # shellcheck disable=SC2086 # one ID per word
    [[ -z $ids ]] || "$KOKER_BIN/koker-rm" -f $ids >/dev/null 2>&1
    return 0
}

# build_TOOL CASE: one timed build (CASE uncached, cached or default); sets BENCH_NS.
build_koker() {
    local flags=()
    [[ $1 == cached ]] || flags=(--no-cache)
    bench_time "$BENCH_WORK/koker-$1.log" "$KOKER_BIN/koker-build" -q "${flags[@]}" \
        --network host -t bench/build "$CTX"
}

build_buildah() {
    local flags=(--layers)
    case $1 in
    uncached) flags+=(--no-cache) ;;
    default) flags=() ;;
    esac
    bench_time "$BENCH_WORK/buildah-$1.log" "${BUILDAH[@]}" bud -q --isolation chroot \
        --pull-never "${flags[@]}" -t bench/build "$CTX"
}

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (namespaces, mounts)"
    bench_deps buildah umoci skopeo busybox-static jq e2fsprogs mount
    [[ -x $BENCH_TOP/bin/koker-build ]] || bench_die "no $BENCH_TOP/bin/koker-build: run make all"
    bench_workdir build
    bench_cgroups_guard
    bench_scratch 2G
    bench_on_exit remove_buildah
    bench_on_exit remove_koker
    setup

    local tool kase i
    local -A samples=() cpus=()
    declare -gA cpu=()
    bench_log "warm-up: one build each (it also fills the caches)"
    for tool in koker buildah; do
        "build_$tool" cached
    done
    build_buildah default
    for ((i = 1; i <= RUNS; i++)); do
        for kase in uncached cached; do
            for tool in koker buildah; do
                "build_$tool" "$kase"
                samples[$tool-$kase]+=" $BENCH_NS"
                cpus[$tool-$kase]+=" $BENCH_CPU_NS"
            done
        done
        build_buildah default
        samples[buildah-default]+=" $BENCH_NS"
        cpus[buildah-default]+=" $BENCH_CPU_NS"
        bench_log "run $i/$RUNS"
    done
    bench_tool_stats build koker-uncached buildah-uncached koker-cached buildah-cached buildah-default
    # the cached builds really were: every step a cache hit, and no new image
    "$KOKER_BIN/koker-build" --network host -t bench/build "$CTX" 2>&1 >/dev/null |
        grep -c '^ ---> Using cache$' | grep -qx 3 || bench_die "koker build did not reuse all 3 steps"
    report
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

verdict() {
    if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r <= t) }'; then echo met; else echo "**MISSED**"; fi
}

row() { # LABEL KEY [RATIO TARGET]
    local ratio=
    [[ -z ${3:-} ]] || ratio="$3 (target ≤ $4: $(verdict "$3" "$4"))"
    printf '| %s | %s ms | %s ms | %s ms | %s ms | %s |\n' "$1" \
        "$(bench_ms "${med[$2]}")" "$(bench_ms "${min[$2]}")" "$(bench_ms "${max[$2]}")" \
        "$(bench_ms "${cpu[$2]}")" "$ratio"
}

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local ru rc
    ru=$(ratio "${med[koker-uncached]}" "${med[buildah-uncached]}")
    rc=$(ratio "${med[koker-cached]}" "${med[buildah-cached]}")
    bench_summary build.uncached.ratio "$ru"
    bench_summary build.cached.ratio "$rc"
    printf '## Build of a 3-step Containerfile (RUN, COPY, ENV)\n\n'
    printf -- '- base: busybox-static %s, one layer, from one OCI layout (umoci) into both stores; the COPY copies %s KiB of random data\n' \
        "$(dpkg-query -W -f '${Version}' busybox-static)" "$KB"
    printf -- '- koker build -q --network host; buildah %s bud -q --isolation chroot --layers --pull-never (overlay, fresh --root); uncached: --no-cache; cached: every step from the cache\n' \
        "$(buildah --version | awk '{print $3}')"
    printf -- '- %s timed builds per tool and case after one untimed each, round-robin; median\n' "$RUNS"
    bench_machine
    printf '\n| command | median | min | max | CPU | / buildah |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    row 'koker build --no-cache' koker-uncached "$ru" "$TARGET_BUILD_UNCACHED"
    row 'buildah bud --layers --no-cache' buildah-uncached
    row 'koker build, cached' koker-cached "$rc" "$TARGET_BUILD_CACHED"
    row 'buildah bud --layers, cached' buildah-cached
    row 'buildah bud (its default: no --layers, one commit, no cache)' buildah-default
}

main "$@"
