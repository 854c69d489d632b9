#!/usr/bin/env bats
# koker-pull against a real docker-registry (and its token-auth twin behind a Docker-Hub-like
# front), plus the local sources. Fixtures: see helpers.fixtures.bash.
load helpers

# The store must hold nothing half-done: no temporary entries, and exactly the given number of
# layers and images.
assert_store_clean() { # LAYERS IMAGES
    local tmp
    tmp=$(ls -A "$KOKER_ROOT/tmp" 2>/dev/null | grep -v '\.lock$' || true)
    [ -z "$tmp" ] || { echo "tmp/ holds: $tmp"; false; }
    assert_equal "$1" "$(ls "$KOKER_ROOT/layers" 2>/dev/null | wc -l)" "layers in the store"
    run_koker 0 koker-images -q
    assert_equal "$2" "$(printf '%s' "$output" | grep -c . || true)" "images in the store"
}

# Mounts the image's layers read-only at $BATS_TEST_TMPDIR/mnt (overlayfs, as koker-run will).
mount_image() {
    local lower
    run_koker 0 koker-inspect "$1"
    lower=$(printf '%s' "$output" | jq -r '.[0].GraphDriver.Data.LowerDir')
    mkdir -p "$BATS_TEST_TMPDIR/mnt"
    if [[ $lower == *:* ]]; then
        mount -t overlay koker-test -o "ro,lowerdir=$lower" "$BATS_TEST_TMPDIR/mnt"
    else
        mount --bind -o ro "$lower" "$BATS_TEST_TMPDIR/mnt"
    fi
    koker_cleanup_later mount "$BATS_TEST_TMPDIR/mnt"
}

@test "koker-pull: prints only the image ID on stdout and creates the store 0700" {
    requires registry
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/one"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    assert_stderr_match "pull"
    assert_equal 700 "$(stat -c %a "$KOKER_ROOT")"
    id=$output
    run_koker 0 koker-images
    assert_match "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE"
    assert_match "$KOKER_TEST_REGISTRY/koker/one +latest +${id:7:12} "
    assert_store_clean 1 1
}

@test "koker-pull: -q prints the ID and nothing on stderr" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one:latest"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    [ -z "$stderr" ]
}

@test "koker-pull: -D traces the HTTP requests and the unpacking" {
    requires registry
    run_koker 0 koker-pull -D "$KOKER_TEST_REGISTRY/koker/one"
    assert_stderr_match "debug: GET http://$KOKER_TEST_REGISTRY/v2/koker/one/manifests/latest -> 200"
    assert_stderr_match "debug: unpack sha256:"
    assert_stderr_match "debug: verified layer sha256:[0-9a-f]{64}: diff_id sha256:"
    # The split bench/pull.sh reads; the fixture's layers are gzip, inflated by ISA-L.
    assert_stderr_match "debug: layer sha256:[0-9a-f]{64}: timing: download [0-9.]+ s, decompress [0-9.]+ s, write [0-9.]+ s \(gzip inflated by ISA-L\)"
}

@test "koker-pull: a gzip layer of two members, or with zeros after its end, unpacks whole" {
    local dir=$BATS_TEST_TMPDIR/gz
    mkdir -p "$dir/tree/d"
    printf 'first\n' >"$dir/tree/a"
    head -c 300000 /dev/urandom >"$dir/tree/d/b"
    tar -C "$dir/tree" --numeric-owner -cf "$dir/layer.tar" a d
    # Two members, split inside a file's data, as pigz or a concatenation writes them.
    head -c 100000 "$dir/layer.tar" | gzip -n >"$dir/two.gz"
    tail -c +100001 "$dir/layer.tar" | gzip -n >>"$dir/two.gz"
    { gzip -nc "$dir/layer.tar"; head -c 4096 /dev/zero; } >"$dir/padded.gz"
    for layer in two.gz padded.gz; do
        rm -rf "$dir/img"
        mkimage "$dir/img" latest --layer "$dir/$layer" >/dev/null
        run_koker 0 koker-pull "oci:$dir/img:latest"
        id=$output
        run_koker 0 koker-inspect "$id"
        lower=$(jq -r '.[0].GraphDriver.Data.LowerDir' <<<"$output")
        cmp "$dir/tree/d/b" "$lower/d/b"
        assert_equal first "$(cat "$lower/a")"
        run_koker 0 koker-rmi -f "$id"
    done
}

