# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Test registries and fixture images for koker's Bats suite.
#
# setup_suite.bash calls koker_suite_start once per `bats` run; it starts real servers on
# 127.0.0.1 only, builds the fixture images with umoci/skopeo from busybox-static, pushes
# them, and exports (every test sees these):
#
#   KOKER_TEST_REGISTRY            127.0.0.1:PORT   docker-registry, no auth, delete enabled
#   KOKER_TEST_REGISTRY_DIR        its storage root (docker/registry/v2/blobs/sha256/XX/HEX/data)
#   KOKER_TEST_TOKEN_REGISTRY      127.0.0.1:PORT   docker-registry with `auth: token`
#   KOKER_TEST_TOKEN_REGISTRY_DIR  its storage root
#   KOKER_TEST_TOKEN_SERVER        http://127.0.0.1:PORT; the realm is $KOKER_TEST_TOKEN_SERVER/token
#   KOKER_TEST_TOKEN_SERVICE       the `service` the token registry asks for
#   KOKER_TEST_TOKEN_LOG           token server log: `token GET /token?... auth=basic|none user=U -> 200`
#   KOKER_TEST_FRONT               http://127.0.0.1:PORT_A  Docker-Hub-like front of the token
#                                  registry (tests/fixtures/front.py); use it as
#                                  KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT
#   KOKER_TEST_FRONT_BLOB          http://localhost:PORT_B  where the front's 307s point
#   KOKER_TEST_FRONT_CONTROL       $KOKER_TEST_FRONT/_control  (POST JSON; see front_control)
#   KOKER_TEST_FRONT_LOG           front log: `A GET /v2/... auth=1 -> 307`, `B GET /blobdata/... auth=0 ...`
#   KOKER_TEST_USER, KOKER_TEST_PASSWORD   koker / s3cret: Basic credentials of the token server
#   KOKER_TEST_DOCKER_CONFIG       a dir holding config.json (docker's format) with `auths` for
#                                  the token registry, the front and https://index.docker.io/v1/;
#                                  use DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG, or
#                                  HOME=$(dirname "$KOKER_TEST_DOCKER_CONFIG") (it is HOME/.docker)
#   KOKER_TEST_FIXTURES            built fixtures:
#       one/ three/ multi/ zstd/   OCI layouts (oci:$KOKER_TEST_FIXTURES/three:latest, ...;
#                                  multi:latest is the index, multi:amd64/multi:arm64 the images)
#       one-oci.tar                oci-archive of one (tag latest)
#       one-docker.tar             docker-archive of one, RepoTags koker/one:latest
#       rootfs/                    the busybox root filesystem (for dir: imports)
#   KOKER_TEST_SUITE_DIR           temp dir of all of the above (removed by teardown_suite)
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
# Functions for tests (servers already up):
#   push_layout DIR TAG NAME:TAG [REGISTRY]   push an OCI layout's TAG verbatim (curl)
#   corrupt_blob NAME:TAG DIGEST [OFFSET]     flip a byte of a blob in the plain registry's
#                                             storage; undone by restore_blobs (teardown)
#   restore_blobs                             undo every corrupt_blob of this test
#   registry_token NAME [ACTIONS] [USER:PASS] print a bearer token for the token registry
#   registry_curl REGISTRY NAME CURL_ARGS... PATH   curl http://REGISTRY/v2/NAME/PATH, with a
#                                             token (with credentials) when REGISTRY needs one
#   registry_manifest NAME:TAG [REGISTRY]     print a manifest (any media type)
#   registry_blob NAME DIGEST [REGISTRY]      write a blob to stdout
#   front_control JSON                        change the front's faults (reset at teardown)
#   front_reset                               front_control '{"reset": true}'
#   front_log_mark / front_log_since MARK     the front log's lines written since MARK
#   mkimage ARGS...                           tests/fixtures/mkimage.py ARGS...
#
# A hostile image from a test (the layer tar is used byte for byte; plain, gzip or zstd):
#   "$KOKER_TEST_PYTHON" - "$BATS_TEST_TMPDIR/evil.tar" <<'EOF'
#   import sys, tarfile
#   with tarfile.open(sys.argv[1], "w") as t:
#       t.addfile(tarfile.TarInfo("../escape"))          # any entry tar(1) would refuse
#   EOF
#   mkimage "$BATS_TEST_TMPDIR/img" latest --layer "$BATS_TEST_TMPDIR/evil.tar" >/dev/null
#   push_layout "$BATS_TEST_TMPDIR/img" latest hostile/escape:latest
#   run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/hostile/escape"
# skopeo works too (skopeo copy --insecure-policy --dest-tls-verify=false oci:DIR:TAG
# docker://$KOKER_TEST_REGISTRY/NAME:TAG), but it gzips plain-tar layers and rewrites the
# manifest to match; it keeps gzip/zstd blobs, their media types (even wrong ones) and the
# config (bad diff_ids included) as they are.
#
# Faults: front_control '{"fail_next": {"count": 2, "status": 429, "retry_after": 0}}', then
# KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull one.  The front is shared by
# the whole run: files that change it must not run tests in parallel (bats -j) with others
# that use it.

