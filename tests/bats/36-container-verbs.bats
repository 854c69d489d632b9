#!/usr/bin/env bats
# diff, export, top, port, rename, pause/unpause and update: docker's verbs on a container.
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
    koker-pull -q --tag verbs "dir:$img" >/dev/null
}

teardown() { koker_teardown; }

state() { koker-inspect --type container "$1" | jq -r ".[0].State.$2"; }

cgroup_file() { # CONTAINER CONTROLLER FILE: the value in its v1 or v2 group
    local id f
    id=$(koker-inspect --type container "$1" | jq -r '.[0].Id')
    for f in "/sys/fs/cgroup/$2/koker/$id/$3" "/sys/fs/cgroup/koker/$id/$4"; do
        [ -f "$f" ] && { cat "$f"; return; }
    done
    echo "no $3 for $1" >&2
    return 1
}

@test "koker-diff: A, C and D from the upper layer: a deleted lower file, an opaque directory" {
    koker-run --name d --network none verbs sh -c \
        'rm /keep/gone; echo new >/keep/changed; echo x >/added; rm -rf /opq; mkdir /opq; echo n >/opq/new'
    run_koker 0 koker-diff d
    assert_equal "A /added
C /keep
C /keep/changed
D /keep/gone
C /opq
A /opq/new" "$(grep -Ev ' /(etc|dev|proc|sys|tmp|run)($|/)' <<<"$output")"
    run_koker 125 koker-diff nosuch
    assert_equal "koker-diff: fatal: no such container: nosuch" "$stderr"
}

@test "koker-export: the container's file system as a tar; never to a terminal" {
    koker-run --name e --network none verbs sh -c 'echo mine >/mine; rm /keep/gone'
    run_koker 0 koker-export -o "$BATS_TEST_TMPDIR/e.tar" e
    tar -tf "$BATS_TEST_TMPDIR/e.tar" >"$BATS_TEST_TMPDIR/list"
    grep -qx 'mine' "$BATS_TEST_TMPDIR/list"
    grep -qx 'bin/busybox' "$BATS_TEST_TMPDIR/list"
    run ! grep -qx 'keep/gone' "$BATS_TEST_TMPDIR/list"
    assert_equal mine "$(koker-export e | tar -xO mine)"
    run_koker 125 koker-export -o /nonexistent/dir/e.tar e
    run_koker 125 "$(command -v script)" -qec "$KOKER_BINDIR/koker-export e; exit \$?" /dev/null
    assert_match 'refusing to save to a terminal'
    # a running one: its root mount alone, cloned from its own mount namespace, without what
    # its processes see mounted on it (/proc, /dev, volumes), as docker export
    mkdir "$BATS_TEST_TMPDIR/vol" && echo v >"$BATS_TEST_TMPDIR/vol/v"
    koker-run -d --name er --network none -v "$BATS_TEST_TMPDIR/vol:/vol" verbs sleep 300 >/dev/null
    koker-exec er sh -c 'echo live >/live'
    koker-export er | tar -t >"$BATS_TEST_TMPDIR/list2"
    grep -qx 'live' "$BATS_TEST_TMPDIR/list2"
    grep -qx 'bin/busybox' "$BATS_TEST_TMPDIR/list2"
    run ! grep -Eq '^(proc|vol|dev/pts)/.' "$BATS_TEST_TMPDIR/list2"
    run_koker 0 koker-rm -f er
    [ -z "$(grep -F "$KOKER_ROOT" /proc/self/mountinfo || true)" ]
}

@test "koker-top: the container's processes, with ps -ef's columns and host PIDs" {
    koker-run -d --name t --network none verbs sleep 600 >/dev/null
    run_koker 0 koker-top t
    [[ ${lines[0]} =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD ]]
    [[ $output =~ sleep\ 600 ]]
    pid=$(state t Pid)
    assert_equal "$pid" "$(awk 'NR > 1 { print $2 }' <<<"$output")"
    run_koker 0 koker-top t -o pid,comm
    assert_equal "$pid sleep" "$(awk 'NR > 1 { print $1, $2 }' <<<"$output")"
    koker-stop -t 0 t >/dev/null
    run_koker 125 koker-top t
    assert_stderr_match 'is not running'
}

@test "koker-port: docker's lines from the record; one port; none published" {
    requires netns
    port=$(koker_free_port)
    koker-run -d --name p -p "127.0.0.1:$port:80" -p "$port:53/udp" verbs sleep 600 >/dev/null
    run_koker 0 koker-port p
    assert_equal "53/udp -> 0.0.0.0:$port
80/tcp -> 127.0.0.1:$port" "$output"
    run_koker 0 koker-port p 80
    assert_equal "127.0.0.1:$port" "$output"
    run_koker 0 koker-port p 53/udp
    assert_equal "0.0.0.0:$port" "$output"
    run_koker 125 koker-port p 81
    assert_equal "koker-port: fatal: no public port '81/tcp' published for p" "$stderr"
    run_koker 125 koker-port p 80/sctp
    assert_stderr_match 'usage:'
}

@test "koker-rename: exec by the new name; the old name is free; a taken name is refused" {
    koker-run -d --name old --network none verbs sleep 600 >/dev/null
    koker-run -d --name other --network none verbs sleep 600 >/dev/null
    run_koker 0 koker-rename old new
    run_koker 0 koker-exec new echo hi
    assert_equal hi "$output"
    assert_equal /new "$(koker-inspect new | jq -r '.[0].Name')"
    run_koker 125 koker-exec old true
    # The old name can be taken again; a name in use cannot.
    run_koker 0 koker-rename other old
    run_koker 125 koker-rename new old
    assert_stderr_match 'already in use'
    run_koker 125 koker-rename new new
    run_koker 125 koker-rename new 'bad/name'
    assert_equal /new "$(koker-inspect new | jq -r '.[0].Name')"
}

