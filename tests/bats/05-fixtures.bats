#!/usr/bin/env bats
# shellcheck shell=bats
# shellcheck disable=SC2154 # $status, $output, $stderr: set by Bats' run
# SPDX-License-Identifier: MIT
#
# The harness itself, checked with curl only (no koker tool needed): the fixture images are
# served as the other tests expect, the token flow and the front behave like Docker Hub,
# and the fault injection, push_layout, corrupt_blob and run_koker work.

load helpers

setup_file() {
    # The front's faults and log are shared: no tests of this file side by side (bats -j).
    export BATS_NO_PARALLELIZE_WITHIN_FILE=true
}

setup() {
    koker_setup
    requires registry
}

# oci_get REGISTRY NAME PATH [CURL_ARGS...]: GET http://REGISTRY/v2/NAME/PATH (with a token
# where needed) into $BATS_TEST_TMPDIR/body, headers into $BATS_TEST_TMPDIR/headers.
oci_get() {
    local reg=$1 name=$2 path=$3
    shift 3
    registry_curl "$reg" "$name" -f -D "$BATS_TEST_TMPDIR/headers" \
        -o "$BATS_TEST_TMPDIR/body" "$@" "$path"
}

# header NAME: a header of the last oci_get (case-insensitive name).
header() {
    tr -d '\r' <"$BATS_TEST_TMPDIR/headers" | sed -n "s/^$1: //Ip" | tail -n 1
}

config_of() { # NAME:TAG [REGISTRY]
    local reg=${2:-$KOKER_TEST_REGISTRY}
    registry_blob "${1%:*}" "$(registry_manifest "$1" "$reg" | jq -r .config.digest)" "$reg"
}

@test "fixtures: koker/one and library/one are OCI images with one gzip layer" {
    local reg
    for reg in "$KOKER_TEST_REGISTRY" "$KOKER_TEST_TOKEN_REGISTRY"; do
        oci_get "$reg" koker/one manifests/latest -H "Accept: $KOKER_MT_OCI_MANIFEST"
        assert_equal "$KOKER_MT_OCI_MANIFEST" "$(header Content-Type)" "Content-Type on $reg"
        # umoci leaves out the optional mediaType field; the Content-Type header is the answer.
        run jq -r '[.schemaVersion, .config.mediaType, (.layers | length), .layers[0].mediaType] | join(" ")' \
            "$BATS_TEST_TMPDIR/body"
        assert_equal "2 application/vnd.oci.image.config.v1+json 1 application/vnd.oci.image.layer.v1.tar+gzip" "$output"
        assert_equal "$(header Docker-Content-Digest)" \
            "$(registry_manifest library/one:latest "$reg" | sha256sum | sed 's/^/sha256:/; s/ .*//')" \
            "library/one is the same image as koker/one"
        run config_of koker/one:latest "$reg"
        assert_equal '["sh"] amd64 linux' "$(jq -cr '"\(.config.Cmd) \(.architecture) \(.os)"' <<<"$output")"
    done
}

@test "fixtures: koker/three has the expected config" {
    run config_of koker/three:latest
    [ "$status" -eq 0 ]
    assert_equal '["PATH=/bin:/usr/bin","FOO=bar"]' "$(jq -c .config.Env <<<"$output")"
    assert_equal /work "$(jq -r .config.WorkingDir <<<"$output")"
    assert_equal koker "$(jq -r .config.User <<<"$output")"
    assert_equal '["/bin/sh","-c"]' "$(jq -c .config.Entrypoint <<<"$output")"
    assert_equal '["echo three"]' "$(jq -c .config.Cmd <<<"$output")"
    assert_equal 3 "$(jq '.rootfs.diff_ids | length' <<<"$output")"
}

