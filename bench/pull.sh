#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/pull.sh: pull a ~200 MB Debian image, once as 4 layers and once as one big layer, from
# a docker-registry on 127.0.0.1 into an empty store with koker-pull, podman pull and skopeo
# copy (dir:, download only), and print the medians as markdown tables on stdout.  Progress
# goes to stderr.  See bench/README.md.
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
# The same tree as one gzip layer (issue 21's one-big-layer pull), made from $LAYOUT's layers.
RECIPE1="one layer of $RECIPE; gzip -6; v1"
LAYOUT1=$CACHE/debian-bookworm-1layer
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
    publish_layout "$LAYOUT" "$RECIPE${BENCH_ROOTFS:+ from $BENCH_ROOTFS}"
}

# Make $LAYOUT1 (tag bookworm), $LAYOUT's tree as one layer, unless it is there already.
build_one_layer() {
    if [[ -f $LAYOUT1/bench-recipe && $(<"$LAYOUT1/bench-recipe") == "$RECIPE1" ]]; then
        bench_log "one-layer image layout cached in $LAYOUT1"
        return 0
    fi
    STAGE=$(mktemp -d "$CACHE/.stage.XXXXXX")
    bench_on_exit remove_stage
    local root=$STAGE/rootfs blob top=()
    mkdir "$root"
    bench_log "making one gzip layer of $LAYOUT's 4"
    for blob in $(jq -r '.layers[].digest | ltrimstr("sha256:")' "$LAYOUT/blobs/sha256/$(manifest_of "$LAYOUT")"); do
        tar -C "$root" --numeric-owner -p -xzf "$LAYOUT/blobs/sha256/$blob"
    done
    mapfile -t top < <(cd "$root" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
    tar_layer "$root" "$STAGE/1.tar.gz" "${top[@]}"
    "$KOKER_TEST_PYTHON" "$BENCH_TOP/tests/fixtures/mkimage.py" "$STAGE/layout" bookworm \
        --layer "$STAGE/1.tar.gz" \
        --config '{"Cmd": ["/bin/bash"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}' \
        >/dev/null
    cp "$LAYOUT/bench-rootfs" "$STAGE/layout/bench-rootfs"
    publish_layout "$LAYOUT1" "$RECIPE1"
}

# publish_layout DEST RECIPE: $STAGE/layout, stamped with RECIPE (what the cache is checked
# against), replaces DEST; the stage goes.
publish_layout() {
    printf '%s\n' "$2" >"$STAGE/layout/bench-recipe"
    rm -rf "$1"
    mv "$STAGE/layout" "$1"
    rm -rf --one-file-system "$STAGE"
    STAGE=
}

# manifest_of LAYOUT: the hex digest of the manifest tagged bookworm in LAYOUT.
manifest_of() {
    jq -r '.manifests[]
        | select(.annotations["org.opencontainers.image.ref.name"] == "bookworm")
        | .digest | ltrimstr("sha256:")' "$1/index.json"
}

# One timed pull per tool, each into a new empty store $BENCH_SCRATCH/run-TOOL-LABEL that is
# removed afterwards; LABEL ($1) is w for the warm-up, else the run's number, and IMG ($2) the
# image: 4 (four layers) or 1 (one layer).  Every tool gets TMPDIR there too (podman stages
# blobs in it).  Sets BENCH_NS.
pull_koker() {
    local dir=$BENCH_SCRATCH/run-koker-$1 log=$BENCH_WORK/koker$2-$1.log
    mkdir -p "$dir/tmp"
    # -D adds koker-pull's split of each layer (see koker_split), a few lines per layer.
    bench_time "$log" env TMPDIR="$dir/tmp" "$KOKER_BIN/koker-pull" -q -D --root "$dir/store" "${REFS[$2]}"
    grep -Eq '^sha256:[0-9a-f]{64}$' "$log" || bench_die "koker-pull printed no image ID: $(cat "$log")"
    rm -rf --one-file-system "$dir"
}

pull_podman() {
    local dir=$BENCH_SCRATCH/run-podman-$1
    mkdir -p "$dir/tmp"
    bench_podman "$dir"
    bench_time "$BENCH_WORK/podman$2-$1.log" env TMPDIR="$dir/tmp" \
        "${PODMAN[@]}" pull -q --tls-verify=false "${REFS[$2]}"
    # Not `podman system reset`: it would also delete the host's podman networks.
    bench_umount_under "$dir"
    rm -rf --one-file-system "$dir" "${BENCH_PODMAN_RUN:?}/${dir##*/}"
}

pull_skopeo() {
    local dir=$BENCH_SCRATCH/run-skopeo-$1
    mkdir -p "$dir/tmp"
    bench_time "$BENCH_WORK/skopeo$2-$1.log" env TMPDIR="$dir/tmp" skopeo --insecure-policy copy -q \
        --src-tls-verify=false "docker://${REFS[$2]}" "dir:$dir/image"
    rm -rf --one-file-system "$dir"
}

# koker_split LOG: koker-pull's own split of its one layer, from the "timing" line -D prints
# for each layer: "download D s, decompress I s, write W s" (each stage's busy time; they
# overlap, so they add up to more than the pull).  Prints "D I W" in ns, nothing if absent.
koker_split() {
    sed -n 's/.*: timing: download \([0-9.]*\) s, decompress \([0-9.]*\) s, write \([0-9.]*\) s.*/\1 \2 \3/p' "$1" |
        awk '{ d += $1; i += $2; w += $3; n++ } END { if (n) printf "%.0f %.0f %.0f\n", d * 1e9, i * 1e9, w * 1e9 }'
}

# The parts of a pull measured apart, for the table and bench/charts.sh's split: download and
# verify is skopeo's copy above; decompress is `gzip -dc` of the one-layer image's blob to
# /dev/null (one thread, zlib's inflate) and, when Debian's isal is installed, `igzip -dc`
# (ISA-L's inflate, which koker-pull uses); write is `tar -x` of the layer, decompressed
# beforehand (untimed), into an empty directory on the stores' file system.
stage_parts() {
    local blob
    mkdir -p "$BENCH_SCRATCH/parts"
    blob=$(jq -r '.layers[0].digest | ltrimstr("sha256:")' "$LAYOUT1/blobs/sha256/$1")
    LAYER_BLOB=$LAYOUT1/blobs/sha256/$blob LAYER_TAR=$BENCH_SCRATCH/parts/layer.tar
    gzip -dc "$LAYER_BLOB" >"$LAYER_TAR"
}

part_gunzip() {
    bench_time "$BENCH_WORK/gunzip.log" gzip -dc "$LAYER_BLOB" >/dev/null
}

part_igzip() {
    bench_time "$BENCH_WORK/igzip.log" igzip -dc "$LAYER_BLOB" >/dev/null
}

part_untar() {
    local dir=$BENCH_SCRATCH/run-untar-$1
    mkdir -p "$dir"
    bench_time "$BENCH_WORK/untar.log" tar -C "$dir" -xf "$LAYER_TAR"
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

# verdict RATIO TARGET: met when RATIO <= TARGET.
verdict() {
    if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r <= t) }'; then echo met; else echo '**MISSED**'; fi
}

