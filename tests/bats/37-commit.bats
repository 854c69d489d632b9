#!/usr/bin/env bats
# commit, tag and history (issue 17 points 1, 2 and 6): a container's changes as a new image.
load helpers

setup() {
    koker_setup
    requires root
    img=$BATS_TEST_TMPDIR/img
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$img"
    mkdir -p "$img/opq" "$img/keep"
    echo a >"$img/opq/a"
    echo gone >"$img/keep/gone"
    echo old >"$img/keep/changed"
    koker-pull -q --tag base "dir:$img" >/dev/null
}

teardown() { koker_teardown; }

CHANGES='rm /keep/gone; echo new >/keep/changed; echo x >/added; rm -rf /opq; mkdir /opq; echo n >/opq/new'

# The image's record in images.json, by tag.
record() { jq -c --arg t "$1" '.images[] | select(.RepoTags | index($t))' "$KOKER_ROOT/images.json"; }
# The blob of the image's top layer.
top_blob() { echo "$KOKER_ROOT/blobs/sha256/$(record "$1" | jq -r '.LayerBlobs[-1][7:]')"; }
config() { koker-inspect --type image "$1" | jq -c ".[0].Config.$2"; }

@test "koker-commit: added, changed and deleted files and a replaced directory, exactly" {
    koker-run --name c --network none base sh -c "$CHANGES"
    run_koker 0 koker-commit c mine:v1
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    id=$output
    assert_equal "$id" "$(record mine:v1 | jq -r .Id)"
    # the layer: whiteouts as docker writes them, nothing of koker's own, no overlay xattrs
    tar -tvf "$(top_blob mine:v1)" --numeric-owner >"$BATS_TEST_TMPDIR/tv"
    assert_equal "added
keep/
keep/changed
keep/.wh.gone
opq/
opq/.wh..wh..opq
opq/new" "$(awk '{print $6}' "$BATS_TEST_TMPDIR/tv")"
    grep -q '^-rw------- 0/0 *0 .* keep/.wh.gone$' "$BATS_TEST_TMPDIR/tv"
    run ! grep -aq 'trusted.overlay' "$(top_blob mine:v1)"
    # the new image runs from the store and shows exactly the changes
    run_koker 0 koker-run --rm --network none mine:v1 sh -c \
        'cat /added /keep/changed; ls /keep /opq; test ! -e /keep/gone && test ! -e /opq/a && echo ok'
    assert_equal "x
new
/keep:
changed

/opq:
new
ok" "$output"
    # koker-diff of a container of the new image: nothing changed against it
    koker-run --name c2 --network none mine:v1 true
    run_koker 0 koker-diff c2
    assert_equal "" "$output"
    # the base image is untouched
    run_koker 0 koker-run --rm --network none base cat /keep/gone /opq/a
    assert_equal "gone
a" "$output"
    # removed, the image takes its layer and blob with it
    top=$(record mine:v1 | jq -r '.Layers[-1][7:]')
    [ -d "$KOKER_ROOT/layers/$top" ]
    koker-rm c2 >/dev/null
    run_koker 0 koker-rmi mine:v1
    [ ! -e "$KOKER_ROOT/layers/$top" ] && [ ! -e "$KOKER_ROOT/blobs/sha256/$top" ]
}

