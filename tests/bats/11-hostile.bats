#!/usr/bin/env bats
# koker-pull against hostile layers and malformed manifests (docs/security.md "What the tests
# try"): nothing may be written outside the layer, and a refused image leaves the store as it
# was.
load helpers

setup_file() {
    export HOSTILE=$BATS_FILE_TMPDIR/layers
    python3 "$BATS_TEST_DIRNAME/../fixtures/hostile/make-layers.py" "$HOSTILE" >/dev/null
}

# Pulls an image made of the given hostile layer file (through an OCI layout), with EXPECTED rc.
pull_layer() { # EXPECTED LAYERFILE [mkimage args...]
    local rc=$1 layer=$2
    shift 2
    rm -rf "$BATS_TEST_TMPDIR/img"
    mkimage "$BATS_TEST_TMPDIR/img" latest --layer "$HOSTILE/$layer" --compress none "$@" >/dev/null
    run_koker "$rc" koker-pull "oci:$BATS_TEST_TMPDIR/img:latest"
}

store_layer() { # the unpacked directory of the image's only layer
    local lower
    lower=$(koker-inspect "$1" | jq -r '.[0].GraphDriver.Data.LowerDir')
    printf '%s' "$lower"
}

assert_nothing_stored() {
    [ -z "$(ls -A "$KOKER_ROOT/layers")" ] || { ls -la "$KOKER_ROOT/layers"; false; }
    [ -z "$(ls -A "$KOKER_ROOT/tmp")" ] || { ls -la "$KOKER_ROOT/tmp"; false; }
    [ ! -e "$KOKER_ROOT/images.json" ] || [ "$(jq '.images | length' "$KOKER_ROOT/images.json")" = 0 ]
}

@test "koker-pull: a layer with .. paths is refused and writes nothing outside" {
    pull_layer 125 dotdot.tar
    assert_stderr_match "\.\."
    [ ! -e "$KOKER_ROOT/escape" ] && [ ! -e "$KOKER_ROOT/../escape" ] && [ ! -e "$BATS_TEST_TMPDIR/escape" ]
    assert_nothing_stored
}

@test "koker-pull: absolute names land inside the layer" {
    pull_layer 0 absolute.tar
    [ ! -e /etc/koker-pwned ]
    [ -f "$(store_layer "$output")/etc/koker-pwned" ]
}

@test "koker-pull: symlinks that leave the layer are never written through" {
    pull_layer 125 symlink-escape.tar
    [ ! -e /tmp/koker-pwned ]
    pull_layer 125 symlink-chain.tar
    [ ! -e /koker-pwned ] && [ ! -e "$KOKER_ROOT/koker-pwned" ]
    assert_nothing_stored
}

@test "koker-pull: hard links to files outside the layer are refused" {
    pull_layer 125 hardlink-out.tar
    assert_stderr_match "link"
    assert_nothing_stored
}

@test "koker-pull: invalid whiteouts are refused" {
    pull_layer 125 whiteout-bad.tar
    assert_stderr_match "whiteout"
    assert_nothing_stored
}

@test "koker-pull: an opaque marker after its siblings keeps this layer's files" {
    pull_layer 0 opaque-late.tar
    dir=$(store_layer "$output")
    [ -e "$dir/d/keep" ] && [ -e "$dir/d/sub/x" ]
    assert_equal y "$(getfattr --only-values -n trusted.overlay.opaque "$dir/d" 2>/dev/null || python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$dir/d")"
}

@test "koker-pull: only user.* and security.capability xattrs survive" {
    pull_layer 0 xattr.tar
    dir=$(store_layer "$output")
    run python3 -c 'import os,sys; print(" ".join(sorted(os.listxattr(sys.argv[1], follow_symlinks=False))))' "$dir/f"
    [ "$status" = 0 ]
    [[ $output != *trusted.overlay* ]]
    [[ $output == *user.ok* ]]
}

@test "koker-pull: a device node is kept in the layer (the device cgroup guards it at run time)" {
    pull_layer 0 device.tar
    dir=$(store_layer "$output")
    assert_equal "character special file 1:1" "$(stat -c '%F %t:%T' "$dir/dev/mem")"
}

@test "koker-pull: decompression bombs, truncated and corrupt layers are refused" {
    rm -rf "$BATS_TEST_TMPDIR/img"
    mkimage "$BATS_TEST_TMPDIR/img" latest --layer "$HOSTILE/bomb.tar.gz" >/dev/null
    KOKER_MAX_LAYER_BYTES=10000000 run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/img:latest"
    assert_stderr_match "more than 10000000 uncompressed bytes"
    rm -rf "$BATS_TEST_TMPDIR/img"
    mkimage "$BATS_TEST_TMPDIR/img" latest --layer "$HOSTILE/truncated.tar.gz" --bad-diffid >/dev/null
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/img:latest"
    pull_layer 125 corrupt.tar --bad-diffid
    assert_nothing_stored
}

