#!/usr/bin/env bats
# koker-cp: both ways, docker's rules for a trailing '/' and '/.', tar streams, stopped
# containers, and symlinks that point out of the container's root.
load helpers

setup() {
    koker_setup
    requires root
    # An image of its own: the busybox root plus a tree to copy and hostile links.
    img=$BATS_TEST_TMPDIR/img
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$img"
    mkdir -p "$img/data/sub"
    echo file >"$img/data/file"
    echo deep >"$img/data/sub/deep"
    echo 'container shadow' >"$img/etc/shadow"
    ln -s /etc/shadow "$img/shadow-link"  # absolute: the host's /etc/shadow if followed outside
    ln -s ../../../../../../etc "$img/etc-link" # climbs: the container's /etc inside the root
    ln -s "$BATS_TEST_TMPDIR/hostdir" "$img/escape"
    koker-pull -q --tag cpimg "dir:$img" >/dev/null
    mkdir "$BATS_TEST_TMPDIR/hostdir"
    out=$BATS_TEST_TMPDIR/out
    mkdir "$out"
}

teardown() { koker_teardown; }

running() { koker-run -d --network none --name c cpimg sleep 600; }

@test "koker-cp: a file out of a container, to a new name, into a directory, onto a file" {
    running >/dev/null
    run_koker 0 koker-cp c:/data/file "$out/new"
    assert_equal file "$(cat "$out/new")"
    run_koker 0 koker-cp c:/data/file "$out"
    assert_equal file "$(cat "$out/file")"
    echo old >"$out/over"
    run_koker 0 koker-cp c:data/file "$out/over"   # relative: to the container's /
    assert_equal file "$(cat "$out/over")"
}

# docker cp --help's table (cli/command/container/cp.go, pkg/archive/copy.go), case by case.
@test "koker-cp: docker's rules for a trailing / and /. (out of the container)" {
    running >/dev/null
    # SRC a directory, DEST missing: made, with SRC's contents.
    run_koker 0 koker-cp c:/data "$out/d1"
    assert_equal deep "$(cat "$out/d1/sub/deep")"
    # SRC a directory, DEST an existing directory: SRC goes inside it.
    mkdir "$out/d2"
    run_koker 0 koker-cp c:/data "$out/d2"
    assert_equal file "$(cat "$out/d2/data/file")"
    # SRC ending in /. , DEST an existing directory: SRC's contents go into it.
    mkdir "$out/d3"
    run_koker 0 koker-cp c:/data/. "$out/d3"
    assert_equal file "$(cat "$out/d3/file")"
    [ ! -e "$out/d3/data" ]
    # SRC a directory, DEST an existing file: refused.
    touch "$out/f"
    run_koker 125 koker-cp c:/data "$out/f"
    assert_stderr_match 'cannot copy directory'
    # SRC a file, DEST missing and ending in /: refused (the directory must exist).
    run_koker 125 koker-cp c:/data/file "$out/nodir/"
    assert_stderr_match 'no such directory'
    # SRC a file written with a trailing /: not a directory.
    run_koker 125 koker-cp c:/data/file/ "$out/x"
    assert_stderr_match 'Not a directory'
    # DEST whose parent is missing.
    run_koker 125 koker-cp c:/data/file "$out/a/b/c"
    [ ! -e "$out/a" ]
}

@test "koker-cp: docker's rules for a trailing / and /. (into the container)" {
    running >/dev/null
    mkdir -p "$out/src/in"
    echo hi >"$out/src/in/f"
    echo top >"$out/top"
    run_koker 0 koker-cp "$out/top" c:/data/renamed
    run_koker 0 koker-cp "$out/top" c:/data/
    run_koker 0 koker-cp "$out/src" c:/newdir
    run_koker 0 koker-cp "$out/src" c:/data
    run_koker 0 koker-cp "$out/src/." c:/data/sub
    run_koker 0 koker-exec c cat /data/renamed /data/top /newdir/in/f /data/src/in/f /data/sub/in/f
    assert_equal $'top\ntop\nhi\nhi\nhi' "$output"
    run_koker 125 koker-cp "$out/src" c:/data/file
    assert_stderr_match 'cannot copy directory'
    # The issue's rule: a missing parent in the container is an error, as docker's.
    run_koker 125 koker-cp "$out/top" c:/nonexistent/dir/file
    assert_equal "koker-cp: fatal: could not find the file /nonexistent/dir in container c" "$stderr"
    run_koker 125 koker-cp "$out/missing" c:/data
    assert_stderr_match 'no such file or directory'
}

@test "koker-cp: - is a tar stream, both ways" {
    running >/dev/null
    koker-cp c:/data - | tar -t | sort >"$out/list"
    assert_equal $'data/\ndata/file\ndata/sub/\ndata/sub/deep' "$(cat "$out/list")"
    mkdir -p "$out/t/x"
    echo streamed >"$out/t/x/s"
    tar -C "$out/t" -c x | koker-cp - c:/data/sub
    run_koker 0 koker-exec c cat /data/sub/x/s
    assert_equal streamed "$output"
    # A stream needs a directory to land in.
    run_koker 125 /bin/sh -c "tar -C '$out/t' -c x | koker-cp - c:/data/file"
    assert_stderr_match 'must be a directory'
}

