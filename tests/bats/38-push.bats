#!/usr/bin/env bats
# koker-push, koker-login and koker-logout against the real registries of the suite: the plain
# docker-registry, its token-auth twin and the logging front of that twin (helpers.servers.bash);
# skopeo and podman as the oracles of what was pushed.

# Each test exports its own DOCKER_CONFIG, in a subshell of its own (Bats).
# shellcheck disable=SC2030,SC2031
load helpers
load helpers.podman

setup() {
    koker_setup
    PODMAN=()
    SKOPEO=$(command -v skopeo) || SKOPEO=skopeo
    # Each test pushes to repositories of its own: the registries live as long as the run.
    REPO=push/t$BATS_TEST_NUMBER-$RANDOM$RANDOM
}

teardown() {
    ((${#PODMAN[@]})) && podman_teardown
    koker_teardown
}

# The front as a registry host (it proxies the token registry and logs every request).
front_host() {
    printf '%s\n' "${KOKER_TEST_FRONT#http://}"
}

# The front log's requests since MARK that sent a blob (an upload POST or PUT).
uploads_since() {
    front_log_since "$1" | grep -E '^A (POST|PUT) /v2/[^ ]*/blobs/uploads/' || true
}

# Replaces the store's images.json with the result of jq FILTER on it.
edit_index() {
    jq "$@" "$KOKER_ROOT/images.json" >"$BATS_TEST_TMPDIR/images.json"
    cp "$BATS_TEST_TMPDIR/images.json" "$KOKER_ROOT/images.json"
}

@test "koker-push: a pulled image to another repository, byte for byte; skopeo reads it" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/three"
    run_koker 0 koker-inspect "$KOKER_TEST_REGISTRY/koker/three"
    want=$(jq -r '.[0].RepoDigests[0]' <<<"$output")
    want=${want#*@}
    run_koker 0 koker-push "$KOKER_TEST_REGISTRY/koker/three" "$KOKER_TEST_REGISTRY/$REPO:v1"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    assert_equal "$want" "$output" "pushed digest = the stored manifest's"
    assert_stderr_match "v1: digest: $want size: [0-9]+"
    # The registry holds the blobs under koker/three: they are mounted, not sent.
    assert_equal 4 "$(grep -c 'Mounted from koker/three' <<<"$stderr")" "mounts"
    run_koker 0 "$SKOPEO" inspect --tls-verify=false "docker://$KOKER_TEST_REGISTRY/$REPO:v1"
    assert_equal "$want" "$(jq -r .Digest <<<"$output")" "skopeo's digest"
    assert_equal 3 "$(jq '.Layers | length' <<<"$output")" "layers"
    # The manifest is the source registry's, byte for byte.
    cmp <(registry_manifest "koker/three:latest") <(registry_manifest "$REPO:v1")
    # docker records the pushed digest among the image's RepoDigests.
    run_koker 0 koker-inspect "$KOKER_TEST_REGISTRY/koker/three"
    assert_match "$KOKER_TEST_REGISTRY/$REPO@$want"
}

@test "koker-push: NAME[:TAG] alone pushes the image of that name; Docker v2s2 stays v2s2" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/three:v2s2"
    run_koker 0 koker-push -q "$KOKER_TEST_REGISTRY/koker/three:v2s2"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    [ -z "$stderr" ]
    run_koker 0 "$SKOPEO" inspect --raw --tls-verify=false "docker://$KOKER_TEST_REGISTRY/koker/three:v2s2"
    assert_equal "$KOKER_MT_V2S2" "$(jq -r .mediaType <<<"$output")" "media type"
}

@test "koker-push: podman pulls and runs what koker pushed" {
    requires registry root
    podman_setup
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/three"
    run_koker 0 koker-push -q "$KOKER_TEST_REGISTRY/koker/three" "$KOKER_TEST_REGISTRY/$REPO"
    run_koker 0 "${PODMAN[@]}" pull -q --tls-verify=false "$KOKER_TEST_REGISTRY/$REPO"
    run_koker 0 "${PODMAN[@]}" run --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 --rm \
        --network none "$KOKER_TEST_REGISTRY/$REPO" 'cat /hello; test ! -e /etc/gone && echo gone'
    assert_match "hello from layer 3"
    assert_match "gone"
}

@test "koker-commit then koker-push: the new layer goes gzipped, podman runs the changes" {
    requires registry root
    podman_setup
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/three"
    run_koker 0 koker-run --name src -u 0 --network none "$KOKER_TEST_REGISTRY/koker/three" \
        'echo made >/made; rm /hello'
    run_koker 0 koker-commit src "$KOKER_TEST_REGISTRY/$REPO:committed"
    run_koker 0 koker-push -q "$KOKER_TEST_REGISTRY/$REPO:committed"
    run_koker 0 "$SKOPEO" inspect --raw --tls-verify=false "docker://$KOKER_TEST_REGISTRY/$REPO:committed"
    assert_equal 4 "$(jq '.layers | length' <<<"$output")"
    # koker-commit stores its layer as a plain tar; the push sends it gzipped, as docker does
    assert_match 'tar\+gzip|tar\.gzip'
    [[ $(jq -r '.layers[3].mediaType' <<<"$output") == *gzip ]]
    run_koker 0 "${PODMAN[@]}" pull -q --tls-verify=false "$KOKER_TEST_REGISTRY/$REPO:committed"
    run_koker 0 "${PODMAN[@]}" run --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 --rm \
        --network none "$KOKER_TEST_REGISTRY/$REPO:committed" 'cat /made; test ! -e /hello && echo deleted'
    assert_equal $'made\ndeleted' "$output"
    run_koker 0 koker-rm src
}

@test "koker-pull: an image podman pushed comes back with the same diff_ids and runs" {
    requires registry root
    podman_setup
    run_koker 0 "$SKOPEO" copy -q "oci:$KOKER_TEST_FIXTURES/three:latest" \
        "containers-storage:[vfs@$PD/root+$PD/runroot]localhost/three:latest"
    img=localhost/three:latest
    run_koker 0 "${PODMAN[@]}" push -q --tls-verify=false "$img" "docker://$KOKER_TEST_REGISTRY/$REPO:podman"
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/$REPO:podman"
    run_koker 0 koker-inspect "$KOKER_TEST_REGISTRY/$REPO:podman"
    got=$(jq -c '.[0].RootFS.Layers' <<<"$output")
    run_koker 0 "${PODMAN[@]}" image inspect "$img"
    assert_equal "$(jq -c '.[0].RootFS.Layers' <<<"$output")" "$got" "diff_ids"
    run_koker 0 koker-run --rm --network none "$KOKER_TEST_REGISTRY/$REPO:podman" 'cat /hello'
    assert_match "hello from layer 3"
}

@test "koker-push: a second push sends no blob, only HEADs and the manifest (front log)" {
    requires registry
    export DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/three"
    mark=$(front_log_mark)
    run_koker 0 koker-push -q "$KOKER_TEST_REGISTRY/koker/three" "$(front_host)/$REPO:1"
    first=$output
    # 3 layers and the config: a POST and a PUT each.
    assert_equal 8 "$(uploads_since "$mark" | grep -c -- '-> 20[12]')" "upload requests, first push"
    mark=$(front_log_mark)
    run_koker 0 koker-push "$KOKER_TEST_REGISTRY/koker/three" "$(front_host)/$REPO:1"
    assert_equal "$first" "$output" "digest"
    assert_equal 4 "$(grep -c 'Layer already exists' <<<"$stderr")" "blobs skipped"
    front_log_since "$mark" >"$BATS_TEST_TMPDIR/second"
    assert_equal "" "$(uploads_since "$mark")" "upload requests, second push"
    assert_equal 4 "$(grep -cE "^A HEAD /v2/$REPO/blobs/sha256:[0-9a-f]{64} auth=1 -> 200" "$BATS_TEST_TMPDIR/second")" "HEADs"
    assert_equal 1 "$(grep -cE "^A PUT /v2/$REPO/manifests/1 auth=1 -> 201" "$BATS_TEST_TMPDIR/second")" "manifest PUTs"
    # Nothing else but the /v2/ auth round trips.
    assert_equal "" "$(grep -vE '^A (HEAD|PUT|GET) ' "$BATS_TEST_TMPDIR/second" || true)" "other requests"
}

@test "koker-push: blobs another repository of the registry holds are mounted (201), one token" {
    requires registry
    export DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG
    run_koker 0 koker-pull -q "$(front_host)/koker/one"
    mark=$(front_log_mark)
    tmark=$(front_log_mark "$KOKER_TEST_TOKEN_LOG")
    run_koker 0 koker-push "$(front_host)/koker/one" "$(front_host)/$REPO:m"
    assert_stderr_match "Mounted from koker/one"
    front_log_since "$mark" >"$BATS_TEST_TMPDIR/log"
    assert_equal 2 "$(grep -ciE "^A POST /v2/$REPO/blobs/uploads/\?mount=sha256%3a[0-9a-f]{64}&from=koker%2fone auth=1 -> 201" "$BATS_TEST_TMPDIR/log")" "mounts (layer and config)"
    assert_equal "" "$(uploads_since "$mark" | grep -v 'mount=' || true)" "uploads"
    # One token: push,pull on the target and pull on the mount source.
    assert_equal 1 "$(front_log_since "$tmark" "$KOKER_TEST_TOKEN_LOG" | grep -ciE "scope=repository%3a${REPO//\//%2f}%3apull%2cpush&scope=repository%3akoker%2fone%3apull auth=basic user=koker -> 200")" "tokens"
    run_koker 0 "$SKOPEO" inspect --tls-verify=false --creds "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD" \
        "docker://$KOKER_TEST_TOKEN_REGISTRY/$REPO:m"
}

@test "koker-push: a mount the registry refuses (202) falls back to an upload" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    # The store believes the blobs came from another repository, which does not hold them.
    edit_index --arg r "$KOKER_TEST_REGISTRY/nothing/here:latest" '.images[0].RepoTags = [$r] | .images[0].RepoDigests = []'
    run_koker 0 koker-push -D "$KOKER_TEST_REGISTRY/nothing/here" "$KOKER_TEST_REGISTRY/$REPO"
    assert_stderr_match "POST http://$KOKER_TEST_REGISTRY/v2/$REPO/blobs/uploads/\?mount=.* -> 202"
    assert_stderr_match "refused \(202\): uploading it"
    assert_stderr_match "PUT http://$KOKER_TEST_REGISTRY/v2/$REPO/blobs/uploads/[^ ]*digest=sha256.* -> 201"
    run_koker 0 "$SKOPEO" inspect --tls-verify=false "docker://$KOKER_TEST_REGISTRY/$REPO"
}

@test "koker-push: token auth pushes with credentials and fails 125 without" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    run_koker 125 koker-push "$KOKER_TEST_REGISTRY/koker/one" "$KOKER_TEST_TOKEN_REGISTRY/$REPO"
    assert_equal 1 "$(grep -c fatal <<<"$stderr")" "fatal lines"
    assert_stderr_match "koker-push: fatal: unable to push $KOKER_TEST_TOKEN_REGISTRY/$REPO: authentication required"
    DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG run_koker 0 koker-push -q "$KOKER_TEST_REGISTRY/koker/one" \
        "$KOKER_TEST_TOKEN_REGISTRY/$REPO"
    run_koker 0 "$SKOPEO" inspect --tls-verify=false --creds "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD" \
        "docker://$KOKER_TEST_TOKEN_REGISTRY/$REPO"
}

@test "koker-push: a connection dropped mid-upload starts that blob again with a fresh POST" {
    requires registry
    export DOCKER_CONFIG=$KOKER_TEST_DOCKER_CONFIG
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    front_control '{"drop_upload_after": 4096}' >/dev/null
    mark=$(front_log_mark)
    run_koker 0 koker-push "$KOKER_TEST_REGISTRY/koker/one" "$(front_host)/$REPO"
    assert_stderr_match "info: retrying [0-9a-f]{12}"
    run front_log_since "$mark"
    assert_match "fault=drop_upload_after"
    assert_equal 3 "$(uploads_since "$mark" | grep -c '^A POST')" "upload POSTs (layer twice, config)"
    run_koker 0 "$SKOPEO" inspect --tls-verify=false --creds "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD" \
        "docker://$KOKER_TEST_TOKEN_REGISTRY/$REPO"
}

@test "koker-push: --compression zstd recompresses once, and the image pulls back the same" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/three"
    id=$output
    run_koker 0 koker-push --compression zstd "$KOKER_TEST_REGISTRY/koker/three" "$KOKER_TEST_REGISTRY/$REPO:zstd"
    digest=$output
    registry_manifest "$REPO:zstd" >"$BATS_TEST_TMPDIR/m.json"
    assert_equal "$KOKER_MT_OCI_MANIFEST" "$(jq -r .mediaType "$BATS_TEST_TMPDIR/m.json")" "manifest type"
    assert_equal "application/vnd.oci.image.layer.v1.tar+zstd" \
        "$(jq -r '[.layers[].mediaType] | unique | join(",")' "$BATS_TEST_TMPDIR/m.json")" "layer types"
    assert_equal "$id" "$(jq -r .config.digest "$BATS_TEST_TMPDIR/m.json")" "config"
    # Cached: the second push recompresses nothing and sends only the manifest.
    ls "$KOKER_ROOT"/layers/*/zstd >/dev/null
    run_koker 0 koker-push -D --compression zstd "$KOKER_TEST_REGISTRY/koker/three" "$KOKER_TEST_REGISTRY/$REPO:zstd"
    assert_equal "$digest" "$output" "digest, second push"
    refute_stderr_match "recompress"
    refute_stderr_match "blobs/uploads"
    # Pulled back into an empty store: the same image ID, and it runs.
    rm -rf "$KOKER_ROOT"
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/$REPO:zstd"
    assert_equal "$id" "$output" "image ID"
    requires root
    run_koker 0 koker-run --rm --network none "$KOKER_TEST_REGISTRY/$REPO:zstd" 'cat /hello'
    assert_match "hello from layer 3"
}

@test "koker-push: --compression gzip of a zstd image; rmi leaves no cached blob" {
    requires registry
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/zstd"
    run_koker 0 koker-push -q --compression gzip "$KOKER_TEST_REGISTRY/koker/zstd" "$KOKER_TEST_REGISTRY/$REPO"
    run_koker 0 "$SKOPEO" inspect --raw --tls-verify=false "docker://$KOKER_TEST_REGISTRY/$REPO"
    assert_equal "application/vnd.oci.image.layer.v1.tar+gzip" "$(jq -r '.layers[0].mediaType' <<<"$output")"
    gz=$(cat "$KOKER_ROOT"/layers/*/gzip)
    [[ -f $KOKER_ROOT/blobs/sha256/${gz#sha256:} ]]
    # The garbage collector keeps a cached blob while its layer stays.
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    run_koker 0 koker-rmi "$KOKER_TEST_REGISTRY/koker/one"
    [[ -f $KOKER_ROOT/blobs/sha256/${gz#sha256:} ]]
    run_koker 0 koker-rmi "$KOKER_TEST_REGISTRY/koker/zstd"
    assert_equal "" "$(ls -A "$KOKER_ROOT/blobs/sha256")" "blobs left"
}

@test "koker-push: usage errors, unknown images and old records fail 125 with one line" {
    requires registry
    run_koker 125 koker-push --compression lz4 one
    assert_stderr_match "usage: invalid --compression"
    run_koker 125 koker-push "$KOKER_TEST_REGISTRY/koker/one" "$KOKER_TEST_REGISTRY/x@sha256:$(printf '%064d' 0)"
    assert_stderr_match "usage: cannot push to a digest reference"
    run_koker 125 koker-push "$KOKER_TEST_REGISTRY/koker/nothing"
    assert_stderr_match "fatal: no such image: $KOKER_TEST_REGISTRY/koker/nothing"
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    # A record written by a koker older than push: no LayerBlobs.
    edit_index '.images |= map(del(.LayerBlobs))'
    run_koker 125 koker-push "$KOKER_TEST_REGISTRY/koker/one" "$KOKER_TEST_REGISTRY/$REPO"
    assert_equal 1 "$(grep -c fatal <<<"$stderr")" "fatal lines"
    assert_stderr_match "koker-push: fatal: image $KOKER_TEST_REGISTRY/koker/one has no layer blobs in the store \(pulled by an older koker\); pull it again$"
}

@test "koker-login: bad credentials fail 125 and leave config.json as it was" {
    requires registry
    export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths":{"other.example:5000":{"auth":"eDp5"}},"psFormat":"table"}\n' >"$DOCKER_CONFIG/config.json"
    cp "$DOCKER_CONFIG/config.json" "$BATS_TEST_TMPDIR/before"
    printf 'wrong\n' >"$BATS_TEST_TMPDIR/pw"
    run_koker 125 koker-login -u koker --password-stdin "$KOKER_TEST_TOKEN_REGISTRY" <"$BATS_TEST_TMPDIR/pw"
    assert_equal 1 "${#stderr_lines[@]}" "stderr lines"
    assert_stderr_match "^koker-login: fatal: unable to log in to $KOKER_TEST_TOKEN_REGISTRY: access denied"
    cmp "$DOCKER_CONFIG/config.json" "$BATS_TEST_TMPDIR/before"
    run_koker 125 koker-login -u koker -p wrong "$(front_host)"
    cmp "$DOCKER_CONFIG/config.json" "$BATS_TEST_TMPDIR/before"
}

@test "koker-login: good credentials are saved as docker does, 0600, other keys kept; logout" {
    requires registry
    export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
    mkdir -p "$DOCKER_CONFIG"
    f=$DOCKER_CONFIG/config.json
    printf '{"auths":{"other.example:5000":{"auth":"eDp5"}},"psFormat":"table"}\n' >"$f"
    chmod 0644 "$f"
    printf '%s\n' "$KOKER_TEST_PASSWORD" >"$BATS_TEST_TMPDIR/pw"
    run_koker 0 koker-login -u "$KOKER_TEST_USER" --password-stdin "$KOKER_TEST_TOKEN_REGISTRY" <"$BATS_TEST_TMPDIR/pw"
    assert_equal "Login Succeeded" "$output"
    assert_equal 600 "$(stat -c %a "$f")" "mode"
    assert_equal "$(printf '%s' "$KOKER_TEST_USER:$KOKER_TEST_PASSWORD" | base64)" \
        "$(jq -r --arg k "$KOKER_TEST_TOKEN_REGISTRY" '.auths[$k].auth' "$f")" "auth"
    assert_equal eDp5 "$(jq -r '.auths["other.example:5000"].auth' "$f")" "other registry"
    assert_equal table "$(jq -r .psFormat "$f")" "other key"
    # The saved credentials are the ones push uses.
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    run_koker 0 koker-push -q "$KOKER_TEST_REGISTRY/koker/one" "$KOKER_TEST_TOKEN_REGISTRY/$REPO"
    # Docker Hub's names map to docker's key (logout only: no network).
    jq '.auths["https://index.docker.io/v1/"] = {"auth": "aHViOnB3"}' "$f" >"$f.new"
    mv "$f.new" "$f"
    run_koker 0 koker-logout docker.io
    assert_stderr_match "Removing login credentials for https://index.docker.io/v1/"
    run_koker 0 koker-logout "$KOKER_TEST_TOKEN_REGISTRY"
    assert_equal '{"other.example:5000":{"auth":"eDp5"}}' "$(jq -c .auths "$f")" "auths after logout"
    assert_equal table "$(jq -r .psFormat "$f")" "other key after logout"
    run_koker 0 koker-logout "$KOKER_TEST_TOKEN_REGISTRY"
    assert_stderr_match "Not logged in to $KOKER_TEST_TOKEN_REGISTRY"
}

@test "koker-login: a registry without auth accepts any login, as docker's does" {
    requires registry
    export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
    run_koker 0 koker-login -u anyone -p any "$KOKER_TEST_REGISTRY"
    assert_equal 600 "$(stat -c %a "$DOCKER_CONFIG/config.json")" "mode"
    run_koker 125 koker-login -u a --password x --password-stdin "$KOKER_TEST_REGISTRY"
    assert_stderr_match "usage: --password and --password-stdin are mutually exclusive"
}
