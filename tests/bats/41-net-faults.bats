#!/usr/bin/env bats
# Bridge networking after faults: lease and port files a full disk or a crash left empty or
# garbled, containers whose koker-run or supervisor was killed with kill -9, and -p given
# twice. Like 40-net.bats, each test has a bridge, a subnet and ports of its own (kt41n<N>,
# 10.199.<100+N>.0/24 by default) and ends with koker-net down.

# Each test runs in a subshell of its own (Bats): a test changing KOKER_SUBNET changes only it.
# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v iptables >/dev/null || skip "requires iptables"
    # The same variables as 40-net.bats, with numbers of this file's own (bridges kt..41n<N>,
    # subnets .<100+N>., ports base+200+N), so the two files never share a bridge or a port.
    export KOKER_BRIDGE=kt${KOKER_TEST_NET_ID:-}41n$BATS_TEST_NUMBER
    NET=10.${KOKER_TEST_NET_OCTET:-199}.$((100 + BATS_TEST_NUMBER))
    export KOKER_SUBNET=$NET.0/24
    PORT=$((${KOKER_TEST_PORT_BASE:-40100} + 200 + BATS_TEST_NUMBER))
    DIR=$KOKER_ROOT/net/$KOKER_BRIDGE
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() {
    # A tmpfs on the bridge's ports/ goes first: koker-net down removes that directory.
    if [[ -n ${DIR:-} ]] && mountpoint -q "$DIR/ports" 2>/dev/null; then
        umount -l "$DIR/ports" || echo "# teardown: cannot umount $DIR/ports" >&2
    fi
    koker_teardown # kills registered pids, koker-rm -f of every container, koker-net down, mounts
    if ip link delete "$KOKER_BRIDGE" 2>/dev/null; then
        echo "# teardown: bridge $KOKER_BRIDGE was left" >&2
    fi
    return 0
}

state() { # CONTAINER FIELD: a field of the container's record, as koker-inspect prints it
    koker-inspect --type container "$1" | jq -r ".[0].$2"
}

leases() { # the address files of the test's bridge
    find "$DIR" -maxdepth 1 -name '*.*.*.*' -printf '%f\n' 2>/dev/null | sort
}

ports() { # the port files of the test's bridge
    find "$DIR/ports" -type f -printf '%f\n' 2>/dev/null | sort
}

container_rules() { # iptables rules of containers (koker:<id>) on the test's bridge
    iptables -w -t nat -S "KOKER-$KOKER_BRIDGE" 2>/dev/null | grep 'koker:' || true
}

cgroups_of() { # ID: how many cgroups of the container koker-cg lists
    koker-cg ls | grep -c "$1" || true
}

# assert_nothing_left: no veth on the bridge, no address or port file, no container rule.
assert_nothing_left() {
    assert_equal "" "$(veths_left "$KOKER_BRIDGE")" "veths left on $KOKER_BRIDGE"
    assert_equal "" "$(leases)" "address files left"
    assert_equal "" "$(container_rules)" "container rules left"
    assert_equal "" "$(ports)" "port files left"
}

wait_running() { # NAME: until the container's record says running (5 s at most)
    local _
    for _ in $(seq 50); do
        [ "$(state "$1" State.Status 2>/dev/null)" = running ] && return 0
        sleep 0.1
    done
    echo "container $1 never ran"
    return 1
}

wait_gone() { # PID: until the process is gone or a zombie (5 s at most)
    local _
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ] && return 0
        sleep 0.1
    done
    echo "process $1 is still there"
    return 1
}

# A foreground run in the background: prints koker-run's PID once the container runs.
run_foreground() { # NAME [RUN-OPTION...] -- the rest as koker-run takes it
    local name=$1
    shift
    koker-run --name "$name" "$@" >/dev/null 2>&1 &
    local pid=$!
    koker_cleanup_later pid "$pid"
    wait_running "$name" >&2 || return 1
    echo "$pid"
}