@test "koker-pull: three layers with whiteouts, an opaque dir and the image config" {
    requires registry root
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/three"
    assert_store_clean 3 1
    mount_image "$KOKER_TEST_REGISTRY/koker/three"
    local m=$BATS_TEST_TMPDIR/mnt
    [ ! -e "$m/etc/gone" ]                       # whiteout of layer 2
    assert_equal "c" "$(ls "$m/opq")"            # opaque: a and b of layer 1 hidden
    assert_equal "hello from layer 3" "$(cat "$m/hello")"
    [ -x "$m/bin/busybox" ]
    run_koker 0 koker-inspect "$KOKER_TEST_REGISTRY/koker/three"
    assert_equal '["PATH=/bin:/usr/bin","FOO=bar"]' "$(jq -c '.[0].Config.Env' <<<"$output")"
    assert_equal /work "$(jq -r '.[0].Config.WorkingDir' <<<"$output")"
    assert_equal koker "$(jq -r '.[0].Config.User' <<<"$output")"
    assert_equal '["/bin/sh","-c"]' "$(jq -c '.[0].Config.Entrypoint' <<<"$output")"
    assert_equal '["echo three"]' "$(jq -c '.[0].Config.Cmd' <<<"$output")"
    assert_equal 3 "$(jq '.[0].RootFS.Layers | length' <<<"$output")"
    assert_equal layers "$(jq -r '.[0].RootFS.Type' <<<"$output")"
    assert_equal amd64 "$(jq -r '.[0].Architecture' <<<"$output")"
    assert_equal linux "$(jq -r '.[0].Os' <<<"$output")"
    [[ $(jq -r '.[0].Id' <<<"$output") =~ ^sha256:[0-9a-f]{64}$ ]]
    [[ $(jq -r '.[0].RepoDigests[0]' <<<"$output") =~ ^$KOKER_TEST_REGISTRY/koker/three@sha256:[0-9a-f]{64}$ ]]
    [[ $(jq -r '.[0].Created' <<<"$output") =~ ^[0-9]{4}- ]]
    [ "$(jq -r '.[0].Size' <<<"$output")" -gt 1000000 ]
}

@test "koker-pull: a Docker v2 schema 2 manifest gives the same layers, shared with the OCI one" {
    requires registry
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/three:latest"
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/three:v2s2"
    assert_stderr_match "already exists"
    run_koker 0 koker-inspect "$KOKER_TEST_REGISTRY/koker/three:v2s2"
    assert_equal '["echo three"]' "$(jq -c '.[0].Config.Cmd' <<<"$output")"
    [ "$(ls "$KOKER_ROOT/layers" | wc -l)" -eq 3 ]
}

