# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The registry functions koker's Bats tests call, once the servers of helpers.servers.bash
# are up: push an image byte for byte, read manifests and blobs, get tokens, corrupt a blob,
# and drive the front's faults.  helpers.bash sources it (after helpers.servers.bash and
# helpers.fixtures.bash); koker_fixtures_push uses registry_manifest.
#
# Sets (not exported) the manifest media types KOKER_MT_OCI_MANIFEST, KOKER_MT_OCI_INDEX,
# KOKER_MT_V2S2, KOKER_MT_LIST, and KOKER_ACCEPT_ALL (all four, for an Accept header).
# Uses the KOKER_TEST_* variables koker_suite_start exports (see helpers.servers.bash):
# KOKER_TEST_REGISTRY, KOKER_TEST_REGISTRY_DIR, KOKER_TEST_TOKEN_REGISTRY,
# KOKER_TEST_TOKEN_SERVER, KOKER_TEST_TOKEN_SERVICE, KOKER_TEST_FRONT,
# KOKER_TEST_FRONT_CONTROL, KOKER_TEST_FRONT_LOG, KOKER_TEST_USER, KOKER_TEST_PASSWORD,
# KOKER_TEST_SUITE_DIR, KOKER_TEST_PYTHON; and Bats' BATS_TEST_TMPDIR, where it notes what
# koker_teardown (helpers.bash) must undo.
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
# and mkimage ARGS... (tests/fixtures/mkimage.py) of helpers.fixtures.bash.
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

KOKER_MT_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
KOKER_MT_OCI_INDEX=application/vnd.oci.image.index.v1+json
KOKER_MT_V2S2=application/vnd.docker.distribution.manifest.v2+json
KOKER_MT_LIST=application/vnd.docker.distribution.manifest.list.v2+json
KOKER_ACCEPT_ALL="$KOKER_MT_OCI_MANIFEST, $KOKER_MT_OCI_INDEX, $KOKER_MT_V2S2, $KOKER_MT_LIST"

# ---------------------------------------------------------------- for tests

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