KOKER_TEST_FIXTURES_SRC=$(cd "${BASH_SOURCE[0]%/*}/../fixtures" && pwd)
if [[ -z ${KOKER_TEST_PYTHON:-} ]]; then
    KOKER_TEST_PYTHON=/usr/bin/python3
    [[ -x $KOKER_TEST_PYTHON ]] || KOKER_TEST_PYTHON=$(command -v python3)
fi
export KOKER_TEST_FIXTURES_SRC KOKER_TEST_PYTHON

KOKER_MT_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
KOKER_MT_OCI_INDEX=application/vnd.oci.image.index.v1+json
KOKER_MT_V2S2=application/vnd.docker.distribution.manifest.v2+json
KOKER_MT_LIST=application/vnd.docker.distribution.manifest.list.v2+json
KOKER_ACCEPT_ALL="$KOKER_MT_OCI_MANIFEST, $KOKER_MT_OCI_INDEX, $KOKER_MT_V2S2, $KOKER_MT_LIST"

# ---------------------------------------------------------------- servers

# Print a TCP port that was free on 127.0.0.1 a moment ago.
koker_free_port() {
    "$KOKER_TEST_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# koker_bg NAME CMD [ARG...]: start a server in the background, its output in
# $KOKER_TEST_SUITE_DIR/NAME.log, its pid recorded for koker_suite_stop.  Bats waits for
# fd 3 to close, so the server must not inherit it.
koker_bg() {
    local name=$1
    shift
    "$@" >"$KOKER_TEST_SUITE_DIR/$name.log" 2>&1 </dev/null 3>&- &
    KOKER_BG_PID=$!
    printf '%s %s\n' "$KOKER_BG_PID" "$name" >>"$KOKER_TEST_SUITE_DIR/pids"
}

# koker_wait_http URL NAME [SECONDS]: wait until URL answers any HTTP status, while the
# server NAME (just started by koker_bg) is alive.
koker_wait_http() {
    local url=$1 name=$2 deadline=$((SECONDS + ${3:-20})) code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url") || true
        [[ $code != 000 ]] && return 0
        if ! kill -0 "$KOKER_BG_PID" 2>/dev/null; then
            printf 'koker test: %s exited before answering %s:\n' "$name" "$url" >&2
            cat "$KOKER_TEST_SUITE_DIR/$name.log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            printf 'koker test: %s did not answer %s in time\n' "$name" "$url" >&2
            cat "$KOKER_TEST_SUITE_DIR/$name.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# koker_registry_start NAME [EXTRA_YAML]: run docker-registry with storage in
# $KOKER_TEST_SUITE_DIR/NAME/storage; sets KOKER_REPLY to its 127.0.0.1:PORT.
koker_registry_start() {
    local name=$1 extra=${2:-} dir=$KOKER_TEST_SUITE_DIR/$1 port
    port=$(koker_free_port)
    mkdir -p "$dir/storage"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: koker-test-$name-secret
$extra
EOF
    koker_bg "$name" "${KOKER_TEST_DOCKER_REGISTRY:-docker-registry}" serve "$dir/config.yml"
    koker_wait_http "http://127.0.0.1:$port/v2/" "$name"
    KOKER_REPLY=127.0.0.1:$port
}

koker_token_server_start() {
    local dir=$KOKER_TEST_SUITE_DIR/token port
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=koker-test-token-issuer \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log"
    port=$(koker_free_port)
    export KOKER_TEST_TOKEN_SERVICE=koker-test-registry
    export KOKER_TEST_TOKEN_LOG=$dir/token-requests.log
    : >"$KOKER_TEST_TOKEN_LOG"
    koker_bg token "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/token_server.py" \
        --port "$port" --key "$dir/key.pem" --cert "$dir/cert.pem" \
        --service "$KOKER_TEST_TOKEN_SERVICE" --issuer koker-test-issuer \
        --user "$KOKER_TEST_USER" --password "$KOKER_TEST_PASSWORD" --log "$KOKER_TEST_TOKEN_LOG"
    koker_wait_http "http://127.0.0.1:$port/_log" token
    export KOKER_TEST_TOKEN_SERVER=http://127.0.0.1:$port
}

koker_front_start() {
    local port_a port_b
    port_a=$(koker_free_port)
    port_b=$(koker_free_port)
    while [[ $port_b == "$port_a" ]]; do port_b=$(koker_free_port); done
    export KOKER_TEST_FRONT_LOG=$KOKER_TEST_SUITE_DIR/front-requests.log
    : >"$KOKER_TEST_FRONT_LOG"
    koker_bg front "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/front.py" \
        --port "$port_a" --blob-port "$port_b" --upstream "$KOKER_TEST_TOKEN_REGISTRY" \
        --user "$KOKER_TEST_USER" --password "$KOKER_TEST_PASSWORD" --log "$KOKER_TEST_FRONT_LOG"
    koker_wait_http "http://127.0.0.1:$port_a/_log" front
    export KOKER_TEST_FRONT=http://127.0.0.1:$port_a
    export KOKER_TEST_FRONT_BLOB=http://localhost:$port_b
    export KOKER_TEST_FRONT_CONTROL=$KOKER_TEST_FRONT/_control
}

# Start everything and build the fixtures; called by setup_suite.  On failure, setup_suite
# fails and Bats still runs teardown_suite (koker_suite_stop), which kills what started.
koker_suite_start() {
    local t0=$SECONDS
    KOKER_TEST_SUITE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/koker-test.XXXXXX")
    chmod 0755 "$KOKER_TEST_SUITE_DIR"
    export KOKER_TEST_SUITE_DIR
    : >"$KOKER_TEST_SUITE_DIR/pids"
    export KOKER_TEST_USER=koker KOKER_TEST_PASSWORD=s3cret

    koker_registry_start registry
    export KOKER_TEST_REGISTRY=$KOKER_REPLY
    export KOKER_TEST_REGISTRY_DIR=$KOKER_TEST_SUITE_DIR/registry/storage

    koker_token_server_start
    koker_registry_start token-registry "auth:
  token:
    realm: $KOKER_TEST_TOKEN_SERVER/token
    service: $KOKER_TEST_TOKEN_SERVICE
    issuer: koker-test-issuer
    rootcertbundle: $KOKER_TEST_SUITE_DIR/token/cert.pem"
    export KOKER_TEST_TOKEN_REGISTRY=$KOKER_REPLY
    export KOKER_TEST_TOKEN_REGISTRY_DIR=$KOKER_TEST_SUITE_DIR/token-registry/storage

    koker_front_start
    echo "koker test: servers up in $((SECONDS - t0))s"

    export KOKER_TEST_FIXTURES=$KOKER_TEST_SUITE_DIR/fixtures
    koker_fixtures_build "$KOKER_TEST_FIXTURES"
    echo "koker test: fixtures built in $((SECONDS - t0))s"
    koker_fixtures_push
    koker_docker_config "$KOKER_TEST_SUITE_DIR/docker-home/.docker"
    export KOKER_TEST_DOCKER_CONFIG=$KOKER_TEST_SUITE_DIR/docker-home/.docker
    echo "koker test: fixtures pushed in $((SECONDS - t0))s"
}

# Kill every server koker_suite_start started (TERM, then KILL after 5 s) and remove its
# temp dir, unless KOKER_TEST_KEEP=1.  Safe to call after a failed or partial start.
koker_suite_stop() {
    local dir=${KOKER_TEST_SUITE_DIR:-} pid name i
    [[ -n $dir && -d $dir ]] || return 0
    local -a pids=()
    if [[ -f $dir/pids ]]; then
        while read -r pid name; do
            kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
        done <"$dir/pids"
    fi
    for ((i = 0; i < 50; i++)); do
        local alive=()
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive+=("$pid")
        done
        ((${#alive[@]} == 0)) && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${KOKER_TEST_KEEP:-} == 1 ]]; then
        echo "koker test: keeping $dir" >&2
    else
        rm -rf --one-file-system "$dir"
    fi
}

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

# ---------------------------------------------------------------- for tests

# mkimage ARGS...: tests/fixtures/mkimage.py (see its --help).
mkimage() {
    "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/mkimage.py" "$@"
}

# registry_token NAME [ACTIONS] [USER:PASS]: print a token for repository NAME of the token
# registry (anonymous unless USER:PASS is given).
registry_token() {
    local name=$1 actions=${2:-pull} userpass=${3:-} args=()
    [[ -n $userpass ]] && args=(-u "$userpass")
    curl -fsS "${args[@]}" -G "$KOKER_TEST_TOKEN_SERVER/token" \
        --data-urlencode "service=$KOKER_TEST_TOKEN_SERVICE" \
        --data-urlencode "scope=repository:$name:$actions" | jq -er .token
}

# registry_curl REGISTRY NAME [CURL_ARGS...] PATH: curl http://REGISTRY/v2/NAME/PATH.  For the
# token registry or the front it first gets a pull,push token with koker:s3cret.
registry_curl() {
    local reg=$1 name=$2 auth=()
    shift 2
    local path=${*: -1}
    if [[ $reg == "$KOKER_TEST_TOKEN_REGISTRY" || $reg == "${KOKER_TEST_FRONT#http://}" ]]; then
        auth=(-H "Authorization: Bearer $(registry_token "$name" pull,push \
            "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD")")
    fi
    curl -sS "${auth[@]}" "${@:1:$#-1}" "http://$reg/v2/$name/$path"
}

# registry_manifest NAME:TAG|NAME@DIGEST [REGISTRY]: print the manifest, whatever its type.
registry_manifest() {
    local ref=$1 reg=${2:-$KOKER_TEST_REGISTRY} name tag
    if [[ $ref == *@* ]]; then
        name=${ref%@*} tag=${ref#*@}
    else
        name=${ref%:*} tag=${ref##*:}
    fi
    registry_curl "$reg" "$name" -f -H "Accept: $KOKER_ACCEPT_ALL" "manifests/$tag"
}

# registry_blob NAME DIGEST [REGISTRY]: write the blob to stdout (following redirects).
registry_blob() {
    registry_curl "${3:-$KOKER_TEST_REGISTRY}" "$1" -f -L "blobs/$2"
}

# _koker_push_blob DIR REG NAME DIGEST AUTH...: monolithic upload (POST, then PUT ?digest=).
_koker_push_blob() {
    local dir=$1 reg=$2 name=$3 digest=$4 location
    shift 4
    if curl -fsS -o /dev/null -I "$@" "http://$reg/v2/$name/blobs/$digest" 2>/dev/null; then
        return 0
    fi
    location=$(curl -fsS -X POST -o /dev/null -D - "$@" "http://$reg/v2/$name/blobs/uploads/" |
        tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [[ -n $location ]] || { echo "push_layout: no upload location from $reg" >&2; return 1; }
    [[ $location == http* ]] || location=http://$reg$location
    [[ $location == *\?* ]] && location+="&" || location+="?"
    curl -sS --fail-with-body -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary "@$dir/blobs/sha256/${digest#sha256:}" "$@" "${location}digest=$digest"
}

# _koker_push_manifest DIR REG NAME DESCRIPTOR_JSON REFERENCE AUTH...
_koker_push_manifest() {
    local dir=$1 reg=$2 name=$3 desc=$4 ref=$5 digest file mt child blob
    shift 5
    digest=$(jq -r .digest <<<"$desc")
    file=$dir/blobs/sha256/${digest#sha256:}
    mt=$(jq -r --arg d "$KOKER_MT_OCI_MANIFEST" '.mediaType // $d' <<<"$desc")
    [[ $mt == null || -z $mt ]] && mt=$(jq -r --arg d "$KOKER_MT_OCI_MANIFEST" '.mediaType // $d' "$file")
    if [[ $mt == "$KOKER_MT_OCI_INDEX" || $mt == "$KOKER_MT_LIST" ]]; then
        while read -r child; do
            _koker_push_manifest "$dir" "$reg" "$name" "$child" \
                "$(jq -r .digest <<<"$child")" "$@" || return
        done < <(jq -c '.manifests[]' "$file")
    else
        while read -r blob; do
            _koker_push_blob "$dir" "$reg" "$name" "$blob" "$@" || return
        done < <(jq -r '.config.digest, .layers[].digest' "$file")
    fi
    curl -sS --fail-with-body -o /dev/null -X PUT -H "Content-Type: $mt" \
        --data-binary "@$file" "$@" "http://$reg/v2/$name/manifests/$ref"
}

# push_layout DIR TAG NAME:TAG [REGISTRY]: push the image (or index) tagged TAG in the OCI
# layout DIR to REGISTRY (default $KOKER_TEST_REGISTRY) as NAME:TAG, byte for byte: blobs,
# media types and manifests exactly as in DIR (skopeo would gzip plain-tar layers).  The
# registry still checks blob digests and that a manifest's blobs exist.
push_layout() {
    local dir=$1 tag=$2 ref=$3 reg=${4:-$KOKER_TEST_REGISTRY} desc name auth=()
    name=${ref%:*}
    desc=$(jq -ce --arg t "$tag" \
        '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)' \
        "$dir/index.json") || { echo "push_layout: no tag $tag in $dir/index.json" >&2; return 1; }
    if [[ $reg == "$KOKER_TEST_TOKEN_REGISTRY" ]]; then
        auth=(-H "Authorization: Bearer $(registry_token "$name" pull,push \
            "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD")")
    fi
    _koker_push_manifest "$dir" "$reg" "$name" "$desc" "${ref##*:}" "${auth[@]}"
}

# corrupt_blob NAME:TAG DIGEST [OFFSET]: flip one byte (at OFFSET, default the middle) of
# blob DIGEST in the plain registry's storage, so it serves the right size with the wrong
# content.  Blobs are shared by every repository, so the original is kept and put back by
# restore_blobs, which koker_teardown calls.
corrupt_blob() {
    local ref=$1 digest=$2 hex data name size offset
    hex=${digest#sha256:}
    name=${ref%:*}
    data=$KOKER_TEST_REGISTRY_DIR/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
    [[ -f $data ]] || { echo "corrupt_blob: no blob $digest in $KOKER_TEST_REGISTRY_DIR" >&2; return 1; }
    [[ -e $KOKER_TEST_REGISTRY_DIR/docker/registry/v2/repositories/$name/_layers/sha256/$hex/link ]] ||
        { echo "corrupt_blob: $digest is not a blob of $name" >&2; return 1; }
    size=$(stat -c %s "$data")
    offset=${3:-$((size / 2))}
    mkdir -p "$KOKER_TEST_SUITE_DIR/corrupted"
    [[ -e $KOKER_TEST_SUITE_DIR/corrupted/$hex ]] || cp -p "$data" "$KOKER_TEST_SUITE_DIR/corrupted/$hex"
    printf '%s\n' "$hex" >>"${BATS_TEST_TMPDIR:-$KOKER_TEST_SUITE_DIR}/.koker-corrupted"
    "$KOKER_TEST_PYTHON" - "$data" "$offset" <<'EOF'
import sys
path, offset = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(offset)
    byte = f.read(1)
    f.seek(offset)
    f.write(bytes([byte[0] ^ 0xFF]))
EOF
}

# restore_blobs: put back every blob corrupt_blob changed during this test.
restore_blobs() {
    local list=${BATS_TEST_TMPDIR:-$KOKER_TEST_SUITE_DIR}/.koker-corrupted hex
    [[ -f $list ]] || return 0
    while read -r hex; do
        [[ -f $KOKER_TEST_SUITE_DIR/corrupted/$hex ]] || continue
        cp -p "$KOKER_TEST_SUITE_DIR/corrupted/$hex" \
            "$KOKER_TEST_REGISTRY_DIR/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
        rm -f "$KOKER_TEST_SUITE_DIR/corrupted/$hex"
    done <"$list"
    rm -f "$list"
}

# front_control JSON: POST JSON to the front's /_control (faults: see tests/fixtures/front.py)
# and print the new state.  The front is reset when the test ends.
front_control() {
    : >>"${BATS_TEST_TMPDIR:-$KOKER_TEST_SUITE_DIR}/.koker-front-dirty"
    curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "$1" \
        "$KOKER_TEST_FRONT_CONTROL"
}

front_reset() {
    curl -fsS -o /dev/null -X POST --data-binary '{"reset": true}' "$KOKER_TEST_FRONT_CONTROL"
    rm -f "${BATS_TEST_TMPDIR:-$KOKER_TEST_SUITE_DIR}/.koker-front-dirty"
}

# front_log_mark: print the front log's current line count; front_log_since MARK: the lines
# after it.  (The same pair works on any log: front_log_since MARK FILE.)
front_log_mark() {
    wc -l <"${1:-$KOKER_TEST_FRONT_LOG}"
}

front_log_since() {
    tail -n "+$(($1 + 1))" "${2:-$KOKER_TEST_FRONT_LOG}"
}