@test "koker-net: empty and garbled address files are free: ls, gc and down pass them, a run reuses them" {
    export KOKER_SUBNET=$NET.0/29 # five addresses: .2 to .6
    run_koker 0 koker-run --rm one true
    # what a write cut short by a full disk, a crash or a hand edit leaves: nothing, a blank
    # line, a partial ID, junk
    : >"$DIR/$NET.2"
    printf '\n' >"$DIR/$NET.3"
    printf '0123abc' >"$DIR/$NET.4"
    printf 'junk\nveth0\n1 2\n' >"$DIR/$NET.5"
    printf '%064d\n' 0 | tr 0 z >"$DIR/$NET.6"
    run_koker 0 koker-net ls
    assert_equal "CONTAINER ID   NAME   ADDRESS   VETH   PORTS" "$output"
    run_koker 0 koker-net ls --format json
    assert_equal "[]" "$(jq -c . <<<"$output")"
    # the subnet looks full: the run must take one of them over, not fail
    run_koker 0 koker-run --rm one sh -c 'ip -4 -o addr show eth0'
    assert_match "inet $NET\.[2-6]/29 "
    [ "$(leases | wc -l)" -eq 4 ]
    run_koker 0 koker-net gc
    assert_equal "" "$output"
    assert_nothing_left
    : >"$DIR/$NET.2"
    run_koker 0 koker-net down
    run ip link show "$KOKER_BRIDGE"
    [ "$status" -ne 0 ]
}

@test "koker-net: empty, garbled and dead holders' port files do not block their ports; gc removes them" {
    run_koker 0 koker-run --rm one true
    mkdir -p "$DIR/ports"
    : >"$DIR/ports/tcp-$PORT"
    run_koker 0 koker-run --rm -p "$PORT:80" one true
    assert_nothing_left
    # a container ID that no container of the store has
    printf '%064d\n' 7 >"$DIR/ports/tcp-$PORT"
    run_koker 0 koker-run --rm -p "$PORT:80" one true
    assert_nothing_left
    printf 'junk' >"$DIR/ports/tcp-$PORT"
    printf '\n' >"$DIR/ports/udp-$PORT"
    printf '%064d\n' 7 >"$DIR/ports/tcp-$((PORT + 1))"
    run_koker 0 koker-net gc
    assert_equal "" "$output"
    assert_nothing_left
    printf 'junk' >"$DIR/ports/tcp-$PORT"
    run_koker 0 koker-net down
    [ ! -e "$DIR" ]
}

@test "koker-run: a full disk while publishing a port leaves no half-written port file" {
    mkdir -p "$DIR/ports"
    # a tmpfs with room for empty files but none for their contents: the O_EXCL create works,
    # the write after it fails with ENOSPC
    mount -t tmpfs -o size=16k,mode=0700 koker-test-full "$DIR/ports"
    koker_cleanup_later mount "$DIR/ports"
    dd if=/dev/zero of="$DIR/ports/filler" bs=4k count=64 2>/dev/null || true
    run_koker 125 koker-run --rm --name full -p "$PORT:80" one true
    assert_stderr_match "unable to write $DIR/ports/tcp-$PORT: No space left on device"
    assert_equal "filler" "$(ports)"
    assert_equal "" "$(leases)"
    [ -z "$(koker-ps -a -q)" ]
    umount "$DIR/ports"
    run_koker 0 koker-run --rm --name full -p "$PORT:80" one true
    assert_nothing_left
}

@test "koker-run: kill -9 of a foreground --rm run frees its port for the next run; ps and gc remove it" {
    pid=$(run_foreground fg --rm -p "$PORT:80" one sleep 100)
    id=$(state fg Id)
    cpid=$(state fg State.Pid)
    kill -9 "$pid"
    wait_gone "$cpid"
    # the port of a container that no longer runs is free
    run_koker 0 koker-run --rm -p "$PORT:80" one true
    [ "$(container_rules | wc -l)" -eq 0 ]
    # --rm is honoured by the next tool that sees the container dead
    run_koker 0 koker-ps -a
    refute_match "fg"
    [ ! -e "$KOKER_ROOT/containers/$id" ]
    [ ! -e "$KOKER_ROOT/names/fg" ]
    assert_equal 0 "$(cgroups_of "$id")"
    assert_nothing_left
    # and by koker-net gc
    pid=$(run_foreground fg2 --rm -p "$PORT:80" one sleep 100)
    id=$(state fg2 Id)
    cpid=$(state fg2 State.Pid)
    kill -9 "$pid"
    wait_gone "$cpid"
    run_koker 0 koker-net gc
    assert_equal "$id" "$output"
    [ ! -e "$KOKER_ROOT/containers/$id" ]
    assert_equal 0 "$(cgroups_of "$id")"
    assert_nothing_left
}