@test "koker-commit: over a pulled Docker v2s2 image, a v2s2 manifest of its layers and the new one" {
    requires registry
    koker-pull -q "$KOKER_TEST_REGISTRY/koker/three:v2s2" >/dev/null
    base=$(record "$KOKER_TEST_REGISTRY/koker/three:v2s2")
    koker-run --name c --network none -u 0 --entrypoint sh "$KOKER_TEST_REGISTRY/koker/three:v2s2" \
        -c 'echo more >/more'
    run_koker 0 koker-commit -c 'CMD ["-c", "cat /more"]' c three:more
    rec=$(record three:more)
    manifest=$KOKER_ROOT/blobs/sha256/$(jq -r '.Manifest[7:]' <<<"$rec")
    assert_equal application/vnd.docker.distribution.manifest.v2+json "$(jq -r .mediaType "$manifest")"
    assert_equal application/vnd.docker.container.image.v1+json "$(jq -r .config.mediaType "$manifest")"
    assert_equal "$(jq -c .LayerBlobs <<<"$base")" "$(jq -c '.layers[:-1] | map(.digest)' "$manifest")"
    assert_equal application/vnd.docker.image.rootfs.diff.tar "$(jq -r '.layers[-1].mediaType' "$manifest")"
    assert_equal "$(jq -r '.LayerBlobs[-1]' <<<"$rec")" "$(jq -r '.layers[-1].digest' "$manifest")"
    assert_equal "$(stat -c %s "$KOKER_ROOT/blobs/sha256/$(jq -r '.LayerBlobs[-1][7:]' <<<"$rec")")" \
        "$(jq -r '.layers[-1].size' "$manifest")"
    # the container's Entrypoint (sh) and User (0), then the -c CMD
    run_koker 0 koker-run --rm --network none three:more
    assert_equal more "$output"
    run_koker 0 koker-history -q three:more
    assert_equal 1 "$(grep -vc missing <<<"$output")"
}

