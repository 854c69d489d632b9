# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The fixture images of koker's Bats suite: OCI layouts built with umoci and skopeo from
# busybox-static, pushed to the test registries by koker_suite_start (helpers.servers.bash),
# and mkimage for the images a test makes itself.  bench/lib.sh uses koker_make_rootfs and
# bench/pull.sh koker_skopeo.
#
# Uses KOKER_TEST_PYTHON and KOKER_TEST_FIXTURES_SRC (set by helpers.servers.bash, sourced
# first), KOKER_TEST_BUSYBOX (the busybox binary, default /bin/busybox), and for the push and
# docker config the servers' KOKER_TEST_REGISTRY, KOKER_TEST_TOKEN_REGISTRY, KOKER_TEST_FRONT,
# KOKER_TEST_USER and KOKER_TEST_PASSWORD; koker_fixtures_push calls registry_manifest
# (helpers.registry.bash).  koker_suite_start exports what is built here:
#
#   KOKER_TEST_FIXTURES            built fixtures:
#       one/ three/ multi/ zstd/   OCI layouts (oci:$KOKER_TEST_FIXTURES/three:latest, ...;
#                                  multi:latest is the index, multi:amd64/multi:arm64 the images)
#       one-oci.tar                oci-archive of one (tag latest)
#       one-docker.tar             docker-archive of one, RepoTags koker/one:latest
#       rootfs/                    the busybox root filesystem (for dir: imports)
#   KOKER_TEST_DOCKER_CONFIG       a dir holding config.json (docker's format) with `auths` for
#                                  the token registry, the front and https://index.docker.io/v1/;
#                                  use DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG, or
#                                  HOME=$(dirname "$KOKER_TEST_DOCKER_CONFIG") (it is HOME/.docker)
#
# Images, on both registries unless noted (the front serves the token registry's):
#   koker/one:latest, library/one:latest  OCI, one gzip layer (busybox rootfs), Cmd ["sh"]
#   koker/three:latest   OCI, 3 layers: L1 rootfs + /etc/gone + /opq/{a,b}; L2 etc/.wh.gone +
#                        opq/.wh..wh..opq + opq/c; L3 /hello ("hello from layer 3") + /work.
#                        Env PATH=/bin:/usr/bin FOO=bar, WorkingDir /work, User koker,
#                        Entrypoint ["/bin/sh","-c"], Cmd ["echo three"]
#   koker/three:v2s2     the same as Docker v2 schema 2
#   koker/multi:latest   OCI index: [0] linux/arm64 (variant v8), [1] linux/amd64; each has
#                        the one layer plus /arch containing its architecture
#   koker/multi:list     the same as a Docker manifest list
#   koker/zstd:latest    one, with a tar+zstd layer
#   private/one:latest   token registry only: needs koker:s3cret
#
# Functions:
#   koker_skopeo ARGS...                   skopeo --insecure-policy ARGS...
#   koker_make_rootfs DIR                  a minimal busybox root filesystem in DIR
#   koker_make_tcc_rootfs DIR              the same with a C compiler: `tcc -static` links
#                                          with musl (45-build's compiler project)
#   koker_tcc_layout LAYOUT                an OCI layout of it, tagged latest (Cmd sh)
#   koker_umoci_unpack IMAGE BUNDLE        umoci unpack, quietly
#   koker_layout_tag_digest LAYOUT TAG     the manifest digest of TAG in LAYOUT
#   koker_layout_add_index LAYOUT TAG ARCH[:VARIANT]...   an image index of the ARCH images
#   koker_fixtures_build OUT               build every layout above under OUT
#   koker_fixtures_push                    push them to both registries
#   koker_docker_config DIR                DIR/config.json with the test credentials
#   mkimage ARGS...                        tests/fixtures/mkimage.py ARGS... (for tests)
#   ptydrive [OPTS] -- CMD... <STEPS       tests/fixtures/ptydrive.py: drive CMD on a pty

# ---------------------------------------------------------------- fixtures

# skopeo with the flags every call here needs: no signature policy file, plain HTTP.
koker_skopeo() {
    skopeo --insecure-policy "$@"
}