@test "fixtures: koker/three layers carry a whiteout, an opaque dir and /hello" {
    local manifest layer i
    manifest=$(registry_manifest koker/three:latest)
    for i in 0 1 2; do
        layer=$(jq -r ".layers[$i].digest" <<<"$manifest")
        registry_blob koker/three "$layer" >"$BATS_TEST_TMPDIR/l$i.tgz"
        assert_equal "$layer" "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/l$i.tgz" | cut -d' ' -f1)"
        tar -tzf "$BATS_TEST_TMPDIR/l$i.tgz" | sed 's,^\./,,' | sort >"$BATS_TEST_TMPDIR/l$i.list"
    done
    grep -qx 'bin/busybox' "$BATS_TEST_TMPDIR/l0.list"
    grep -qx 'etc/gone' "$BATS_TEST_TMPDIR/l0.list"
    grep -qx 'opq/a' "$BATS_TEST_TMPDIR/l0.list"
    grep -qx 'etc/.wh.gone' "$BATS_TEST_TMPDIR/l1.list"
    grep -qx 'opq/.wh..wh..opq' "$BATS_TEST_TMPDIR/l1.list"
    grep -qx 'opq/c' "$BATS_TEST_TMPDIR/l1.list"
    run grep -c '\.wh\.[ab]$' "$BATS_TEST_TMPDIR/l1.list"
    assert_equal 0 "$output" "L2 has no per-file whiteouts for opq/a, opq/b"
    run tar -xzOf "$BATS_TEST_TMPDIR/l2.tgz" hello
    assert_equal 'hello from layer 3' "$output"
    grep -qx 'work/\?' "$BATS_TEST_TMPDIR/l2.list"
}

@test "fixtures: koker/three:v2s2 is a Docker v2 schema 2 manifest" {
    oci_get "$KOKER_TEST_REGISTRY" koker/three manifests/v2s2 -H "Accept: $KOKER_MT_V2S2"
    assert_equal "$KOKER_MT_V2S2" "$(header Content-Type)"
    run jq -r '[.mediaType, .config.mediaType, (.layers | map(.mediaType) | unique | join(",")),
                (.layers | length)] | join(" ")' "$BATS_TEST_TMPDIR/body"
    assert_equal "$KOKER_MT_V2S2 application/vnd.docker.container.image.v1+json application/vnd.docker.image.rootfs.diff.tar.gzip 3" "$output"
    run config_of koker/three:v2s2
    assert_equal '["echo three"]' "$(jq -c .config.Cmd <<<"$output")"
}

@test "fixtures: koker/multi is an OCI index with arm64 first, koker/multi:list a Docker list" {
    oci_get "$KOKER_TEST_REGISTRY" koker/multi manifests/latest -H "Accept: $KOKER_MT_OCI_INDEX"
    assert_equal "$KOKER_MT_OCI_INDEX" "$(header Content-Type)"
    run jq -r '[.manifests[] | "\(.platform.os)/\(.platform.architecture)"] | join(" ")' \
        "$BATS_TEST_TMPDIR/body"
    assert_equal "linux/arm64 linux/amd64" "$output"
    local arch digest manifest
    for arch in arm64 amd64; do
        digest=$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' \
            "$BATS_TEST_TMPDIR/body")
        manifest=$(registry_manifest "koker/multi@$digest")
        run registry_blob koker/multi "$(jq -r .config.digest <<<"$manifest")"
        assert_equal "$arch" "$(jq -r .architecture <<<"$output")"
        registry_blob koker/multi "$(jq -r '.layers[-1].digest' <<<"$manifest")" |
            tar -xzO arch >"$BATS_TEST_TMPDIR/arch"
        assert_equal "$arch" "$(cat "$BATS_TEST_TMPDIR/arch")"
    done

    oci_get "$KOKER_TEST_REGISTRY" koker/multi manifests/list -H "Accept: $KOKER_MT_LIST"
    assert_equal "$KOKER_MT_LIST" "$(header Content-Type)"
    run jq -r '[.manifests[] | "\(.mediaType) \(.platform.architecture)"] | join(" ")' \
        "$BATS_TEST_TMPDIR/body"
    assert_equal "$KOKER_MT_V2S2 arm64 $KOKER_MT_V2S2 amd64" "$output"
}