# row KEY TEXT...: a table row of TEXT's cells, then KEY's median, min and max.
row() {
    local key=$1
    shift
    printf '| %s ' "$@"
    printf '| %s | %s | %s ' "$(seconds "${med[$key]}")" "$(seconds "${min[$key]}")" "$(seconds "${max[$key]}")"
}

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root (podman's overlay storage and debootstrap need it)"
    bench_deps docker-registry skopeo podman debootstrap python3 curl jq gzip isal tar \
        e2fsprogs mount
    [[ -x $BENCH_TOP/bin/koker-pull ]] || bench_die "no $BENCH_TOP/bin/koker-pull: run make all"

    bench_workdir pull
    build_image
    build_one_layer
    bench_scratch 4G
    bench_on_exit remove_runs

    bench_log "starting docker-registry on 127.0.0.1"
    koker_registry_start registry
    # The images by their number of layers.
    local -A REFS=([4]=$KOKER_REPLY/bench/debian:bookworm [1]=$KOKER_REPLY/bench/debian-1layer:bookworm)
    bench_log "pushing the images to ${REFS[4]} and ${REFS[1]}"
    koker_skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:bookworm" "docker://${REFS[4]}"
    koker_skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT1:bookworm" "docker://${REFS[1]}"

    # Sample keys: the tool for the 4-layer image (koker, podman, skopeo), the tool and 1 for
    # the one-layer image; koker's split of its one-layer pulls; the parts apart.
    local tool i img key split d c w keys=(koker podman skopeo koker1 podman1 skopeo1)
    local -A samples=()
    for img in 4 1; do
        for tool in koker podman skopeo; do
            bench_log "warm-up: $tool, $img layer(s)"
            "pull_$tool" w "$img"
        done
    done
    # Round-robin, so drift in the machine's speed hits every tool alike.
    for ((i = 1; i <= RUNS; i++)); do
        for img in 4 1; do
            for tool in koker podman skopeo; do
                "pull_$tool" "$i" "$img"
                key=$tool${img/4/}
                bench_log "run $i/$RUNS: $tool, $img layer(s): $(seconds "$BENCH_NS")"
                samples[$key]+=" $BENCH_NS"
            done
            split=$(koker_split "$BENCH_WORK/koker$img-$i.log")
            if [[ $img == 1 && -n $split ]]; then
                read -r d c w <<<"$split"
                samples[kdownload]+=" $d" samples[kdecompress]+=" $c" samples[kwrite]+=" $w"
            fi
        done
    done
    if [[ -n ${samples[kdownload]:-} ]]; then
        keys+=(kdownload kdecompress kwrite)
    fi

    bench_log "the parts apart: gzip -dc and tar -x of the one-layer image's layer"
    stage_parts "$(manifest_of "$LAYOUT1")"
    local parts=(gunzip untar)
    command -v igzip >/dev/null && parts=(gunzip igzip untar)
    part_untar w
    for ((i = 1; i <= RUNS; i++)); do
        for tool in "${parts[@]}"; do
            "part_$tool" "$i"
            samples[$tool]+=" $BENCH_NS"
        done
    done
    keys+=("${parts[@]}")
    rm -rf --one-file-system "$BENCH_SCRATCH/parts"
    local ns
    for key in "${keys[@]}"; do
        for ns in ${samples[$key]}; do bench_data pull-samples "$key $ns"; done
    done

    local -A med min max
    for key in "${keys[@]}"; do
        # shellcheck disable=SC2086 # the samples are words
        med[$key]=$(bench_median ${samples[$key]})
        # shellcheck disable=SC2086
        min[$key]=$(printf '%s\n' ${samples[$key]} | sort -n | head -n 1)
        # shellcheck disable=SC2086
        max[$key]=$(printf '%s\n' ${samples[$key]} | sort -n | tail -n 1)
    done

    local r r1 s1 compressed layers compressed1
    local manifest manifest1
    manifest=$(manifest_of "$LAYOUT") manifest1=$(manifest_of "$LAYOUT1")
    r=$(ratio "${med[koker]}" "${med[podman]}")
    r1=$(ratio "${med[koker1]}" "${med[podman1]}")
    s1=$(ratio "${med[koker1]}" "${med[skopeo1]}")
    compressed=$(jq '.layers | map(.size) | add' "$LAYOUT/blobs/sha256/$manifest")
    compressed1=$(jq '.layers | map(.size) | add' "$LAYOUT1/blobs/sha256/$manifest1")
    layers=$(jq '.layers | length' "$LAYOUT/blobs/sha256/$manifest")

    bench_summary pull.koker "${med[koker]}"
    bench_summary pull.podman "${med[podman]}"
    bench_summary pull.skopeo "${med[skopeo]}"
    bench_summary pull.image "$(awk '{ print $1, $2 }' "$LAYOUT/bench-rootfs") in $layers gzip layers ($((compressed / 1048576)) MiB compressed)"
    bench_summary pull1.koker "${med[koker1]}"
    bench_summary pull1.podman "${med[podman1]}"
    bench_summary pull1.skopeo "${med[skopeo1]}"
    bench_summary pull1.image "the same in one gzip layer ($((compressed1 / 1048576)) MiB compressed)"

    printf '## Pull into an empty store\n\n'
    printf -- '- image: Debian bookworm minbase + python3 + perl, unpacked %s; as %s gzip layers (usr/lib, usr/share, rest of usr, the rest), %s MiB compressed, and as one gzip layer, %s MiB compressed\n' \
        "$(<"$LAYOUT/bench-rootfs")" "$layers" "$((compressed / 1048576))" "$((compressed1 / 1048576))"
    printf -- '- registry: docker-registry %s on %s (plain HTTP)\n' \
        "$(dpkg-query -W -f '${Version}' docker-registry)" "$KOKER_REPLY"
    printf -- '- %s timed runs per tool and image after one warm-up, round-robin; page cache warm; median\n' "$RUNS"
    printf -- '- podman %s (overlay, fresh --root/--runroot); skopeo %s\n' \
        "$(podman --version | awk '{print $3}')" "$(skopeo --version | awk '{print $3}')"
    bench_machine
    printf '\n| image | tool | what it does | median | min | max | / podman | / skopeo |\n'
    printf '|---|---|---|---:|---:|---:|---:|---:|\n'
    row koker "$layers layers" koker-pull "download, verify, unpack to layers/"
    printf '| %s (target ≤ %s: %s) | %s |\n' "$r" "$TARGET_PULL" "$(verdict "$r" "$TARGET_PULL")" \
        "$(ratio "${med[koker]}" "${med[skopeo]}")"
    row podman "$layers layers" "podman pull" "download, verify, unpack to overlay"
    printf '| 1.00 | |\n'
    row skopeo "$layers layers" "skopeo copy to dir:" "download and verify only (a floor)"
    printf '| %s | 1.00 |\n' "$(ratio "${med[skopeo]}" "${med[podman]}")"
    row koker1 "one layer" koker-pull "download, verify, unpack to layers/"
    printf '| %s (target ≤ %s: %s) | %s (target ≤ %s: %s) |\n' \
        "$r1" "$TARGET_PULL_ONE" "$(verdict "$r1" "$TARGET_PULL_ONE")" \
        "$s1" "$TARGET_PULL_SKOPEO" "$(verdict "$s1" "$TARGET_PULL_SKOPEO")"
    row podman1 "one layer" "podman pull" "download, verify, unpack to overlay"
    printf '| 1.00 | |\n'
    row skopeo1 "one layer" "skopeo copy to dir:" "download and verify only (a floor)"
    printf '| %s | 1.00 |\n' "$(ratio "${med[skopeo1]}" "${med[podman1]}")"

    printf '\nWhere the one-layer pull goes: koker-pull'"'"'s own split (its -D "timing" line: each stage'"'"'s busy time; the stages overlap, so they add up to more than the pull), and the parts done apart by other tools.\n'
    printf '\n| part | how it is measured | median | min | max | / koker-pull |\n'
    printf '|---|---|---:|---:|---:|---:|\n'
    if [[ -n ${med[kdownload]:-} ]]; then
        row kdownload "koker-pull: download and verify" "first to last byte of the blob, less the time in the two stages below: receiving, sha256 of the compressed stream, the blob file written"
        printf '| %s |\n' "$(ratio "${med[kdownload]}" "${med[koker1]}")"
        row kdecompress "koker-pull: decompress" "time in ISA-L's isal_inflate, on the downloading thread"
        printf '| %s |\n' "$(ratio "${med[kdecompress]}" "${med[koker1]}")"
        row kwrite "koker-pull: write" "the parsing thread's time less its waits for input: reading the tar, its sha256 (diff_id), handing regular files to two writing threads (and waiting for them when they lag), writing the other entries (libarchive)"
        printf '| %s |\n' "$(ratio "${med[kwrite]}" "${med[koker1]}")"
    fi
    row gunzip "gzip -dc of the layer to /dev/null" "decompress only (one thread, zlib)"
    printf '| %s |\n' "$(ratio "${med[gunzip]}" "${med[koker1]}")"
    if [[ -n ${med[igzip]:-} ]]; then
        row igzip "igzip -dc of the layer to /dev/null" "decompress only (one thread, ISA-L)"
        printf '| %s |\n' "$(ratio "${med[igzip]}" "${med[koker1]}")"
    fi
    row untar "tar -x of the decompressed layer" "write only (into an empty directory, no fsync)"
    printf '| %s |\n' "$(ratio "${med[untar]}" "${med[koker1]}")"
}

main "$@"