@test "koker-pause: a counter stops while paused and goes on after unpause; exec and stop" {
    koker-run -d --name c --network none verbs sh -c 'i=0; while :; do i=$((i+1)); echo $i >/n.new; mv /n.new /n; sleep 0.05; done' >/dev/null
    sleep 0.3
    run_koker 0 koker-pause c
    assert_equal paused "$(state c Status)"
    assert_equal true "$(state c Paused)"
    run_koker 0 koker-ps
    assert_match 'Up .* \(Paused\)'
    assert_equal paused "$(koker-ps --format json | jq -r '.[0].State')"
    a=$(koker-cp c:/n - | tar -xO)
    sleep 0.5
    b=$(koker-cp c:/n - | tar -xO)
    assert_equal "$a" "$b"
    run_koker 125 koker-exec c true
    assert_stderr_match 'is paused, unpause the container before exec'
    run_koker 125 koker-pause c
    assert_stderr_match 'already paused'
    run_koker 0 koker-pause --unpause c
    assert_equal running "$(state c Status)"
    sleep 0.5
    [ "$(koker-exec c cat /n)" -gt "$b" ]
    run_koker 125 koker-pause --unpause c
    assert_stderr_match 'is not paused'
    # stop of a paused container thaws it, then stops it.
    koker-pause c >/dev/null
    run_koker 0 koker-stop -t 1 c
    assert_equal exited "$(state c Status)"
    run_koker 125 koker-pause c
    assert_stderr_match 'is not running'
}

@test "koker-update: memory and pids of a running container, kept in the record and config" {
    koker-run -d --name u --network none -m 64m verbs sleep 600 >/dev/null
    run_koker 0 koker-update -m 96m --pids-limit 50 u
    assert_equal $((96 << 20)) "$(cgroup_file u memory memory.limit_in_bytes memory.max)"
    assert_equal 50 "$(cgroup_file u pids pids.max pids.max)"
    assert_equal $((96 << 20)) "$(koker-inspect u | jq -r '.[0].HostConfig.Memory')"
    assert_equal 50 "$(koker-inspect u | jq -r '.[0].HostConfig.PidsLimit')"
    id=$(koker-inspect u | jq -r '.[0].Id')
    cfg=$KOKER_ROOT/containers/$id/bundle/config.json
    assert_equal "$((96 << 20)) 50" "$(jq -r '.linux.resources | "\(.memory.limit) \(.pids.limit)"' "$cfg")"
    run_koker 0 koker-update --memory-swap 200m u
    assert_equal $((200 << 20)) "$(koker-inspect u | jq -r '.[0].HostConfig.MemorySwap')"
}

@test "koker-update: limits on a container started without any, and --memory-swap -1" {
    koker-run -d --name u --network none verbs sleep 600 >/dev/null
    run_koker 0 koker-update --cpus 0.5 u
    assert_equal 50000 "$(cgroup_file u cpu cpu.cfs_quota_us cpu.max | cut -d' ' -f1)"
    assert_equal 500000000 "$(koker-inspect u | jq -r '.[0].HostConfig.NanoCpus')"
    run_koker 0 koker-update -m 64m u
    assert_equal $((64 << 20)) "$(cgroup_file u memory memory.limit_in_bytes memory.max)"
    # docker: -1 is unlimited swap
    run_koker 0 koker-update --memory-swap -1 u
    assert_equal -1 "$(koker-inspect u | jq -r '.[0].HostConfig.MemorySwap')"
    # A stopped container's new limits hold at its next start.
    koker-stop -t 0 u >/dev/null
    run_koker 0 koker-update --pids-limit 30 u
    run_koker 0 koker-start u
    assert_equal 30 "$(cgroup_file u pids pids.max pids.max)"
    assert_equal 50000 "$(cgroup_file u cpu cpu.cfs_quota_us cpu.max | cut -d' ' -f1)"
}

@test "koker-update: bad input is refused whole, one line, 125" {
    koker-run -d --name u --network none -m 64m verbs sleep 600 >/dev/null
    run_koker 125 koker-update u
    assert_stderr_match 'usage:'
    run_koker 125 koker-update -m 12q u
    assert_stderr_match "invalid --memory value '12q'"
    run_koker 125 koker-update -m 1m u
    assert_stderr_match 'minimum is 6MiB'
    run_koker 125 koker-update -m 64m --memory-swap 32m u
    assert_stderr_match 'larger than memory limit'
    run_koker 125 koker-update --pids-limit 0 u
    run_koker 125 koker-update -m 64m nosuch
    assert_equal "koker-update: fatal: no such container: nosuch" "$stderr"
    assert_equal $((64 << 20)) "$(koker-inspect u | jq -r '.[0].HostConfig.Memory')"
}

@test "koker: the wrapper's verbs reach cp, diff, export, top, port, rename, pause, unpause, update" {
    koker run -d --name w --network none verbs sleep 600 >/dev/null
    run_koker 0 koker pause w
    assert_equal paused "$(state w Status)"
    run_koker 0 koker container unpause w
    assert_equal running "$(state w Status)"
    run_koker 0 koker container rename w w2
    run_koker 0 koker top w2
    assert_match 'sleep 600'
    run_koker 0 koker port w2
    run_koker 0 koker update --pids-limit 20 w2
    echo hi >"$BATS_TEST_TMPDIR/hi"
    run_koker 0 koker cp "$BATS_TEST_TMPDIR/hi" w2:/hi
    run_koker 0 koker container diff w2
    assert_match 'A /hi'
    assert_equal hi "$(koker export w2 | tar -xO hi)"
    run_koker 0 koker help cp
    assert_match 'Usage: koker-cp'
}