@test "koker-commit: umoci, as an oracle, unpacks the image to the same tree koker runs" {
    command -v umoci >/dev/null || skip "umoci is not installed"
    koker-run --name c --network none base sh -c "$CHANGES"
    koker-commit -q c mine:v1 >/dev/null
    layout=$BATS_TEST_TMPDIR/layout
    mkdir -p "$layout/blobs/sha256"
    rec=$(record mine:v1)
    for d in $(jq -r '.Manifest, .Id, .LayerBlobs[]' <<<"$rec"); do
        cp "$KOKER_ROOT/blobs/sha256/${d#sha256:}" "$layout/blobs/sha256/"
    done
    manifest=$(jq -r .Manifest <<<"$rec")
    echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
    jq -n --arg d "$manifest" --argjson s "$(stat -c %s "$layout/blobs/sha256/${manifest#sha256:}")" \
        '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "v1"}}]}' \
        >"$layout/index.json"
    koker_umoci_unpack "$layout:v1" "$BATS_TEST_TMPDIR/bundle"
    (cd "$BATS_TEST_TMPDIR/bundle/rootfs" && find keep opq added | sort) >"$BATS_TEST_TMPDIR/umoci"
    koker-run --rm --network none mine:v1 sh -c 'find keep opq added | sort' >"$BATS_TEST_TMPDIR/koker"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/umoci")" "$(cat "$BATS_TEST_TMPDIR/koker")"
    assert_equal n "$(cat "$BATS_TEST_TMPDIR/bundle/rootfs/opq/new")"
}

@test "koker-commit: the config takes the container's settings, each -c, -m and --author" {
    koker-run --name c --network none -e A=1 -w /tmp -l from=run --stop-signal USR1 base true
    run_koker 0 koker-commit -m 'my change' --author 'Me <me@example.org>' \
        -c 'CMD ["echo", "hi"]' -c 'ENTRYPOINT ["/bin/sh", "-c"]' -c 'ENV B=2 C="x y"' \
        -c 'EXPOSE 8080 53/udp' -c 'LABEL k=v' -c 'ONBUILD RUN true' -c 'STOPSIGNAL SIGINT' \
        -c 'USER 1000' -c 'VOLUME ["/data"]' -c 'WORKDIR sub' c mine:cfg
    assert_equal '["echo","hi"]' "$(config mine:cfg Cmd)"
    assert_equal '["/bin/sh","-c"]' "$(config mine:cfg Entrypoint)"
    config mine:cfg Env | jq -e 'index("A=1") and index("B=2") and index("C=x y")' >/dev/null
    run ! grep -q HOSTNAME <<<"$(config mine:cfg Env)"
    assert_equal '{"53/udp":{},"8080/tcp":{}}' "$(config mine:cfg ExposedPorts | jq -cS .)"
    assert_equal '{"from":"run","k":"v"}' "$(config mine:cfg Labels | jq -cS .)"
    assert_equal '["RUN true"]' "$(config mine:cfg OnBuild)"
    assert_equal '"SIGINT"' "$(config mine:cfg StopSignal)"
    assert_equal '"1000"' "$(config mine:cfg User)"
    assert_equal '{"/data":{}}' "$(config mine:cfg Volumes)"
    assert_equal '"/tmp/sub"' "$(config mine:cfg WorkingDir)"
    koker-inspect --type image mine:cfg | jq -e '.[0].Author == "Me <me@example.org>"' >/dev/null
    koker-inspect --type image mine:cfg |
        jq -e '.[0].History[-1] | .comment == "my change" and .created_by == "true"' >/dev/null 2>&1 ||
        jq -e '.history[-1] | .comment == "my change" and .created_by == "true"' \
            "$KOKER_ROOT/blobs/sha256/$(record mine:cfg | jq -r '.Id[7:]')" >/dev/null
    # a container of the image runs with it: hi through the entrypoint, as user 1000
    run_koker 0 koker-run --rm --network none mine:cfg 'id -u; echo $B; pwd'
    assert_equal "1000
2
/tmp/sub" "$output"
    # an ENTRYPOINT alone clears the Cmd, as in a Dockerfile
    koker-commit -q -c 'ENTRYPOINT echo' c mine:ep >/dev/null
    assert_equal null "$(config mine:ep Cmd)"
    assert_equal '["/bin/sh","-c","echo"]' "$(config mine:ep Entrypoint)"
}

@test "koker-commit: RUN, bad changes, names and containers fail with 125 and store nothing" {
    koker-run --name c --network none base true
    before=$(koker-images -q --no-trunc | sort)
    run_koker 125 koker-commit -c 'RUN echo hi' c mine:x
    assert_stderr_match '^koker-commit: fatal: unable to apply change RUN echo hi: RUN is not one of CMD'
    run_koker 125 koker-commit -c 'FROM alpine' c
    run_koker 125 koker-commit -c 'EXPOSE 99999' c
    assert_stderr_match 'invalid port 99999'
    run_koker 125 koker-commit -c 'LABEL novalue' c
    run_koker 125 koker-commit nosuch
    assert_equal "koker-commit: fatal: no such container: nosuch" "$stderr"
    run_koker 125 koker-commit c 'Bad:Name'
    assert_stderr_match 'invalid reference format'
    run_koker 125 koker-commit --pause=maybe c
    assert_stderr_match 'usage:'
    run_koker 125 koker-commit
    assert_equal "$before" "$(koker-images -q --no-trunc | sort)"
    [ -z "$(ls -A "$KOKER_ROOT/tmp")" ]
}

@test "koker-commit: SOURCE_DATE_EPOCH gives the same image ID for the same changes" {
    for n in a b; do
        koker-run --name "$n" --network none base sh -c 'echo same >/f; mkdir -p /d/e; rm /keep/gone'
    done
    sleep 1.1 # the second container's files are newer
    a=$(SOURCE_DATE_EPOCH=1700000000 koker-commit a)
    b=$(SOURCE_DATE_EPOCH=1700000000 koker-commit b)
    again=$(SOURCE_DATE_EPOCH=1700000000 koker-commit a)
    assert_equal "$a" "$b"
    assert_equal "$a" "$again"
    koker-inspect --type image "$a" | jq -e '.[0].Created == "2023-11-14T22:13:20Z"' >/dev/null
    tar -tvf "$(jq -r --arg id "$a" '.images[] | select(.Id == $id) | .LayerBlobs[-1][7:]' \
        "$KOKER_ROOT/images.json" | sed "s|^|$KOKER_ROOT/blobs/sha256/|")" --full-time |
        awk '{print $4}' | sort -u >"$BATS_TEST_TMPDIR/dates"
    assert_equal "2023-11-14" "$(cat "$BATS_TEST_TMPDIR/dates")"
    # without it, the time is now: another ID
    other=$(koker-commit a)
    [ "$other" != "$a" ]
}

@test "koker-commit: a container that keeps writing is paused for the commit and runs on" {
    koker-run -d --name w --network none base sh -c \
        'i=0; while :; do echo "line $i" >>/log; i=$((i+1)); done' >/dev/null
    sleep 0.5
    run_koker 0 koker-commit -D w mine:w
    assert_stderr_match 'debug: freeze the cgroup of'
    assert_stderr_match 'debug: thaw the cgroup of'
    assert_equal running "$(koker-inspect --type container w | jq -r '.[0].State.Status')"
    assert_equal false "$(koker-inspect --type container w | jq -r '.[0].State.Paused')"
    n1=$(koker-exec w wc -l /log | awk '{print $1}')
    sleep 0.3
    n2=$(koker-exec w wc -l /log | awk '{print $1}')
    [ "$n2" -gt "$n1" ] # thawed: still writing
    # the committed log is whole: every line complete, as the freeze caught it
    run_koker 0 koker-run --rm --network none mine:w sh -c 'tail -n 1 /log'
    assert_match '^line [0-9]+$'
    run_koker 0 koker-commit --pause=false w mine:w2
}

@test "koker-commit: kill -9 mid-way leaves the store as it was and the container thawed" {
    koker-run -d --name big --network none base sh -c \
        'dd if=/dev/zero of=/big bs=1M count=300 2>/dev/null; touch /done; sleep 600' >/dev/null
    for _ in $(seq 100); do koker-exec big test -e /done && break; sleep 0.1; done
    before=$(koker-images -q --no-trunc | sort)
    layers=$(ls "$KOKER_ROOT/layers" | sort)
    koker-commit big mine:killed >/dev/null 2>&1 &
    pid=$!
    sleep 0.4
    kill -9 "$pid"
    wait "$pid" || true
    # the watchdog thaws the container (give it a moment)
    run_koker 0 "$(command -v timeout)" 10 "$KOKER_BINDIR/koker-exec" big echo alive
    assert_equal alive "$output"
    assert_equal running "$(koker-inspect --type container big | jq -r '.[0].State.Status')"
    assert_equal "$before" "$(koker-images -q --no-trunc | sort)"
    assert_equal "$layers" "$(ls "$KOKER_ROOT/layers" | sort)"
    # a later pull (the next user of the store) removes what the killed commit left in tmp/
    koker-pull -q "dir:$img" >/dev/null
    [ -z "$(ls -A "$KOKER_ROOT/tmp")" ]
    # and a commit now succeeds
    run_koker 0 koker-commit --pause=false big mine:big
}

@test "koker-commit: over an image stored by an older koker (no layer blobs), runs, with a warning" {
    jq '(.images[] | select(.RepoTags | index("base:latest"))) |= (.LayerBlobs = [])' \
        "$KOKER_ROOT/images.json" >"$BATS_TEST_TMPDIR/images.json"
    cp "$BATS_TEST_TMPDIR/images.json" "$KOKER_ROOT/images.json"
    koker-run --name c --network none base sh -c 'echo old >/old'
    run_koker 0 koker-commit c mine:old
    assert_stderr_match 'warning: image [0-9a-f]{12} was stored by an older koker: .*push and save need its base image pulled again'
    assert_equal '[]' "$(record mine:old | jq -c .LayerBlobs)"
    assert_equal 2 "$(record mine:old | jq '.Layers | length')"
    run_koker 0 koker-run --rm --network none mine:old cat /old
    assert_equal old "$output"
}

@test "koker-commit: a container without changes adds no layer, as docker" {
    koker-run --name c --network none base true
    run_koker 0 koker-commit c mine:same
    assert_equal "$(record base:latest | jq -c .Layers)" "$(record mine:same | jq -c .Layers)"
    jq -e '.history[-1].empty_layer == true' \
        "$KOKER_ROOT/blobs/sha256/$(record mine:same | jq -r '.Id[7:]')" >/dev/null
    run_koker 0 koker-history mine:same
    assert_match '0B'
}

@test "koker-tag: another name; koker-rmi of one tag keeps the image while another names it" {
    id=$(record base:latest | jq -r .Id)
    run_koker 0 koker-tag base 127.0.0.1:5000/me/base:v1
    assert_equal "" "$output"
    run_koker 0 koker-tag "${id:7:12}" other
    assert_equal '["base:latest","127.0.0.1:5000/me/base:v1","other:latest"]' \
        "$(record base:latest | jq -c .RepoTags)"
    run_koker 0 koker-rmi other
    assert_equal "" "$output"
    assert_stderr_match 'untagged: other:latest'
    run_koker 0 koker-run --rm --network none 127.0.0.1:5000/me/base:v1 cat /keep/gone
    run_koker 0 koker-rmi base
    run_koker 0 koker-rmi 127.0.0.1:5000/me/base:v1
    assert_equal "$id" "$output"
    # a tag moves from the image that had it
    koker-pull -q --tag base "dir:$img" >/dev/null
    koker-run --name c --network none base sh -c 'echo 1 >/one'
    koker-commit -q c mine >/dev/null
    run_koker 0 koker-tag base mine
    assert_equal '["base:latest","mine:latest"]' "$(record base:latest | jq -c .RepoTags)"
    run_koker 125 koker-tag nosuch x
    assert_equal "koker-tag: fatal: no such image: nosuch" "$stderr"
    run_koker 125 koker-tag base 'UPPER'
    run_koker 125 koker-tag base x@sha256:0000000000000000000000000000000000000000000000000000000000000000
    run_koker 125 koker-tag base
}

@test "koker-history: docker's columns, <missing> below the top, --no-trunc, -q, json" {
    koker-run --name c --network none base sh -c "$CHANGES"
    id=$(koker-commit -m 'the change' c mine)
    run_koker 0 koker-history mine
    assert_match '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT'
    assert_equal "${id:7:12}" "$(sed -n 2p <<<"$output" | awk '{print $1}')"
    assert_equal "<missing>" "$(sed -n 3p <<<"$output" | awk '{print $1}')"
    assert_match 'sh -c rm /keep/gone; echo new >/keep/changed…'
    assert_match 'the change'
    run_koker 0 koker-history --no-trunc mine
    assert_match "$id"
    assert_match 'mkdir /opq; echo n >/opq/new'
    run_koker 0 koker-history -q mine
    assert_equal "${id:7:12}
<missing>" "$output"
    run_koker 0 koker-history --format json mine
    assert_equal 2 "$(jq length <<<"$output")"
    assert_equal "the change" "$(jq -r '.[0].Comment' <<<"$output")"
    run_koker 0 koker-history --format '{{.Size}}|{{.Comment}}' -H=false mine
    [[ $(head -1 <<<"$output") =~ ^[0-9]+\|the\ change$ ]]
    run_koker 125 koker-history nosuch
    run_koker 125 koker-history --format '{{.Nope}}' mine
}

@test "koker: the wrapper's commit, tag and history verbs" {
    koker-run --name w --network none base sh -c 'echo w >/w'
    run_koker 0 koker commit w wrapped:1
    [[ $output =~ ^sha256: ]]
    run_koker 0 koker container commit -c 'CMD ["cat", "/w"]' w wrapped:2
    run_koker 0 koker tag wrapped:1 wrapped:3
    run_koker 0 koker image tag wrapped:2 wrapped:4
    run_koker 0 koker run --rm --network none wrapped:4
    assert_equal w "$output"
    run_koker 0 koker history -q wrapped:3
    run_koker 0 koker image history wrapped:3
    assert_match 'CREATED BY'
}