@test "koker-cp: a stopped container: copied both ways, its overlay not left mounted" {
    koker-run --name s --network none cpimg sh -c 'echo made >/data/made'
    run_koker 0 koker-cp s:/data/made "$out/made"
    assert_equal made "$(cat "$out/made")"
    echo back >"$out/back"
    run_koker 0 koker-cp "$out/back" s:/data/back
    run_koker 0 koker-cp s:/data/back "$out/back2"
    assert_equal back "$(cat "$out/back2")"
    refute_match "$KOKER_ROOT" "$(grep -F "$KOKER_ROOT" /proc/self/mountinfo || true)"
    # The copy is in the container's own layer: the next run of its files sees it.
    [ -f "$KOKER_ROOT/containers/$(koker-inspect s | jq -r '.[0].Id')/upper/data/back" ]
}

@test "koker-cp: a symlink to /etc/shadow copies the container's own file, never the host's" {
    running >/dev/null
    # Without -L the link itself is copied, as docker does.
    run_koker 0 koker-cp c:/shadow-link "$out/link"
    [ -L "$out/link" ]
    assert_equal /etc/shadow "$(readlink "$out/link")"
    # With -L, and through a link in a parent directory, the target is the container's.
    run_koker 0 koker-cp -L c:/shadow-link "$out/followed"
    assert_equal 'container shadow' "$(cat "$out/followed")"
    run_koker 0 koker-cp c:/etc-link/shadow "$out/parent"
    assert_equal 'container shadow' "$(cat "$out/parent")"
    # The same when the container is stopped (its overlay, not its processes' view).
    koker-stop -t 0 c >/dev/null
    run_koker 0 koker-cp c:/etc-link/shadow "$out/stopped"
    assert_equal 'container shadow' "$(cat "$out/stopped")"
}

@test "koker-cp: copying into a container through a symlink that points outside stays inside" {
    running >/dev/null
    echo payload >"$out/payload"
    # /escape -> $BATS_TEST_TMPDIR/hostdir, a host directory: missing in the container.
    run_koker 125 koker-cp "$out/payload" c:/escape/payload
    assert_stderr_match 'could not find the file'
    [ ! -e "$BATS_TEST_TMPDIR/hostdir/payload" ]
    # Made in the container, the same path takes the copy there, not to the host.
    koker-exec c mkdir -p "$BATS_TEST_TMPDIR/hostdir"
    run_koker 0 koker-cp "$out/payload" c:/escape/payload
    [ ! -e "$BATS_TEST_TMPDIR/hostdir/payload" ]
    run_koker 0 koker-exec c cat "$BATS_TEST_TMPDIR/hostdir/payload"
    assert_equal payload "$output"
    # A tar stream with a symlink, then a file through it: written inside the root.
    mkdir -p "$out/t"
    ln -s /etc "$out/t/lnk"
    tar -C "$out/t" -c lnk | koker-cp - c:/data
    run_koker 125 /bin/sh -c "printf 'x' >'$out/t/f'; cd '$out/t' && tar --transform 's,^f,lnk/evil,' -c f | koker-cp - c:/data"
    [ ! -e /etc/evil ]
}

@test "koker-cp: bad input: one line, 125" {
    running >/dev/null
    run_koker 125 koker-cp c:/data
    assert_stderr_match 'usage:'
    run_koker 125 koker-cp c:/data c:/x
    assert_stderr_match 'copying between containers is not supported'
    run_koker 125 koker-cp /a /b
    assert_stderr_match 'must specify at least one container source'
    run_koker 125 koker-cp nosuch:/data "$out"
    assert_equal "koker-cp: fatal: no such container: nosuch" "$stderr"
    run_koker 125 koker-cp c:/nonexistent "$out"
    assert_equal "koker-cp: fatal: could not find the file /nonexistent in container c" "$stderr"
    run_koker 125 koker-cp --bogus c:/data "$out"
}

@test "koker-cp: kill -9 midway leaves nothing mounted and the store usable" {
    koker-run --name s --network none cpimg sh -c 'dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null'
    mkfifo "$out/fifo"
    koker-cp s:/big - >"$out/fifo" &
    pid=$!
    koker_cleanup_later pid "$pid"
    exec 5<"$out/fifo" # the copy blocks on the full pipe: midway
    sleep 0.5
    kill -9 "$pid"
    wait "$pid" || true
    exec 5<&-
    [ -z "$(grep -F "$KOKER_ROOT" /proc/self/mountinfo || true)" ]
    # Its lock died with it: the next copy works.
    run_koker 0 koker-cp s:/big "$out/big"
    assert_equal $((64 << 20)) "$(stat -c %s "$out/big")"
}
