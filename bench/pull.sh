#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/pull.sh: pull a ~200 MB, 4-layer image from a docker-registry on 127.0.0.1 into an
# empty store with koker-pull, podman pull and skopeo copy (dir:, download only), and print
# the medians as a markdown table on stdout.  Progress goes to stderr.  See bench/README.md.
#
#   BENCH_RUNS=5            timed runs per tool, after one warm-up run each
#   BENCH_CACHE=/var/cache/koker-bench   where the image layout is built once and kept
#   BENCH_MIRROR=http://deb.debian.org/debian   debootstrap's mirror
#   BENCH_ROOTFS=DIR        use DIR as the image's root filesystem instead of debootstrap
#   BENCH_KEEP=1            keep the temp dir (registry storage, logs)
#   BENCH_TARGET=RATIO      the koker/podman ratio to meet (default: bench/targets.sh)

# `make bench` runs this with sh; the rest needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

RUNS=${BENCH_RUNS:-5}
CACHE=${BENCH_CACHE:-/var/cache/koker-bench}
MIRROR=${BENCH_MIRROR:-http://deb.debian.org/debian}
# Bump when the recipe below changes, so cached layouts are rebuilt.
RECIPE="bookworm minbase +python3,perl; layers usr/lib usr/share usr rest; gzip -6; v1"
LAYOUT=$CACHE/debian-bookworm
STAGE=

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"

# An interrupted debootstrap leaves its /proc and /sys mounts in the stage.
remove_stage() {
    [[ -n $STAGE ]] || return 0
    bench_umount_under "$STAGE"
    rm -rf --one-file-system "$STAGE"
}

# tar_layer ROOT OUT TAR_ARG...: a gzip layer of the members (and --excludes) TAR_ARGs name in
# ROOT, as image builders write them: numeric owners, sorted names, no gzip timestamp.
tar_layer() {
    local root=$1 out=$2
    shift 2
    tar -C "$root" --numeric-owner --sort=name --anchored -cf - "$@" | gzip -6 -n >"$out"
}

# Build the image layout in $LAYOUT (tag bookworm) unless a layout of this recipe is there.
build_image() {
    if [[ -f $LAYOUT/bench-recipe && $(<"$LAYOUT/bench-recipe") == "$RECIPE${BENCH_ROOTFS:+ from $BENCH_ROOTFS}" ]]; then
        bench_log "image layout cached in $LAYOUT"
        return 0
    fi
    mkdir -p "$CACHE"
    STAGE=$(mktemp -d "$CACHE/.stage.XXXXXX")
    bench_on_exit remove_stage
    local root=$STAGE/rootfs rest=()
    if [[ -n ${BENCH_ROOTFS:-} ]]; then
        [[ -d $BENCH_ROOTFS/usr/lib && -d $BENCH_ROOTFS/usr/share ]] ||
            bench_die "BENCH_ROOTFS=$BENCH_ROOTFS has no usr/lib and usr/share"
        root=$BENCH_ROOTFS
    else
        bench_log "debootstrap --variant=minbase bookworm from $MIRROR (once; about a minute)"
        debootstrap --variant=minbase --include=python3,perl bookworm "$root" "$MIRROR" \
            >"$STAGE/debootstrap.log" 2>&1 || {
            tail -n 20 "$STAGE/debootstrap.log" >&2
            bench_die "debootstrap failed; set BENCH_MIRROR, or BENCH_ROOTFS to a root filesystem"
        }
        # What image builders leave out: downloaded packages and package lists.
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    fi
    mapfile -t rest < <(cd "$root" && find . -mindepth 1 -maxdepth 1 ! -name usr -printf '%P\n' | sort)
    bench_log "making 4 gzip layers of $root"
    tar_layer "$root" "$STAGE/1.tar.gz" usr/lib
    tar_layer "$root" "$STAGE/2.tar.gz" usr/share
    tar_layer "$root" "$STAGE/3.tar.gz" --exclude=usr/lib --exclude=usr/share usr
    tar_layer "$root" "$STAGE/4.tar.gz" "${rest[@]}"
    "$KOKER_TEST_PYTHON" "$BENCH_TOP/tests/fixtures/mkimage.py" "$STAGE/layout" bookworm \
        --layer "$STAGE/1.tar.gz" --layer "$STAGE/2.tar.gz" \
        --layer "$STAGE/3.tar.gz" --layer "$STAGE/4.tar.gz" \
        --config '{"Cmd": ["/bin/bash"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}' \
        >/dev/null
    printf '%s MiB, %s files and directories\n' "$(($(du -sk "$root" | cut -f1) / 1024))" \
        "$(find "$root" -xdev | wc -l)" >"$STAGE/layout/bench-rootfs"
    printf '%s\n' "$RECIPE${BENCH_ROOTFS:+ from $BENCH_ROOTFS}" >"$STAGE/layout/bench-recipe"
    rm -rf "$LAYOUT"
    mv "$STAGE/layout" "$LAYOUT"
    rm -rf --one-file-system "$STAGE"
    STAGE=
}

# One timed pull per tool, each into a new empty store $BENCH_SCRATCH/run-TOOL-LABEL that is
# removed afterwards; LABEL ($1) is w for the warm-up, else the run's number.  Every tool gets
# TMPDIR there too (podman stages blobs in it).  Sets BENCH_NS.
pull_koker() {
    local dir=$BENCH_SCRATCH/run-koker-$1 log=$BENCH_WORK/koker-$1.log
    mkdir -p "$dir/tmp"
    bench_time "$log" env TMPDIR="$dir/tmp" "$KOKER_BIN/koker-pull" -q --root "$dir/store" "$REF"
    grep -Eq '^sha256:[0-9a-f]{64}$' "$log" || bench_die "koker-pull printed no image ID: $(cat "$log")"
    rm -rf --one-file-system "$dir"
}

pull_podman() {
    local dir=$BENCH_SCRATCH/run-podman-$1
    mkdir -p "$dir/tmp"
    bench_podman "$dir"
    bench_time "$BENCH_WORK/podman-$1.log" env TMPDIR="$dir/tmp" \
        "${PODMAN[@]}" pull -q --tls-verify=false "$REF"
    # Not `podman system reset`: it would also delete the host's podman networks.
    bench_umount_under "$dir"
    rm -rf --one-file-system "$dir" "${BENCH_PODMAN_RUN:?}/${dir##*/}"
}

pull_skopeo() {
    local dir=$BENCH_SCRATCH/run-skopeo-$1
    mkdir -p "$dir/tmp"
    bench_time "$BENCH_WORK/skopeo-$1.log" env TMPDIR="$dir/tmp" skopeo --insecure-policy copy -q \
        --src-tls-verify=false "docker://$REF" "dir:$dir/image"
    rm -rf --one-file-system "$dir"
}

# The parts of a pull measured apart, for the table and bench/charts.sh's split: download and
# verify is skopeo's copy above; decompress is `gzip -dc` of the layer blobs to /dev/null (one
# thread, zlib's inflate, as koker-pull's libarchive uses); write is `tar -x` of the layers,
# decompressed beforehand (untimed), each into its own empty directory on the stores' file
# system, as koker-pull unpacks them.  Sets BENCH_NS.
stage_parts() {
    local i=0 blob
    mkdir -p "$BENCH_SCRATCH/parts"
    LAYER_BLOBS=() LAYER_TARS=()
    for blob in $(jq -r '.layers[].digest | ltrimstr("sha256:")' "$LAYOUT/blobs/sha256/$1"); do
        i=$((i + 1))
        LAYER_BLOBS+=("$LAYOUT/blobs/sha256/$blob")
        LAYER_TARS+=("$BENCH_SCRATCH/parts/$i.tar")
        gzip -dc "$LAYOUT/blobs/sha256/$blob" >"$BENCH_SCRATCH/parts/$i.tar"
    done
}

part_gunzip() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    bench_time "$BENCH_WORK/gunzip.log" bash -c 'for f; do gzip -dc "$f"; done >/dev/null' _ "${LAYER_BLOBS[@]}"
}