@test "koker-pull: keeps each layer's blob as the manifest names it, for push and save" {
    requires registry
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/three"
    run_koker 0 koker-inspect "$KOKER_TEST_REGISTRY/koker/three"
    manifest=$(jq -r '.[0].RepoDigests[0]' <<<"$output")
    local digest hex n=0
    for digest in $(registry_manifest "koker/three:latest" | jq -r '.layers[].digest'); do
        hex=${digest#sha256:}
        [ -f "$KOKER_ROOT/blobs/sha256/$hex" ] || { echo "no blob $digest for $manifest"; false; }
        assert_equal "$hex" "$(sha256sum <"$KOKER_ROOT/blobs/sha256/$hex" | cut -c1-64)" "blob $digest"
        assert_equal 444 "$(stat -c %a "$KOKER_ROOT/blobs/sha256/$hex")"
        n=$((n + 1))
    done
    assert_equal 3 "$n" "layer blobs"
    assert_equal 3 "$(jq '.images[0].LayerBlobs | length' "$KOKER_ROOT/images.json")"
}

@test "koker-pull: an index whose first entry is arm64 yields the amd64 image; --platform overrides" {
    requires registry root
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/multi"
    amd=$output
    mount_image "$amd"
    assert_equal amd64 "$(cat "$BATS_TEST_TMPDIR/mnt/arch")"
    run_koker 0 koker-pull --platform linux/arm64 "$KOKER_TEST_REGISTRY/koker/multi"
    [ "$output" != "$amd" ]
    run_koker 0 koker-inspect "$output"
    assert_equal arm64 "$(jq -r '.[0].Architecture' <<<"$output")"
    run_koker 125 koker-pull --platform linux/s390x "$KOKER_TEST_REGISTRY/koker/multi"
    assert_stderr_match "no image for linux/s390x"
    run_koker 125 koker-pull --platform 'linux/../x' "$KOKER_TEST_REGISTRY/koker/multi"
}

@test "koker-pull: a Docker manifest list and a zstd layer" {
    requires registry
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/multi:list"
    run_koker 0 koker-inspect "$output"
    assert_equal amd64 "$(jq -r '.[0].Architecture' <<<"$output")"
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/zstd"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
}

@test "koker-pull: by digest, with docker:// and a bare ID prefix for inspect" {
    requires registry
    digest=$(registry_manifest koker/one:latest | sha256sum | cut -d' ' -f1)
    run_koker 0 koker-pull "docker://$KOKER_TEST_REGISTRY/koker/one@sha256:$digest"
    id=$output
    run_koker 0 koker-inspect "${id:7:12}"
    assert_equal "$KOKER_TEST_REGISTRY/koker/one@sha256:$digest" "$(jq -r '.[0].RepoDigests[0]' <<<"$output")"
    assert_equal 0 "$(jq '.[0].RepoTags | length' <<<"$output")"
}

@test "koker-pull: Docker Hub names through KOKER_REGISTRY_MIRROR: token flow, 307 to another host, no Authorization forwarded" {
    requires registry
    mark=$(front_log_mark)
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull one
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    log=$(front_log_since "$mark")
    echo "$log"
    grep -q 'GET /v2/library/one/manifests/latest.* -> 401' <<<"$log"
    grep -q 'GET /v2/library/one/blobs/sha256:.* -> 307' <<<"$log"
    grep -q '^B GET /blobdata/.*auth=0' <<<"$log"
    run grep -c '^B GET .*auth=1' <<<"$log"
    assert_equal 0 "$output"
    grep -q 'scope=repository%3Alibrary%2Fone%3Apull\|scope=repository:library/one:pull' "$KOKER_TEST_TOKEN_LOG"
    run_koker 0 koker-images
    assert_match $'\none +latest '
}

@test "koker-pull: credentials from config.json for a private repository" {
    requires registry
    run_koker 125 koker-pull "$KOKER_TEST_TOKEN_REGISTRY/private/one"
    assert_stderr_match "auth|denied|unauthorized"
    DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG run_koker 0 koker-pull "$KOKER_TEST_TOKEN_REGISTRY/private/one"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    grep -q 'auth=basic user=koker' "$KOKER_TEST_TOKEN_LOG"
}

@test "koker-pull: 429 and 500 replies are retried" {
    requires registry
    front_control '{"fail_next": {"count": 2, "status": 429, "retry_after": 0}}'
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull one
    assert_stderr_match "retrying after HTTP 429"
    front_control '{"fail_next": {"count": 1, "status": 500}}'
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull library/one
    assert_stderr_match "retrying after HTTP 500"
}

@test "koker-pull: a connection dropped mid-blob is resumed with a Range request" {
    requires registry
    front_control '{"drop_blob_after": 40000}'
    mark=$(front_log_mark)
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull one
    assert_stderr_match "resuming sha256:[0-9a-f]+.* at byte"
    front_log_since "$mark" | grep -q 'range=bytes=[1-9]'
    assert_store_clean 1 1
}

@test "koker-pull: a corrupted blob is refused and leaves nothing in the store" {
    requires registry
    layer=$(registry_manifest koker/one:latest | jq -r '.layers[0].digest')
    corrupt_blob koker/one:latest "$layer"
    run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/koker/one"
    assert_stderr_match "digest mismatch|size mismatch|unable to extract"
    [ "$(printf '%s\n' "$stderr" | grep -c fatal)" -eq 1 ]
    assert_store_clean 0 0
}

@test "koker-pull: a layer whose content differs from its diff_id is refused" {
    requires registry
    mkimage "$BATS_TEST_TMPDIR/bad" latest --layer <(tar -C "$KOKER_TEST_FIXTURES/rootfs" -c bin/busybox) --bad-diffid >/dev/null
    push_layout "$BATS_TEST_TMPDIR/bad" latest koker/bad-diffid:latest
    run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/koker/bad-diffid"
    assert_stderr_match "does not match the diff_id"
    assert_store_clean 0 0
}

@test "koker-pull: unknown tags, bad references and unreachable registries fail with one line and 125" {
    requires registry
    run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/koker/one:nope"
    assert_stderr_match "manifest unknown|not found"
    run_koker 125 koker-pull "UPPER/case"
    assert_stderr_match "invalid reference format"
    run_koker 125 koker-pull "a:b:c"
    run_koker 125 koker-pull "koker/one@sha256:ABC"
    run_koker 125 koker-pull "127.0.0.1:1/koker/one"
    assert_stderr_match "unable to fetch http://127.0.0.1:1/v2/koker/one/manifests/latest: .*Couldn't connect"
    [ "$(printf '%s\n' "$stderr" | grep -c fatal)" -eq 1 ]
    assert_store_clean 0 0
}

@test "koker-pull: eight concurrent pulls of one image store each layer once" {
    requires registry
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
        koker-pull -q "$KOKER_TEST_REGISTRY/koker/three" >"$BATS_TEST_TMPDIR/out.$i" 2>"$BATS_TEST_TMPDIR/err.$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    assert_equal 1 "$(sort -u "$BATS_TEST_TMPDIR"/out.* | wc -l)"
    [[ $(cat "$BATS_TEST_TMPDIR/out.1") =~ ^sha256:[0-9a-f]{64}$ ]]
    assert_store_clean 3 1
}

@test "koker-pull: kill -9 in the middle of a pull leaves a store the next pull completes" {
    requires registry
    front_control '{"stall_blob_after": 100000}'
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT koker-pull one >/dev/null 2>&1 &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    # wait until the layer is being unpacked, then kill
    for _ in $(seq 100); do
        [ -n "$(ls -A "$KOKER_ROOT/tmp" 2>/dev/null)" ] && break
        sleep 0.1
    done
    [ -n "$(ls -A "$KOKER_ROOT/tmp")" ]
    sleep 0.5
    kill -9 "$pid"
    wait "$pid" || true
    front_reset
    KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT run_koker 0 koker-pull one
    assert_store_clean 1 1
}

@test "koker-rmi: removing one image keeps the layers another image uses" {
    requires registry
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/three"
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/multi"
    [ "$(ls "$KOKER_ROOT/layers" | wc -l)" -eq 5 ]
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/one"
    [ "$(ls "$KOKER_ROOT/layers" | wc -l)" -eq 5 ]   # one's layer is multi's first
    run_koker 0 koker-rmi "$KOKER_TEST_REGISTRY/koker/one"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    assert_stderr_match "untagged: $KOKER_TEST_REGISTRY/koker/one:latest"
    [ "$(ls "$KOKER_ROOT/layers" | wc -l)" -eq 5 ]
    run_koker 0 koker-rmi "$KOKER_TEST_REGISTRY/koker/multi"
    [ "$(ls "$KOKER_ROOT/layers" | wc -l)" -eq 3 ]
    run_koker 0 koker-rmi "$KOKER_TEST_REGISTRY/koker/three"
    assert_store_clean 0 0
    [ -z "$(ls "$KOKER_ROOT/blobs/sha256")" ]
    run_koker 125 koker-rmi "$KOKER_TEST_REGISTRY/koker/three"
    assert_stderr_match "no such image"
}

@test "koker-rmi: a second tag is untagged first; an ID with two tags needs -f" {
    requires registry
    run_koker 0 koker-pull "$KOKER_TEST_REGISTRY/koker/one"
    id=$output
    run_koker 0 koker-pull --tag mine:v1 "oci:$KOKER_TEST_FIXTURES/one:latest"
    assert_equal "$id" "$output"
    run_koker 125 koker-rmi "${id:7:12}"
    assert_stderr_match "several tags"
    run_koker 0 koker-rmi mine:v1
    [ -z "$output" ]
    run_koker 0 koker-rmi -f "${id:7:12}"
    assert_equal "$id" "$output"
}

@test "koker-pull: oci:, oci-archive:, docker-archive: and dir: sources" {
    run_koker 0 koker-pull "oci:$KOKER_TEST_FIXTURES/three:latest"
    three=$output
    run_koker 0 koker-pull "oci-archive:$KOKER_TEST_FIXTURES/one-oci.tar:latest"
    one=$output
    run_koker 0 koker-pull "docker-archive:$KOKER_TEST_FIXTURES/one-docker.tar"
    assert_equal "$one" "$output"
    run_koker 0 koker-images
    assert_match "koker/one +latest"
    run_koker 0 koker-pull --tag imported:1 "dir:$KOKER_TEST_FIXTURES/rootfs"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    run_koker 0 koker-inspect imported:1
    assert_equal '["/bin/sh"]' "$(jq -c '.[0].Config.Cmd' <<<"$output")"
    tar -C "$KOKER_TEST_FIXTURES/rootfs" -czf "$BATS_TEST_TMPDIR/rootfs.tgz" .
    run_koker 0 koker-pull --tag tarball:1 "dir:$BATS_TEST_TMPDIR/rootfs.tgz"
    run_koker 0 koker-images --format json
    assert_equal 4 "$(jq length <<<"$output")"
    [ "$three" != "$one" ]
    # three's 3, one's (also in the docker archive), the packed directory, the tarball
    assert_store_clean 6 4
}

@test "koker-pull: a layer that exceeds KOKER_MAX_LAYER_BYTES (a decompression bomb) is refused" {
    requires registry
    KOKER_MAX_LAYER_BYTES=100000 run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/koker/one"
    assert_stderr_match "more than 100000 uncompressed bytes"
    assert_store_clean 0 0
}

@test "koker-pull: a full disk gives a clear error and a consistent store" {
    requires root registry
    mkdir -p "$BATS_TEST_TMPDIR/small"
    mount -t tmpfs -o size=600k tmpfs "$BATS_TEST_TMPDIR/small"
    koker_cleanup_later mount "$BATS_TEST_TMPDIR/small"
    KOKER_ROOT=$BATS_TEST_TMPDIR/small/root run_koker 125 koker-pull "$KOKER_TEST_REGISTRY/koker/one"
    assert_stderr_match "No space left on device"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/small/root/tmp")" ]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/small/root/layers")" ]
}