@test "koker-pull: hostile layers gzip-compressed (inflated by ISA-L) are refused the same way" {
    local layer rc extra
    for layer in dotdot:125 absolute:0 symlink-escape:125 symlink-chain:125 hardlink-out:125 \
        whiteout-bad:125 device:0 corrupt:125; do
        rc=${layer#*:} layer=${layer%:*}
        rm -rf "$BATS_TEST_TMPDIR/img"
        gzip -nc "$HOSTILE/$layer.tar" >"$BATS_TEST_TMPDIR/$layer.tar.gz"
        # corrupt.tar has no true diff_id: a wrong one makes sure it is refused either way.
        extra=()
        [ "$layer" != corrupt ] || extra=(--bad-diffid)
        mkimage "$BATS_TEST_TMPDIR/img" latest --layer "$BATS_TEST_TMPDIR/$layer.tar.gz" "${extra[@]}" >/dev/null
        run_koker "$rc" koker-pull -D "oci:$BATS_TEST_TMPDIR/img:latest"
        [ "$rc" = 125 ] || assert_stderr_match "gzip inflated by ISA-L"
        [ ! -e /etc/koker-pwned ] && [ ! -e /tmp/koker-pwned ] && [ ! -e /koker-pwned ]
        [ ! -e "$KOKER_ROOT/escape" ] && [ ! -e "$KOKER_ROOT/../escape" ]
        if [ "$rc" = 125 ]; then
            assert_nothing_stored
        else
            run_koker 0 koker-rmi -f "$output"
        fi
    done
}

@test "koker-pull: hostile layers through the registry are refused the same way" {
    requires registry
    rm -rf "$BATS_TEST_TMPDIR/img"
    mkimage "$BATS_TEST_TMPDIR/img" latest --layer "$HOSTILE/dotdot.tar" --compress gzip >/dev/null
    push_layout "$BATS_TEST_TMPDIR/img" latest hostile/dotdot:latest
    run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/hostile/dotdot"
    assert_nothing_stored
}

# A copy of the fixture layout "one" whose manifest is rewritten by the jq filter $1 (or
# replaced by the raw text $2), with the manifest's media type $3 in index.json.
bad_manifest() { # JQ_FILTER [RAW] [MEDIATYPE]
    local dir=$BATS_TEST_TMPDIR/bad desc old hex mt
    rm -rf "$dir"
    cp -a "$KOKER_TEST_FIXTURES/one" "$dir"
    desc=$(jq -c '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest")' "$dir/index.json")
    old=$(jq -r .digest <<<"$desc")
    if [ -n "${2:-}" ]; then
        printf '%s' "$2" >"$dir/new"
    else
        jq -c "$1" "$dir/blobs/sha256/${old#sha256:}" >"$dir/new"
    fi
    hex=$(sha256sum "$dir/new" | cut -d' ' -f1)
    mv "$dir/new" "$dir/blobs/sha256/$hex"
    mt=${3:-application/vnd.oci.image.manifest.v1+json}
    jq --arg d "sha256:$hex" --argjson s "$(stat -c %s "$dir/blobs/sha256/$hex")" --arg mt "$mt" \
        '.manifests |= map(if .annotations["org.opencontainers.image.ref.name"] == "latest" then .digest = $d | .size = $s | .mediaType = $mt else . end)' \
        "$dir/index.json" >"$dir/index.new" && mv "$dir/index.new" "$dir/index.json"
}

@test "koker-pull: malformed and confused manifests are refused with one line" {
    bad_manifest '. + {manifests: []}'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match 'both "layers" and "manifests"'
    bad_manifest '.mediaType = "application/vnd.docker.distribution.manifest.v2+json"'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match "does not match"
    bad_manifest '.layers[0].digest = "sha256:../../../../etc/passwd"'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match "malformed digest"
    bad_manifest '.layers[0].size = -5'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    bad_manifest '.layers[0].size = 10'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match "larger than"
    bad_manifest '.config.mediaType = "application/vnd.cncf.helm.config.v1+json"'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match "not a container image"
    bad_manifest '.schemaVersion = 1'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    bad_manifest '' '{"schemaVersion": 2, "layers": ['
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match "malformed JSON"
    [ "$(printf '%s\n' "$stderr" | grep -c .)" = 1 ]
    assert_nothing_stored
}

@test "koker-pull: a manifest over 4 MiB is refused" {
    bad_manifest '.annotations = {"pad": ("x" * 5000000)}'
    run_koker 125 koker-pull "oci:$BATS_TEST_TMPDIR/bad:latest"
    assert_stderr_match "over the limit"
    assert_nothing_stored
}

@test "koker-pull: a registry manifest with both layers and manifests is refused (CVE-2021-41190)" {
    requires registry
    bad_manifest '. + {manifests: []}'
    if ! push_layout "$BATS_TEST_TMPDIR/bad" latest hostile/confused:latest 2>/dev/null; then
        skip "the registry itself refuses such a manifest"
    fi
    run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/hostile/confused"
    assert_stderr_match 'both "layers" and "manifests"'
    assert_nothing_stored
}

@test "koker-pull: a stalled connection is detected and resumed" {
    requires registry
    front_control '{"stall_blob_after": 40000, "stall_seconds": 30}'
    KOKER_STALL_TIMEOUT=2 KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull one
    assert_stderr_match "resuming sha256:"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
}

@test "koker-pull: a lying Content-Length never yields a wrong image" {
    requires registry
    front_control '{"lie_content_length": 1000}'
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker '?' koker-pull one
    if [ "$status" = 0 ]; then
        want=$(KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT koker-pull -q --root "$BATS_TEST_TMPDIR/other" one)
        assert_equal "$want" "$output"
    else
        assert_equal 125 "$status"
        assert_nothing_stored
    fi
}

@test "koker-pull: a terminal gets a progress bar per layer" {
    requires registry
    command -v script >/dev/null || skip "script(1) is not installed"
    run script -qec "koker-pull $KOKER_TEST_REGISTRY/koker/three >/dev/null" /dev/null
    [[ $output == *$'\e['* ]]
    [[ $output == *"pull complete"* ]]
    [[ $output == *"["*"="*"]"* ]]
}