part_untar() {
    local dir=$BENCH_SCRATCH/run-untar-$1
    mkdir -p "$dir"
    # shellcheck disable=SC2016 # expanded by the inner bash
    bench_time "$BENCH_WORK/untar.log" bash -c 'd=$1; shift; i=0
        for f; do i=$((i + 1)); mkdir "$d/$i" && tar -C "$d/$i" -xf "$f" || exit 1; done' _ "$dir" "${LAYER_TARS[@]}"
    rm -rf --one-file-system "$dir"
}

# What a failed run left: podman's overlay mounts first, then the stores.
remove_runs() {
    local dir
    [[ -n ${BENCH_SCRATCH:-} ]] || return 0
    for dir in "$BENCH_SCRATCH"/run-*; do
        [[ -e $dir ]] || continue
        bench_umount_under "$dir"
        rm -rf --one-file-system "$dir"
    done
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
}

seconds() {
    awk -v ns="$1" 'BEGIN { printf "%.3f s\n", ns / 1e9 }'
}

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (podman's overlay storage and debootstrap need it)"
    bench_deps docker-registry skopeo podman debootstrap python3 curl jq gzip tar \
        e2fsprogs mount
    [[ -x $BENCH_TOP/bin/koker-pull ]] || bench_die "no $BENCH_TOP/bin/koker-pull: run make all"

    bench_workdir pull
    build_image
    bench_scratch 4G
    bench_on_exit remove_runs

    bench_log "starting docker-registry on 127.0.0.1"
    koker_registry_start registry
    REF=$KOKER_REPLY/bench/debian:bookworm
    bench_log "pushing the image to $REF"
    koker_skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:bookworm" "docker://$REF"

    local tool i
    local -A samples=([koker]="" [podman]="" [skopeo]="")
    for tool in koker podman skopeo; do
        bench_log "warm-up: $tool"
        "pull_$tool" w
    done
    # Round-robin, so drift in the machine's speed hits every tool alike.
    for ((i = 1; i <= RUNS; i++)); do
        for tool in koker podman skopeo; do
            "pull_$tool" "$i"
            bench_log "run $i/$RUNS: $tool $(seconds "$BENCH_NS")"
            samples[$tool]+=" $BENCH_NS"
        done
    done

    local manifest
    manifest=$(jq -r '.manifests[]
        | select(.annotations["org.opencontainers.image.ref.name"] == "bookworm")
        | .digest | ltrimstr("sha256:")' "$LAYOUT/index.json")
    bench_log "the parts apart: gzip -dc and tar -x of the layers"
    stage_parts "$manifest"
    samples[gunzip]="" samples[untar]=""
    part_untar w
    for ((i = 1; i <= RUNS; i++)); do
        for tool in gunzip untar; do
            "part_$tool" "$i"
            samples[$tool]+=" $BENCH_NS"
        done
    done
    rm -rf --one-file-system "$BENCH_SCRATCH/parts"
    local ns
    for tool in koker podman skopeo gunzip untar; do
        for ns in ${samples[$tool]}; do bench_data pull-samples "$tool $ns"; done
    done

    local -A med min max
    for tool in koker podman skopeo gunzip untar; do
        # shellcheck disable=SC2086 # the samples are words
        med[$tool]=$(bench_median ${samples[$tool]})
        # shellcheck disable=SC2086
        min[$tool]=$(printf '%s\n' ${samples[$tool]} | sort -n | head -n 1)
        # shellcheck disable=SC2086
        max[$tool]=$(printf '%s\n' ${samples[$tool]} | sort -n | tail -n 1)
    done

    local r verdict compressed layers
    r=$(ratio "${med[koker]}" "${med[podman]}")
    if awk -v r="$r" -v t="$TARGET_PULL" 'BEGIN { exit !(r <= t) }'; then
        verdict="met"
    else
        verdict="**MISSED**"
    fi
    compressed=$(jq '.layers | map(.size) | add' "$LAYOUT/blobs/sha256/$manifest")
    layers=$(jq '.layers | length' "$LAYOUT/blobs/sha256/$manifest")

    bench_summary pull.koker "${med[koker]}"
    bench_summary pull.podman "${med[podman]}"
    bench_summary pull.skopeo "${med[skopeo]}"
    bench_summary pull.image "$(awk '{ print $1, $2 }' "$LAYOUT/bench-rootfs") in $layers gzip layers ($((compressed / 1048576)) MiB compressed)"

    printf '## Pull into an empty store\n\n'
    printf -- '- image: Debian bookworm minbase + python3 + perl, %s gzip layers (usr/lib, usr/share, rest of usr, the rest), %s MiB compressed; unpacked %s\n' \
        "$layers" "$((compressed / 1048576))" "$(<"$LAYOUT/bench-rootfs")"
    printf -- '- registry: docker-registry %s on %s (plain HTTP)\n' \
        "$(dpkg-query -W -f '${Version}' docker-registry)" "$KOKER_REPLY"
    printf -- '- %s timed runs per tool after one warm-up, round-robin; page cache warm; median\n' "$RUNS"
    printf -- '- podman %s (overlay, fresh --root/--runroot); skopeo %s\n' \
        "$(podman --version | awk '{print $3}')" "$(skopeo --version | awk '{print $3}')"
    bench_machine
    printf '\n| tool | what it does | median | min | max | / podman |\n'
    printf '|---|---|---:|---:|---:|---:|\n'
    printf '| koker-pull | download, verify, unpack to layers/ | %s | %s | %s | %s (target ≤ %s: %s) |\n' \
        "$(seconds "${med[koker]}")" "$(seconds "${min[koker]}")" "$(seconds "${max[koker]}")" \
        "$r" "$TARGET_PULL" "$verdict"
    printf '| podman pull | download, verify, unpack to overlay | %s | %s | %s | 1.00 |\n' \
        "$(seconds "${med[podman]}")" "$(seconds "${min[podman]}")" "$(seconds "${max[podman]}")"
    printf '| skopeo copy to dir: | download and verify only (a floor) | %s | %s | %s | %s |\n' \
        "$(seconds "${med[skopeo]}")" "$(seconds "${min[skopeo]}")" "$(seconds "${max[skopeo]}")" \
        "$(ratio "${med[skopeo]}" "${med[podman]}")"
    printf '| gzip -dc of the layers to /dev/null | decompress only (one thread, zlib) | %s | %s | %s | %s |\n' \
        "$(seconds "${med[gunzip]}")" "$(seconds "${min[gunzip]}")" "$(seconds "${max[gunzip]}")" \
        "$(ratio "${med[gunzip]}" "${med[podman]}")"
    printf '| tar -x of the decompressed layers | write only (each layer into an empty directory, no fsync) | %s | %s | %s | %s |\n' \
        "$(seconds "${med[untar]}")" "$(seconds "${min[untar]}")" "$(seconds "${max[untar]}")" \
        "$(ratio "${med[untar]}" "${med[podman]}")"
}

main "$@"