@test "fixtures: koker/zstd has a zstd layer whose tar matches its diff_id" {
    local reg manifest layer
    for reg in "$KOKER_TEST_REGISTRY" "$KOKER_TEST_TOKEN_REGISTRY"; do
        manifest=$(registry_manifest koker/zstd:latest "$reg")
        run jq -r '.layers[0].mediaType' <<<"$manifest"
        assert_match '\+zstd$'
        layer=$(jq -r '.layers[0].digest' <<<"$manifest")
        registry_blob koker/zstd "$layer" "$reg" >"$BATS_TEST_TMPDIR/layer"
        assert_equal 28b52ffd "$(head -c 4 "$BATS_TEST_TMPDIR/layer" | od -An -tx1 | tr -d ' \n')"
        run config_of koker/zstd:latest "$reg"
        assert_equal "$(jq -r '.rootfs.diff_ids[0]' <<<"$output")" \
            "sha256:$(zstd -dc <"$BATS_TEST_TMPDIR/layer" | sha256sum | cut -d' ' -f1)"
    done
}

@test "fixtures: the token registry sends a Bearer challenge and takes the server's tokens" {
    local mark token
    mark=$(front_log_mark "$KOKER_TEST_TOKEN_LOG")
    run curl -sS -o /dev/null -D - "http://$KOKER_TEST_TOKEN_REGISTRY/v2/koker/one/manifests/latest"
    assert_match '^HTTP/1.1 401'
    assert_match "Www-Authenticate: Bearer realm=\"$KOKER_TEST_TOKEN_SERVER/token\",service=\"$KOKER_TEST_TOKEN_SERVICE\",scope=\"repository:koker/one:pull\""

    run curl -fsS -G "$KOKER_TEST_TOKEN_SERVER/token" --data-urlencode "service=$KOKER_TEST_TOKEN_SERVICE" \
        --data-urlencode "scope=repository:koker/one:pull"
    [ "$status" -eq 0 ]
    assert_equal 300 "$(jq .expires_in <<<"$output")"
    token=$(jq -r .token <<<"$output")
    assert_equal "$token" "$(jq -r .access_token <<<"$output")"
    assert_equal RS256 "$(cut -d. -f1 <<<"$token" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .alg)"

    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        -H "Accept: $KOKER_MT_OCI_MANIFEST" "http://$KOKER_TEST_TOKEN_REGISTRY/v2/koker/one/manifests/latest"
    assert_equal 200 "$output"
    run front_log_since "$mark" "$KOKER_TEST_TOKEN_LOG"
    assert_match 'token GET /token\?service=.*scope=repository%3[aA]koker%2[fF]one%3[aA]pull auth=none user=- -> 200'
}

@test "fixtures: private/ needs Basic koker:s3cret at the token server" {
    local url=$KOKER_TEST_TOKEN_SERVER/token token
    run curl -sS -o /dev/null -w '%{http_code}' "$url?service=$KOKER_TEST_TOKEN_SERVICE&scope=repository:private/one:pull"
    assert_equal 401 "$output" "anonymous token for private/one"
    run curl -sS -o /dev/null -w '%{http_code}' -u koker:wrong "$url?service=$KOKER_TEST_TOKEN_SERVICE&scope=repository:private/one:pull"
    assert_equal 401 "$output" "wrong password"

    # A pull token for another repository does not open private/one.
    token=$(registry_token koker/one pull)
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        "http://$KOKER_TEST_TOKEN_REGISTRY/v2/private/one/manifests/latest"
    assert_equal 401 "$output"

    token=$(registry_token private/one pull koker:s3cret)
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        -H "Accept: $KOKER_MT_OCI_MANIFEST" "http://$KOKER_TEST_TOKEN_REGISTRY/v2/private/one/manifests/latest"
    assert_equal 200 "$output"
    run grep -ci 'scope=repository%3Aprivate%2Fone%3Apull auth=basic user=koker -> 200' "$KOKER_TEST_TOKEN_LOG"
    [ "$output" -ge 1 ]
    # private/one is only on the token registry.
    run curl -sS -o /dev/null -w '%{http_code}' "http://$KOKER_TEST_REGISTRY/v2/private/one/manifests/latest"
    assert_equal 404 "$output"
}