# koker_make_rootfs DIR: a minimal busybox root filesystem.
koker_make_rootfs() {
    local root=$1 applet busybox=${KOKER_TEST_BUSYBOX:-/bin/busybox}
    mkdir -p "$root"/{bin,dev,etc,proc,sys,root,tmp,usr/bin,home/koker}
    cp "$busybox" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    for applet in $("$busybox" --list); do
        [[ $applet == busybox || -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
    done
    ln -sf ../../bin/busybox "$root/usr/bin/env"
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
koker:x:1000:1000::/home/koker:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
koker:x:1000:
extra:x:2000:koker
nogroup:x:65534:
EOF
    chmod 0700 "$root/root"
    chmod 1777 "$root/tmp"
    chown 1000:1000 "$root/home/koker"
}

# koker_make_tcc_rootfs DIR: koker_make_rootfs plus Debian's tcc and musl, laid out where
# tcc looks by default, so that `tcc -static -o hello hello.c` in a container of it makes a
# static binary that runs anywhere, even FROM scratch.  tcc cannot link glibc statically (it
# knows no TLS relocations), hence musl's headers, crt files and libc.a in place of glibc's;
# tcc itself still runs with the host's glibc, copied in under /lib.  About 9 MB.
koker_make_tcc_rootfs() {
    local root=$1 lib musl=/usr/lib/x86_64-linux-musl tccdir=/usr/lib/x86_64-linux-gnu/tcc
    [[ -x /usr/bin/tcc && -f $musl/libc.a && -d /usr/include/x86_64-linux-musl ]] || {
        echo "koker_make_tcc_rootfs: needs tcc and musl-dev (make deps-test)" >&2
        return 1
    }
    koker_make_rootfs "$root"
    mkdir -p "$root/usr/include" "$root/usr/lib/x86_64-linux-gnu" "$root/lib64"
    cp /usr/bin/tcc "$root/usr/bin/tcc"
    # tcc's shared libraries (ld.so included), each at the path ldd resolved it to.
    for lib in $(ldd /usr/bin/tcc | grep -o '/[^ ]*'); do
        mkdir -p "$root${lib%/*}"
        cp -L "$lib" "$root$lib"
    done
    cp -a "$tccdir" "$root$tccdir"
    cp -a /usr/include/x86_64-linux-musl/. "$root/usr/include/"
    cp -a "$musl"/{crt1.o,crti.o,crtn.o,libc.a} "$root/usr/lib/x86_64-linux-gnu/"
}

# koker_tcc_layout LAYOUT: an OCI layout of koker_make_tcc_rootfs, tagged latest.
koker_tcc_layout() {
    local layout=$1 work
    work=$(mktemp -d "${TMPDIR:-/tmp}/koker-tcc.XXXXXX")
    if koker_make_tcc_rootfs "$work/rootfs-src" &&
        umoci init --layout "$layout" &&
        umoci new --image "$layout:latest" &&
        koker_umoci_unpack "$layout:latest" "$work/bundle" &&
        cp -a "$work/rootfs-src/." "$work/bundle/rootfs/" &&
        umoci repack --image "$layout:latest" "$work/bundle" &&
        umoci config --image "$layout:latest" --os linux --architecture amd64 --config.cmd sh; then
        rm -rf "$work"
        return 0
    fi
    rm -rf "$work"
    return 1
}

# koker_umoci_unpack IMAGE BUNDLE: unpack IMAGE into BUNDLE, quietly (the caller then edits
# BUNDLE/rootfs and calls umoci repack).
koker_umoci_unpack() {
    umoci unpack --image "$1" "$2" >/dev/null
}

# koker_layout_tag_digest LAYOUT TAG: the manifest digest LAYOUT's index.json gives TAG.
koker_layout_tag_digest() {
    jq -er --arg t "$2" \
        '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
        "$1/index.json"
}

# koker_fixtures_build OUT: build every fixture layout under OUT (see the header).
koker_fixtures_build() {
    local out=$1 work=$1/.work arch
    mkdir -p "$work"
    koker_make_rootfs "$out/rootfs"

    # one: a single layer holding the busybox rootfs.
    umoci init --layout "$out/one"
    umoci new --image "$out/one:latest"
    koker_umoci_unpack "$out/one:latest" "$work/one"
    cp -a "$out/rootfs/." "$work/one/rootfs/"
    umoci repack --image "$out/one:latest" "$work/one"
    umoci config --image "$out/one:latest" --os linux --architecture amd64 --config.cmd sh

    # three: umoci repack writes per-file whiteouts only (opq/.wh.a, opq/.wh.b), never an
    # opaque marker, so L2 is a hand-made tar added with `umoci raw add-layer`.
    umoci init --layout "$out/three"
    umoci new --image "$out/three:latest"
    koker_umoci_unpack "$out/three:latest" "$work/three1"
    cp -a "$out/rootfs/." "$work/three1/rootfs/"
    echo gone >"$work/three1/rootfs/etc/gone"
    mkdir "$work/three1/rootfs/opq"
    echo a >"$work/three1/rootfs/opq/a"
    echo b >"$work/three1/rootfs/opq/b"
    umoci repack --image "$out/three:latest" "$work/three1"
    mkdir -p "$work/l2/etc" "$work/l2/opq"
    : >"$work/l2/etc/.wh.gone"
    : >"$work/l2/opq/.wh..wh..opq"
    echo c >"$work/l2/opq/c"
    chmod 0755 "$work/l2/etc" "$work/l2/opq"
    tar -C "$work/l2" --numeric-owner --owner=0 --group=0 --sort=name -cf "$work/l2.tar" etc opq
    umoci raw add-layer --image "$out/three:latest" "$work/l2.tar"
    koker_umoci_unpack "$out/three:latest" "$work/three3"
    echo 'hello from layer 3' >"$work/three3/rootfs/hello"
    mkdir "$work/three3/rootfs/work"
    umoci repack --image "$out/three:latest" "$work/three3"
    umoci config --image "$out/three:latest" --os linux --architecture amd64 \
        --config.env PATH=/bin:/usr/bin --config.env FOO=bar --config.workingdir /work \
        --config.user koker --config.entrypoint /bin/sh --config.entrypoint=-c \
        --config.cmd 'echo three'

    # multi: arm64 and amd64 images (one's layer + /arch), then an index naming arm64 first.
    umoci init --layout "$out/multi"
    for arch in arm64 amd64; do
        koker_skopeo copy -q "oci:$out/one:latest" "oci:$out/multi:$arch"
        koker_umoci_unpack "$out/multi:$arch" "$work/multi-$arch"
        echo "$arch" >"$work/multi-$arch/rootfs/arch"
        umoci repack --image "$out/multi:$arch" "$work/multi-$arch"
        umoci config --image "$out/multi:$arch" --os linux --architecture "$arch"
    done
    koker_layout_add_index "$out/multi" latest arm64:v8 amd64

    # zstd: recompressed into a layout first.  Pushed straight to a registry with
    # --dest-compress-format zstd, skopeo 1.9 reuses the gzip blob already there.
    koker_skopeo copy -q --dest-compress --dest-compress-format zstd \
        "oci:$out/one:latest" "oci:$out/zstd:latest"

    koker_skopeo copy -q "oci:$out/one:latest" "oci-archive:$out/one-oci.tar:latest"
    koker_skopeo copy -q "oci:$out/one:latest" "docker-archive:$out/one-docker.tar:koker/one:latest"
    rm -rf "$work"
}

# koker_layout_add_index LAYOUT TAG ARCH[:VARIANT]...: add an OCI image index blob listing
# the images tagged ARCH (in that order) and tag it TAG.
koker_layout_add_index() {
    local layout=$1 tag=$2 spec arch variant digest size entries=() index hex
    shift 2
    for spec in "$@"; do
        arch=${spec%%:*}
        variant=${spec#"$arch"}
        variant=${variant#:}
        digest=$(koker_layout_tag_digest "$layout" "$arch")
        size=$(stat -c %s "$layout/blobs/sha256/${digest#sha256:}")
        entries+=("$(jq -cn --arg d "$digest" --argjson s "$size" --arg a "$arch" --arg v "$variant" \
            '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
              platform: ({architecture: $a, os: "linux"} + (if $v == "" then {} else {variant: $v} end))}')")
    done
    index=$(printf '%s\n' "${entries[@]}" |
        jq -cs '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}')
    hex=$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
    printf '%s' "$index" >"$layout/blobs/sha256/$hex"
    jq --arg d "sha256:$hex" --argjson s "${#index}" --arg t "$tag" \
        '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d,
                         size: $s, annotations: {"org.opencontainers.image.ref.name": $t}}]' \
        "$layout/index.json" >"$layout/index.json.new"
    mv "$layout/index.json.new" "$layout/index.json"
}

# koker_fixtures_push: push the fixtures to both registries (private/one: token only).
koker_fixtures_push() {
    local f=$KOKER_TEST_FIXTURES reg creds=() pids=() pid rc=0
    for reg in "$KOKER_TEST_REGISTRY" "$KOKER_TEST_TOKEN_REGISTRY"; do
        creds=()
        [[ $reg == "$KOKER_TEST_TOKEN_REGISTRY" ]] &&
            creds=(--dest-creds "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD")
        (
            set -e
            cp=(koker_skopeo copy -q --dest-tls-verify=false "${creds[@]}")
            "${cp[@]}" "oci:$f/one:latest" "docker://$reg/koker/one:latest"
            "${cp[@]}" "oci:$f/one:latest" "docker://$reg/library/one:latest"
            "${cp[@]}" "oci:$f/three:latest" "docker://$reg/koker/three:latest"
            "${cp[@]}" --format v2s2 "oci:$f/three:latest" "docker://$reg/koker/three:v2s2"
            "${cp[@]}" --all "oci:$f/multi:latest" "docker://$reg/koker/multi:latest"
            "${cp[@]}" --all --format v2s2 "oci:$f/multi:latest" "docker://$reg/koker/multi:list"
            "${cp[@]}" "oci:$f/zstd:latest" "docker://$reg/koker/zstd:latest"
            if [[ $reg == "$KOKER_TEST_TOKEN_REGISTRY" ]]; then
                "${cp[@]}" "oci:$f/one:latest" "docker://$reg/private/one:latest"
            fi
        ) &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || rc=1
    done
    ((rc == 0)) || { echo "koker test: pushing fixtures failed" >&2; return 1; }
    # skopeo must not have swapped the zstd layer for a gzip one it already knew.
    for reg in "$KOKER_TEST_REGISTRY" "$KOKER_TEST_TOKEN_REGISTRY"; do
        registry_manifest koker/zstd:latest "$reg" |
            jq -e '.layers[0].mediaType | endswith("+zstd")' >/dev/null ||
            { echo "koker test: $reg/koker/zstd was not pushed with a zstd layer" >&2; return 1; }
    done
}

# koker_docker_config DIR: DIR/config.json with koker:s3cret for the token registry and front.
koker_docker_config() {
    local dir=$1 auth
    mkdir -p "$dir"
    auth=$(printf '%s:%s' "$KOKER_TEST_USER" "$KOKER_TEST_PASSWORD" | base64)
    jq -n --arg a "$auth" --arg t "$KOKER_TEST_TOKEN_REGISTRY" --arg f "${KOKER_TEST_FRONT#http://}" \
        '{auths: {($t): {auth: $a}, ($f): {auth: $a}, "https://index.docker.io/v1/": {auth: $a}}}' \
        >"$dir/config.json"
    chmod 0600 "$dir/config.json"
}

# mkimage ARGS...: tests/fixtures/mkimage.py (see its --help).
mkimage() {
    "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/mkimage.py" "$@"
}

# ptydrive [--timeout SECS] [--size ROWSxCOLS] -- CMD...  <STEPS: CMD on a pty of its own,
# typed at by the steps (tests/fixtures/ptydrive.py): its transcript on stdout.
ptydrive() {
    "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/ptydrive.py" "$@"
}
