#!/usr/bin/env bats
# koker-save and koker-load against the real readers and writers of image archives: podman
# load/save, skopeo's docker-archive: and oci-archive: transports. Fixtures: see
# helpers.fixtures.bash.
load helpers
load helpers.podman

setup() {
    koker_setup
    PODMAN=()
    SKOPEO=$(command -v skopeo) || skip "skopeo is not installed (make deps-test)"
}

teardown() {
    ((${#PODMAN[@]})) && podman_teardown
    koker_teardown
}

# pull_fixture NAME [TAG]: koker/NAME from the test registry, named TAG when given; sets $id.
pull_fixture() {
    local -a tag=()
    [[ -n ${2:-} ]] && tag=(--tag "$2")
    run_koker 0 koker-pull -q "${tag[@]}" "$KOKER_TEST_REGISTRY/koker/$1"
    id=$output
}

# The store holds nothing half-done and exactly IMAGES images.
assert_store_clean() { # IMAGES
    local tmp
    tmp=$(ls -A "$KOKER_ROOT/tmp" 2>/dev/null || true)
    [ -z "$tmp" ] || { echo "tmp/ holds: $tmp"; false; }
    run_koker 0 koker-images -q
    assert_equal "$1" "$(printf '%s' "$output" | grep -c . || true)" "images in the store"
}

# hostile_archive OUT: an unpacked copy of a good default save in $BATS_TEST_TMPDIR/h, for
# the test to spoil and pack as OUT (python's tarfile, so names are kept as given).
pack_dir() { # DIR OUT [EXTRA_NAME EXTRA_CONTENT]
    "$KOKER_TEST_PYTHON" - "$@" <<'EOF'
import io, os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            t.add(p, arcname=os.path.relpath(p, src))
    if len(sys.argv) > 4:
        data = sys.argv[4].encode()
        info = tarfile.TarInfo(sys.argv[3])
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
EOF
}

@test "koker-save: Docker 25's layout, read by skopeo as docker-archive and as oci-archive" {
    requires registry root
    pull_fixture one
    run_koker 0 koker-save -o "$BATS_TEST_TMPDIR/one.tar" "$KOKER_TEST_REGISTRY/koker/one"
    [ -z "$output" ]
    run tar -tf "$BATS_TEST_TMPDIR/one.tar"
    assert_match $'^blobs/\nblobs/sha256/\nblobs/sha256/[0-9a-f]{64}\n'
    assert_match $'\nindex.json\nmanifest.json\noci-layout\nrepositories$'
    mkdir "$BATS_TEST_TMPDIR/x"
    tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/one.tar"
    run jq -r '.manifests[0].annotations["io.containerd.image.name"],
        .manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/x/index.json"
    assert_equal "$KOKER_TEST_REGISTRY/koker/one:latest"$'\n'latest "$output"
    run jq -r '.[0].RepoTags[0], .[0].Config' "$BATS_TEST_TMPDIR/x/manifest.json"
    assert_equal "$KOKER_TEST_REGISTRY/koker/one:latest"$'\n'"blobs/sha256/${id#sha256:}" "$output"
    # The stored blobs, byte for byte: the manifest digest is the registry's.
    digest=$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/x/index.json")
    run_koker 0 koker-inspect "$id"
    assert_match "@$digest\""
    run_koker 0 "$SKOPEO" inspect "docker-archive:$BATS_TEST_TMPDIR/one.tar"
    assert_equal 1 "$(jq '.Layers | length' <<<"$output")"
    run_koker 0 "$SKOPEO" inspect "oci-archive:$BATS_TEST_TMPDIR/one.tar"
    assert_equal "$digest" "$(jq -r .Digest <<<"$output")"
    run_koker 0 "$SKOPEO" inspect --config "oci-archive:$BATS_TEST_TMPDIR/one.tar"
    assert_equal sh "$(jq -r '.config.Cmd[0]' <<<"$output")"
}

@test "koker-save | koker-load: the round trip keeps the image ID and every tag, and it runs" {
    requires registry root
    pull_fixture three saved/three:a
    pull_fixture three saved/three:b
    run_koker 0 koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    one=$output
    # A bare name saves every tag of the repository; an ID saves the image untagged.
    koker-save saved/three "${one#sha256:}" >"$BATS_TEST_TMPDIR/both.tar"
    run_koker 0 koker-rmi saved/three:a saved/three:b "$one"
    assert_store_clean 0
    run_koker 0 koker-load -i "$BATS_TEST_TMPDIR/both.tar"
    assert_equal $'Loaded image: saved/three:a\nLoaded image: saved/three:b\nLoaded image ID: '"$one" "$output"
    run_koker 0 koker-inspect saved/three:b
    assert_equal "$id" "$(jq -r '.[0].Id' <<<"$output")"
    run_koker 0 koker-run --rm --network none saved/three:a 'cat /hello; ls /opq'
    assert_equal $'hello from layer 3\nc' "$output"
    # Stdin works as well, and the loaded image saves again to the same archive.
    koker-save saved/three "${one#sha256:}" >"$BATS_TEST_TMPDIR/again.tar"
    cmp "$BATS_TEST_TMPDIR/both.tar" "$BATS_TEST_TMPDIR/again.tar"
    run_koker 0 koker-rmi saved/three:a saved/three:b "$one"
    run_koker 0 koker-load -q <"$BATS_TEST_TMPDIR/again.tar"
    [ -z "$stderr" ]
    assert_store_clean 2
}

@test "koker-save: two images in one archive, a blob they share written once" {
    requires root
    # Two imports of one tree: two images (each config has its time), one layer blob.
    run_koker 0 koker-pull -q --tag two/a:1 "dir:$KOKER_TEST_FIXTURES/rootfs"
    a=$output
    run_koker 0 koker-pull -q --tag two/b:1 "dir:$KOKER_TEST_FIXTURES/rootfs"
    b=$output
    [[ $a != "$b" ]]
    run_koker 0 koker-save -o "$BATS_TEST_TMPDIR/two.tar" two/a:1 two/b:1
    run tar -tf "$BATS_TEST_TMPDIR/two.tar"
    assert_equal "" "$(printf '%s\n' "${lines[@]}" | sort | uniq -d)" "duplicate entries"
    mkdir "$BATS_TEST_TMPDIR/x"
    tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/two.tar"
    assert_equal 2 "$(jq length "$BATS_TEST_TMPDIR/x/manifest.json")"
    assert_equal 2 "$(jq '.manifests | length' "$BATS_TEST_TMPDIR/x/index.json")"
    shared=$(jq -r '[.[].Layers[]] | group_by(.) | map(select(length > 1)) | length' \
        "$BATS_TEST_TMPDIR/x/manifest.json")
    assert_equal 1 "$shared" "layers the two images share"
    # two manifests, two configs, one layer
    assert_equal 5 "$(ls "$BATS_TEST_TMPDIR/x/blobs/sha256" | wc -l)"
    run_koker 0 koker-rmi two/a:1 two/b:1
    assert_store_clean 0
    run_koker 0 koker-load -i "$BATS_TEST_TMPDIR/two.tar"
    assert_equal $'Loaded image: two/a:1\nLoaded image: two/b:1' "$output"
    run_koker 0 koker-inspect --format '{{.Id}}' two/a:1 two/b:1
    assert_equal "$a"$'\n'"$b" "$output"
    run_koker 0 koker-run --rm --network none two/b:1 echo hello
    assert_equal hello "$output"
}

@test "koker-save: SOURCE_DATE_EPOCH gives the same bytes twice, no time after it" {
    requires registry root
    pull_fixture three
    SOURCE_DATE_EPOCH=1000 koker-save "$KOKER_TEST_REGISTRY/koker/three" >"$BATS_TEST_TMPDIR/a.tar"
    sleep 1
    SOURCE_DATE_EPOCH=1000 koker-save "$KOKER_TEST_REGISTRY/koker/three" >"$BATS_TEST_TMPDIR/b.tar"
    cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/b.tar"
    run tar --full-time --numeric-owner -tvf "$BATS_TEST_TMPDIR/a.tar"
    while read -r mode owner _ date time _; do
        assert_equal 0/0 "$owner" "owner of an entry ($mode)"
        [[ "$date $time" < "1970-01-01 00:16:41" ]] || _koker_fail "an mtime after SOURCE_DATE_EPOCH" "<= 1000" "$date $time"
    done <<<"$output"
    # uname/gname are empty: tar shows the numbers even without --numeric-owner.
    run tar -tvf "$BATS_TEST_TMPDIR/a.tar"
    refute_match 'root'
    # Without it, two saves are the same too (the times are the image's created, or 0).
    koker-save "$KOKER_TEST_REGISTRY/koker/three" >"$BATS_TEST_TMPDIR/c.tar"
    koker-save "$KOKER_TEST_REGISTRY/koker/three" >"$BATS_TEST_TMPDIR/d.tar"
    cmp "$BATS_TEST_TMPDIR/c.tar" "$BATS_TEST_TMPDIR/d.tar"
}

@test "koker-save: --format docker-archive and oci-archive load back into koker and podman" {
    requires registry root
    pull_fixture three
    run_koker 0 koker-save --format docker-archive -o "$BATS_TEST_TMPDIR/d.tar" "$id"
    run tar -tf "$BATS_TEST_TMPDIR/d.tar"
    refute_match 'index.json|oci-layout|blobs/'
    assert_match "${id#sha256:}.json"
    run_koker 0 koker-save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" "$KOKER_TEST_REGISTRY/koker/three"
    run tar -tf "$BATS_TEST_TMPDIR/o.tar"
    refute_match 'manifest.json|repositories'
    run_koker 0 "$SKOPEO" inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar:latest"
    run_koker 0 "$SKOPEO" inspect "docker-archive:$BATS_TEST_TMPDIR/d.tar"
    run_koker 0 koker-rmi "$id"
    run_koker 0 koker-load -i "$BATS_TEST_TMPDIR/d.tar"
    assert_equal "Loaded image ID: $id" "$output"
    run_koker 0 koker-rmi "$id"
    run_koker 0 koker-load -i "$BATS_TEST_TMPDIR/o.tar"
    assert_equal "Loaded image: $KOKER_TEST_REGISTRY/koker/three:latest" "$output"
    podman_setup
    run_koker 0 "${PODMAN[@]}" load -i "$BATS_TEST_TMPDIR/d.tar"
    assert_match "${id:7:12}|Loaded image"
    run_koker 0 "${PODMAN[@]}" load -i "$BATS_TEST_TMPDIR/o.tar"
}

@test "koker-save, then podman load and podman run" {
    requires registry root
    pull_fixture three
    run_koker 0 koker-save -o "$BATS_TEST_TMPDIR/three.tar" "$KOKER_TEST_REGISTRY/koker/three"
    podman_setup
    run_koker 0 "${PODMAN[@]}" load -i "$BATS_TEST_TMPDIR/three.tar"
    assert_match "Loaded image.*koker/three:latest"
    run_koker 0 "${PODMAN[@]}" image inspect --format '{{.Id}}' "$KOKER_TEST_REGISTRY/koker/three:latest"
    assert_equal "${id#sha256:}" "$output"
    run_koker 0 "${PODMAN[@]}" run --rm --network none --ulimit nofile=1024:1024 \
        --ulimit nproc=1000:1000 "$KOKER_TEST_REGISTRY/koker/three:latest" 'cat /hello; id -un; pwd'
    assert_equal $'hello from layer 3\nkoker\n/work' "$output"
}

@test "podman save (docker-archive, oci-archive), then koker-load and koker-run" {
    requires root
    podman_setup
    run_koker 0 "${PODMAN[@]}" load -i "$KOKER_TEST_FIXTURES/one-docker.tar"
    run_koker 0 "${PODMAN[@]}" tag koker/one:latest localhost/podman/one:v1
    local format
    for format in docker-archive oci-archive; do
        rm -f "$BATS_TEST_TMPDIR/p.tar"
        run_koker 0 "${PODMAN[@]}" save --format "$format" -o "$BATS_TEST_TMPDIR/p.tar" localhost/podman/one:v1
        run_koker 0 koker-load -i "$BATS_TEST_TMPDIR/p.tar"
        assert_match '^Loaded image: (localhost/)?podman/one:v1$'
        name=${output#Loaded image: }
        run_koker 0 koker-run --rm --network none "$name" echo "hello from $format"
        assert_equal "hello from $format" "$output"
        run_koker 0 koker-rmi "$name"
    done
    # Docker's classic archive with the legacy <id>/layer.tar directories.
    run_koker 0 koker-load -i "$KOKER_TEST_FIXTURES/one-docker.tar"
    assert_equal "Loaded image: koker/one:latest" "$output"
}

@test "koker-load: hostile archives fail with one line, 125, and store nothing" {
    requires registry root
    pull_fixture one
    run_koker 0 koker-save -o "$BATS_TEST_TMPDIR/good.tar" "$id"
    run_koker 0 koker-rmi "$id"
    mkdir "$BATS_TEST_TMPDIR/h"
    tar -C "$BATS_TEST_TMPDIR/h" -xf "$BATS_TEST_TMPDIR/good.tar"
    h=$BATS_TEST_TMPDIR/h
    layer=$(jq -r '.[0].Layers[0]' "$h/manifest.json")

    # 1. a "../" entry
    pack_dir "$h" "$BATS_TEST_TMPDIR/dotdot.tar" "../escaped" "x"
    run_koker 125 koker-load -q -i "$BATS_TEST_TMPDIR/dotdot.tar"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match '^koker-load: fatal: .*\.\.'
    [[ ! -e $KOKER_ROOT/escaped && ! -e $KOKER_ROOT/tmp/escaped ]]
    assert_store_clean 0

    # 2. a manifest.json pointing outside the archive (and no index.json to prefer)
    cp -a "$h" "$BATS_TEST_TMPDIR/h2"
    rm "$BATS_TEST_TMPDIR/h2/index.json"
    jq -c '.[0].Config = "../../../../../etc/passwd"' "$h/manifest.json" >"$BATS_TEST_TMPDIR/h2/manifest.json"
    pack_dir "$BATS_TEST_TMPDIR/h2" "$BATS_TEST_TMPDIR/outside.tar"
    run_koker 125 koker-load -q -i "$BATS_TEST_TMPDIR/outside.tar"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match '^koker-load: fatal: .*etc/passwd'
    assert_store_clean 0
    # ... or through a symlink in the archive
    rm "$BATS_TEST_TMPDIR/h2/manifest.json"
    ln -s /etc/passwd "$BATS_TEST_TMPDIR/h2/cfg.json"
    jq -c '.[0].Config = "cfg.json"' "$h/manifest.json" >"$BATS_TEST_TMPDIR/h2/manifest.json"
    pack_dir "$BATS_TEST_TMPDIR/h2" "$BATS_TEST_TMPDIR/symlink.tar"
    run_koker 125 koker-load -q -i "$BATS_TEST_TMPDIR/symlink.tar"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_store_clean 0

    # 3. a layer blob whose content does not match its digest, through index.json and through
    # manifest.json alone
    cp -a "$h" "$BATS_TEST_TMPDIR/h3"
    chmod u+w "$BATS_TEST_TMPDIR/h3/$layer"
    printf 'X' | dd of="$BATS_TEST_TMPDIR/h3/$layer" bs=1 seek=100 conv=notrunc status=none
    pack_dir "$BATS_TEST_TMPDIR/h3" "$BATS_TEST_TMPDIR/digest.tar"
    run_koker 125 koker-load -q -i "$BATS_TEST_TMPDIR/digest.tar"
    assert_equal 1 "${#stderr_lines[@]}"
    # the unpacker may see the damage before the digest is checked
    assert_stderr_match '^koker-load: fatal: .*(digest mismatch|does not match|decompression failed)'
    assert_store_clean 0
    rm "$BATS_TEST_TMPDIR/h3/index.json"
    pack_dir "$BATS_TEST_TMPDIR/h3" "$BATS_TEST_TMPDIR/digest2.tar"
    run_koker 125 koker-load -q -i "$BATS_TEST_TMPDIR/digest2.tar"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match 'digest mismatch'
    assert_store_clean 0
    [ -z "$(ls -A "$KOKER_ROOT/layers" 2>/dev/null)" ]

    # 4. not an image archive at all
    run_koker 125 koker-load -q -i "$BATS_TEST_FILENAME"
    assert_equal 1 "${#stderr_lines[@]}"
}

@test "koker-load: a truncated archive, and kill -9 halfway, leave the store consistent" {
    requires registry root
    pull_fixture three
    run_koker 0 koker-save -o "$BATS_TEST_TMPDIR/three.tar" "$KOKER_TEST_REGISTRY/koker/three"
    run_koker 0 koker-rmi "$id"
    size=$(stat -c %s "$BATS_TEST_TMPDIR/three.tar")
    head -c $((size / 2)) "$BATS_TEST_TMPDIR/three.tar" >"$BATS_TEST_TMPDIR/half.tar"
    run_koker 125 koker-load -q -i "$BATS_TEST_TMPDIR/half.tar"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_store_clean 0

    # kill -9 while the archive is half read from a pipe
    mkfifo "$BATS_TEST_TMPDIR/fifo"
    koker-load -i "$BATS_TEST_TMPDIR/fifo" >/dev/null 2>&1 &
    pid=$!
    koker_cleanup_later pid "$pid"
    exec 4>"$BATS_TEST_TMPDIR/fifo"
    head -c $((size / 2)) "$BATS_TEST_TMPDIR/three.tar" >&4
    sleep 0.5
    kill -9 "$pid"
    wait "$pid" || true
    exec 4>&-
    run_koker 0 koker-images -q
    [ -z "$output" ]
    # The next load finds the store usable and clears what the killed one left.
    run_koker 0 koker-load -i "$BATS_TEST_TMPDIR/three.tar"
    assert_equal "Loaded image: $KOKER_TEST_REGISTRY/koker/three:latest" "$output"
    assert_store_clean 1
}

@test "koker-save: bad input fails with one line and 125, and writes no file" {
    requires registry root
    pull_fixture one
    run_koker 125 koker-save -o "$BATS_TEST_TMPDIR/no/such/dir/x.tar" "$id"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match "^koker-save: fatal: unable to create $BATS_TEST_TMPDIR/no/such/dir/x.tar: No such file"
    run_koker 125 koker-save -o "$BATS_TEST_TMPDIR/x.tar" nosuch/image:1
    assert_stderr_match '^koker-save: fatal: no such image: nosuch/image:1$'
    run_koker 125 koker-save -o "$BATS_TEST_TMPDIR/x.tar" "$id" nosuch/image:1
    [[ ! -e $BATS_TEST_TMPDIR/x.tar ]]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep koker-save || true)" ]
    run_koker 125 koker-save --format tar "$id"
    assert_stderr_match 'usage: invalid --format'
    run_koker 125 koker-save
    assert_stderr_match 'usage: IMAGE is missing'
    run_koker 125 koker-load -i "$BATS_TEST_TMPDIR/missing.tar"
    assert_equal "koker-load: fatal: unable to open $BATS_TEST_TMPDIR/missing.tar: No such file or directory" "$stderr"
    # An image stored by a koker without layer blobs must be pulled again to leave.
    jq '.images[0] |= del(.LayerBlobs)' "$KOKER_ROOT/images.json" >"$BATS_TEST_TMPDIR/images.json"
    cp "$BATS_TEST_TMPDIR/images.json" "$KOKER_ROOT/images.json"
    run_koker 125 koker-save -o "$BATS_TEST_TMPDIR/x.tar" "$id"
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match 'pull it again$'
    [[ ! -e $BATS_TEST_TMPDIR/x.tar ]]
    # An existing file is replaced whole, never left half-written: -o over a directory fails.
    mkdir "$BATS_TEST_TMPDIR/adir"
    run_koker 125 koker-save -o "$BATS_TEST_TMPDIR/adir" "$id"
}

@test "koker: save and load verbs, image save and image load" {
    requires registry root
    pull_fixture one
    run_koker 0 koker save -o "$BATS_TEST_TMPDIR/a.tar" "$id"
    run_koker 0 koker image save -o "$BATS_TEST_TMPDIR/b.tar" "$id"
    cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/b.tar"
    run_koker 0 koker rmi "$id"
    run_koker 0 koker load -i "$BATS_TEST_TMPDIR/a.tar"
    assert_equal "Loaded image ID: $id" "$output"
    run_koker 0 koker rmi "$id"
    run_koker 0 koker image load -q -i "$BATS_TEST_TMPDIR/b.tar"
    assert_equal "Loaded image ID: $id" "$output"
}