@test "koker-pull: a name written twice in a layer keeps its last entry (files are written on several threads)" {
    local dir=$BATS_TEST_TMPDIR/dup
    mkdir -p "$dir"
    python3 - "$dir/layer.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data=None, kind=tarfile.REGTYPE, link=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.mode = kind, link, 0o755 if kind == tarfile.DIRTYPE else 0o644
        if data is not None:
            ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    add("d", kind=tarfile.DIRTYPE)
    for i in range(200):
        add(f"d/f{i}", b"first %d\n" % i)
    add("d/f7", b"second\n")
    add("d/l", kind=tarfile.SYMTYPE, link="f8")
    add("d/f9", b"x" * 100000)
    add("d/h", kind=tarfile.LNKTYPE, link="d/f9")
EOF
    gzip -n "$dir/layer.tar"
    mkimage "$dir/img" latest --layer "$dir/layer.tar.gz" >/dev/null
    run_koker 0 koker-pull "oci:$dir/img:latest"
    run_koker 0 koker-inspect "$output"
    lower=$(jq -r '.[0].GraphDriver.Data.LowerDir' <<<"$output")
    assert_equal second "$(cat "$lower/d/f7")"
    assert_equal "first 199" "$(cat "$lower/d/f199")"
    assert_equal "first 8" "$(cat "$lower/d/l")"
    assert_equal 2 "$(stat -c %h "$lower/d/f9")"
    assert_equal 201 "$(find "$lower/d" -type f | wc -l)"
}