@test "kill -9 of a detached container's supervisor: its port stays taken while it runs; koker-stop releases all" {
    id=$(koker-run -d --name orphan -p "$PORT:80" one sleep 100)
    kill -9 "$(state orphan State.SupervisorPid)"
    sleep 0.2
    # a live holder blocks, and the message says so
    run_koker 125 koker-run --rm -p "$PORT:81" one true
    assert_stderr_match "port $PORT/tcp is already published by container ${id:0:12} \(orphan\), which is running"
    [ "$(container_rules | grep -c "koker:$id")" -eq 1 ]
    run_koker 0 koker-stop -t 1 orphan
    assert_equal exited "$(state orphan State.Status)"
    assert_equal 0 "$(cgroups_of "$id")"
    assert_nothing_left
    run_koker 0 koker-run --rm -p "$PORT:80" one true
    # processes gone too: koker-stop still releases what the supervisor held; --rm removes it
    id=$(koker-run -d --rm --name orphan2 -p "$PORT:80" one sleep 100)
    kill -9 "$(state orphan2 State.SupervisorPid)"
    cpid=$(state orphan2 State.Pid)
    kill -9 "$cpid"
    wait_gone "$cpid"
    run_koker 0 koker-stop orphan2
    [ ! -e "$KOKER_ROOT/containers/$id" ]
    [ ! -e "$KOKER_ROOT/names/orphan2" ]
    assert_equal 0 "$(cgroups_of "$id")"
    assert_nothing_left
    # without --rm, the record stays, exited, and rm cleans the rest
    id=$(koker-run -d --name orphan3 -p "$PORT:80" one sleep 100)
    kill -9 "$(state orphan3 State.SupervisorPid)"
    cpid=$(state orphan3 State.Pid)
    kill -9 "$cpid"
    wait_gone "$cpid"
    run_koker 0 koker-stop orphan3
    assert_equal exited "$(state orphan3 State.Status)"
    assert_equal 255 "$(state orphan3 State.ExitCode)"
    assert_equal 0 "$(cgroups_of "$id")"
    assert_nothing_left
    run_koker 0 koker-rm orphan3
}

@test "koker-run: one host port in two -p options is a usage error naming it; tcp and udp may share it" {
    run_koker 125 koker-run --rm -p "$PORT:80" -p "127.0.0.1:$PORT:81" one true
    assert_stderr_match "usage: .*port $PORT/tcp .*twice"
    refute_stderr_match "already published by container"
    [ -z "$(koker-ps -a -q)" ]
    run ip link show "$KOKER_BRIDGE"
    [ "$status" -ne 0 ] # nothing touched the host
    run_koker 125 koker-net attach nosuch 1 -p "$PORT:80" -p "$PORT:81"
    assert_stderr_match "usage: .*port $PORT/tcp .*twice"
    run_koker 0 koker-run --rm -p "$PORT:80" -p "$PORT:80/udp" one true
    assert_nothing_left
}

@test "koker-ps: an exited container shows no ports; a running one does" {
    run_koker 0 koker-run -d --name up -p "$PORT:80" one sleep 100
    run_koker 0 koker-run --name down -p "$((PORT + 1)):80" one true
    run_koker 0 koker-ps -a
    assert_match "0\.0\.0\.0:$PORT->80/tcp +up"
    refute_match "$((PORT + 1))->"
    run_koker 0 koker-ps -a --format json
    assert_equal "" "$(jq -r '.[] | select(.Names == "down") | .Ports' <<<"$output")"
    assert_equal "0.0.0.0:$PORT->80/tcp" "$(jq -r '.[] | select(.Names == "up") | .Ports' <<<"$output")"
    # inspect keeps what was asked for, as docker's HostConfig does
    assert_equal "0.0.0.0:$((PORT + 1))->80/tcp" "$(state down 'HostConfig.PortBindings[0]')"
    run_koker 0 koker-rm -f up down
    assert_nothing_left
}

@test "koker-run: kill -9 of koker-net while it plugs the container: one line naming it, 125, nothing left" {
    run_koker 0 koker-net up
    mkdir -p "$DIR"
    # Hold the bridge's lock so that koker-net, started ahead, waits in its reservation.
    exec 7>"$DIR/lock"
    flock -x 7
    koker-run --name victim -p "$PORT:80" one true >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    local run=$!
    koker_cleanup_later pid "$run"
    local net="" _
    for _ in $(seq 100); do
        net=$(pgrep -f -P "$run" 'koker-net attach --ahead' || true)
        [ -n "$net" ] && break
        sleep 0.05
    done
    [ -n "$net" ]
    sleep 0.2 # it reads the record and the namespace, then waits for the lock
    kill -9 "$net"
    exec 7>&-
    local status=0
    wait "$run" || status=$?
    assert_equal 125 "$status"
    run cat "$BATS_TEST_TMPDIR/err"
    assert_match "^koker-run: fatal: koker-net attach for container [0-9a-f]{12} was killed by signal 9$"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
    run_koker 0 koker-ps -a -q
    assert_equal "" "$output"
    [ ! -e "$KOKER_ROOT/names/victim" ]
    assert_nothing_left
}