@test "fixtures: the front answers blob GETs with 307 to localhost:PORT_B" {
    local token layer location mark
    mark=$(front_log_mark)
    token=$(registry_token library/one pull)
    run curl -sS -o /dev/null -D - "$KOKER_TEST_FRONT/v2/library/one/manifests/latest"
    assert_match '^HTTP/1.1 401'
    assert_match "Www-Authenticate: Bearer realm=\"$KOKER_TEST_TOKEN_SERVER/token\""

    run curl -fsS -H "Authorization: Bearer $token" -H "Accept: $KOKER_MT_OCI_MANIFEST" \
        "$KOKER_TEST_FRONT/v2/library/one/manifests/latest"
    layer=$(jq -r '.layers[0].digest' <<<"$output")

    run curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H "Authorization: Bearer $token" \
        "$KOKER_TEST_FRONT/v2/library/one/blobs/$layer"
    assert_match "^307 $KOKER_TEST_FRONT_BLOB/blobdata/library/one/$layer\?"
    [[ $KOKER_TEST_FRONT_BLOB == http://localhost:* ]]
    location=${output#307 }

    run curl -sS -o /dev/null -w '%{http_code}' "$KOKER_TEST_FRONT/v2/library/one/blobs/$layer"
    assert_equal 401 "$output" "blob GET without a token"

    # Fetched without credentials, as a client must after a cross-host redirect.
    curl -fsS -o "$BATS_TEST_TMPDIR/blob" "$location"
    assert_equal "$layer" "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)"
    # curl -L drops our Authorization header on the way to another host; the log shows it.
    curl -fsS -L -o /dev/null -H "Authorization: Bearer $token" "$KOKER_TEST_FRONT/v2/library/one/blobs/$layer"
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$location"
    run front_log_since "$mark"
    assert_match "A GET /v2/library/one/blobs/$layer auth=1 -> 307"
    assert_match "B GET /blobdata/library/one/$layer auth=0 range=- -> 200"
    assert_match "B GET /blobdata/library/one/$layer auth=1 range=- -> 200"
}

@test "fixtures: the front's fail_next answers 429 once" {
    run front_control '{"fail_next": {"count": 1, "status": 429, "retry_after": 0}}'
    assert_equal 1 "$(jq .fail_next.count <<<"$output")"
    run curl -sS -D - -o /dev/null "$KOKER_TEST_FRONT/v2/"
    assert_match '^HTTP/1.1 429'
    assert_match 'Retry-After: 0'
    run curl -sS -o /dev/null -w '%{http_code}' "$KOKER_TEST_FRONT/v2/"
    assert_equal 401 "$output" "second request goes through"
    run curl -fsS "$KOKER_TEST_FRONT_CONTROL"
    assert_equal null "$(jq .fail_next <<<"$output")"
}

@test "fixtures: drop_blob_after and a Range resume give the whole blob" {
    local token layer mark
    token=$(registry_token library/one pull)
    layer=$(registry_manifest library/one:latest | jq -r '.layers[0].digest')
    front_control '{"drop_blob_after": 1000}'
    mark=$(front_log_mark)
    run curl -sS -L -o "$BATS_TEST_TMPDIR/blob" -H "Authorization: Bearer $token" \
        "$KOKER_TEST_FRONT/v2/library/one/blobs/$layer"
    assert_equal 18 "$status" "curl: partial file"
    assert_equal 1000 "$(stat -c %s "$BATS_TEST_TMPDIR/blob")"
    run curl -sS -L -C - -o "$BATS_TEST_TMPDIR/blob" -H "Authorization: Bearer $token" \
        "$KOKER_TEST_FRONT/v2/library/one/blobs/$layer"
    assert_equal 0 "$status"
    assert_equal "$layer" "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)"
    run front_log_since "$mark"
    assert_match "range=- -> 200 sent=1000 fault=drop_blob_after"
    assert_match "range=bytes=1000- -> 206"
}

@test "fixtures: stall_blob_after hangs and lie_content_length misleads" {
    local token layer location
    token=$(registry_token library/one pull)
    layer=$(registry_manifest library/one:latest | jq -r '.layers[0].digest')
    location=$(curl -fsS -o /dev/null -w '%{redirect_url}' -H "Authorization: Bearer $token" \
        "$KOKER_TEST_FRONT/v2/library/one/blobs/$layer")

    front_control '{"stall_blob_after": 100, "stall_seconds": 3}'
    run curl -sS --max-time 1 -o "$BATS_TEST_TMPDIR/blob" "$location"
    assert_equal 28 "$status" "curl: timeout"
    assert_equal 100 "$(stat -c %s "$BATS_TEST_TMPDIR/blob")"

    front_control '{"lie_content_length": 10}'
    run curl -sS -o "$BATS_TEST_TMPDIR/blob" -D - "$location"
    assert_match 'Content-Length: 10'
    run curl -fsS -o "$BATS_TEST_TMPDIR/blob" "$location"
    assert_equal "$layer" "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)" \
        "the lie is told once"
}

@test "fixtures: archives, rootfs and docker config are in place" {
    local f=$KOKER_TEST_FIXTURES
    run tar -tf "$f/one-oci.tar"
    assert_match '(^|.)index\.json'
    assert_match 'oci-layout'
    run tar -xOf "$f/one-docker.tar" manifest.json
    # skopeo writes the normalized name, as podman save does (docker save: koker/one:latest).
    assert_equal '["docker.io/koker/one:latest"]' "$(jq -c '.[0].RepoTags' <<<"$output")"
    [ -x "$f/rootfs/bin/busybox" ]
    [ "$(readlink "$f/rootfs/bin/sh")" = busybox ]
    grep -qx 'koker:x:1000:1000::/home/koker:/bin/sh' "$f/rootfs/etc/passwd"
    grep -qx 'extra:x:2000:koker' "$f/rootfs/etc/group"
    for layout in one three multi zstd; do
        [ -f "$f/$layout/index.json" ]
    done
    run jq -r --arg r "$KOKER_TEST_TOKEN_REGISTRY" '.auths[$r].auth' "$KOKER_TEST_DOCKER_CONFIG/config.json"
    assert_equal koker:s3cret "$(base64 -d <<<"$output")"
    run jq -r --arg r "${KOKER_TEST_FRONT#http://}" '.auths[$r].auth' "$KOKER_TEST_DOCKER_CONFIG/config.json"
    assert_equal koker:s3cret "$(base64 -d <<<"$output")"
}

@test "fixtures: mkimage.py and push_layout push a hostile image verbatim" {
    local dir=$BATS_TEST_TMPDIR/hostile digest
    mkdir -p "$dir/root/etc"
    echo evil >"$dir/root/etc/evil"
    tar -C "$dir/root" -cf "$dir/plain.tar" etc
    gzip -c "$dir/plain.tar" >"$dir/gz.tar.gz"
    # An uncompressed layer, then gzip data that claims to be zstd, and wrong diff_ids.
    digest=$(mkimage "$dir/layout" bad --layer "$dir/plain.tar" --layer "$dir/gz.tar.gz" \
        --media-type application/vnd.oci.image.layer.v1.tar+zstd --bad-diffid \
        --config '{"Cmd": ["sh"]}')
    push_layout "$dir/layout" bad hostile/bad:v1
    run registry_manifest hostile/bad:v1
    assert_equal "$digest" "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)"
    assert_equal "application/vnd.oci.image.layer.v1.tar application/vnd.oci.image.layer.v1.tar+zstd" \
        "$(jq -r '[.layers[].mediaType] | join(" ")' <<<"$output")"
    assert_equal "sha256:$(sha256sum <"$dir/plain.tar" | cut -d' ' -f1)" \
        "$(jq -r '.layers[0].digest' <<<"$output")"
    run config_of hostile/bad:v1
    [ "$(jq -r '.rootfs.diff_ids[0]' <<<"$output")" != "sha256:$(sha256sum <"$dir/plain.tar" | cut -d' ' -f1)" ]

    # The same layout on the token registry (push with a token).
    push_layout "$dir/layout" bad hostile/bad:v1 "$KOKER_TEST_TOKEN_REGISTRY"
    run registry_manifest hostile/bad:v1 "$KOKER_TEST_TOKEN_REGISTRY"
    assert_equal "$digest" "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)"
}

@test "fixtures: corrupt_blob makes the registry serve corrupt bytes until restore_blobs" {
    local layer size
    layer=$(registry_manifest koker/one:latest | jq -r '.layers[0].digest')
    corrupt_blob koker/one:latest "$layer"
    registry_blob koker/one "$layer" >"$BATS_TEST_TMPDIR/blob"
    size=$(registry_manifest koker/one:latest | jq -r '.layers[0].size')
    assert_equal "$size" "$(stat -c %s "$BATS_TEST_TMPDIR/blob")" "same size"
    [ "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)" != "$layer" ]
    restore_blobs
    registry_blob koker/one "$layer" >"$BATS_TEST_TMPDIR/blob"
    assert_equal "$layer" "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)"
    # Teardown restores too: corrupt again and leave it to koker_teardown.
    corrupt_blob koker/one:latest "$layer" 0
}

@test "fixtures: the blob corrupted by the previous test was restored by teardown" {
    local layer
    layer=$(registry_manifest koker/one:latest | jq -r '.layers[0].digest')
    registry_blob koker/one "$layer" >"$BATS_TEST_TMPDIR/blob"
    assert_equal "$layer" "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)"
}

@test "fixtures: run_koker checks exit codes and keeps stderr apart" {
    run_koker 3 /bin/sh -c 'echo out; echo err >&2; exit 3'
    assert_equal out "$output"
    assert_equal err "$stderr"
    assert_stderr_match '^err$'
    run_koker 127 /bin/sh -c 'exit 127'
    run_koker '?' /bin/sh -c 'exit 9'
    assert_equal 9 "$status"
    run run_koker 0 /bin/sh -c 'echo boom >&2; exit 125'
    assert_equal 1 "$status"
    assert_match 'FAIL: exit code is 125; expected 0'
    assert_match '# stderr: boom'
    KOKER_TEST_TIMEOUT=1 run run_koker /bin/sleep 5
    assert_equal 1 "$status"
    assert_match 'FAIL: timed out after 1s'
}

@test "fixtures: teardown kills recorded pids and unmounts below the test dir" {
    requires root
    sleep 300 3>&- &
    koker_cleanup_later pid "$!"
    echo "$!" >"$BATS_TEST_TMPDIR/sleep.pid"
    mkdir -p "$KOKER_ROOT/mnt/inner"
    mount -t tmpfs koker-test "$KOKER_ROOT/mnt"
    mkdir -p "$KOKER_ROOT/mnt/inner"
    mount -t tmpfs koker-test "$KOKER_ROOT/mnt/inner"
    chmod 0555 "$KOKER_ROOT/mnt/inner"
    koker_teardown
    run kill -0 "$(cat "$BATS_TEST_TMPDIR/sleep.pid")"
    [ "$status" -ne 0 ]
    run grep -c " $KOKER_ROOT" /proc/self/mountinfo
    assert_equal 0 "$output"
    [ ! -e "$KOKER_ROOT" ]
}
