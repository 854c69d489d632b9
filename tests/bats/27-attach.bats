#!/usr/bin/env bats
# attach and start -a/-i with stdin and a tty: the attach socket a -i or -t container's
# supervisor serves (docker attach, conmon's socket), driven through a real pty (ptydrive).
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() { koker_teardown; }

status_of() { # CONTAINER: State.Status
    koker-inspect --type container "$1" | jq -r '.[0].State.Status'
}

wait_exited() { # CONTAINER: until it exited (10 s at most)
    local _
    for _ in $(seq 100); do
        [ "$(status_of "$1")" = exited ] && return 0
        sleep 0.1
    done
    echo "container $1 never exited"
    return 1
}

# wait_attached PID MASK: until koker-attach PID blocks or catches a signal of MASK (hex),
# which it does once connected (10 s at most): a signal sent before would find no proxy.
wait_attached() {
    local _ blk cgt
    for _ in $(seq 100); do
        if [ "$(cat "/proc/$1/comm" 2>/dev/null)" = koker-attach ]; then
            blk=$(awk '/^SigBlk/ {print $2}' "/proc/$1/status")
            cgt=$(awk '/^SigCgt/ {print $2}' "/proc/$1/status")
            (((0x$blk | 0x$cgt) & $2)) && return 0
        fi
        sleep 0.1
    done
    echo "koker-attach $1 never got ready"
    return 1
}

# wait_log CONTAINER TEXT: until the container's log holds TEXT (10 s at most).
wait_log() {
    local _
    for _ in $(seq 100); do
        koker-logs "$1" | grep -qF -- "$2" && return 0
        sleep 0.1
    done
    echo "the log of $1 never showed $2"
    return 1
}

SIGINT_MASK=0x2 SIGWINCH_MASK=0x8000000

@test "koker-start -ai: stdin goes to a create -i container, its output and exit code come back" {
    id=$(koker-create --network none -i one cat)
    run_koker 0 koker-start -ai "$id" <<<"hi"
    assert_equal hi "$output"
    koker-create --name three --network none -i one sh -c 'read -r line; echo "got $line"; exit 3' >/dev/null
    run_koker 3 koker-start -ai three <<<"there"
    assert_equal "got there" "$output"
    # started again: a fresh stdin each time
    run_koker 3 koker-start -ai three <<<"again"
    assert_equal "got again" "$output"
    # the socket is served while it runs and goes with its supervisor
    [ ! -e "$KOKER_ROOT/containers/$id/attach" ]
    # -a alone: output only, the container's stdin left as create -i made it
    run_koker 0 koker-start -a "$id" </dev/null &
    echo "$!" >>"$BATS_TEST_TMPDIR/pids"
    for _ in $(seq 100); do
        [ -S "$KOKER_ROOT/containers/$id/attach" ] && break
        sleep 0.1
    done
    sleep 0.3 # cat would have seen the end of its input by now
    assert_equal running "$(status_of "$id")"
    [ "$(stat -c %a "$KOKER_ROOT/containers/$id/attach")" = 600 ]
    koker-stop -t 1 "$id" >/dev/null
}

@test "koker-attach: a -dit shell takes typed commands and the window size; ctrl-p ctrl-q leaves it running" {
    id=$(koker-run -dit --network none one sh)
    run ptydrive --size 33x99 -- koker-attach "$id" <<'EOF'
send echo "hello $((6 * 7))"\r
expect hello 42
send stty size\r
expect 33 99
send \x10\x11
wait
EOF
    assert_equal 0 "$status" "ptydrive: $output"
    assert_match "ptydrive: exit 0"
    assert_equal running "$(status_of "$id")"
    # attached again, the shell's own exit code comes back
    run ptydrive -- koker-attach "$id" <<'EOF'
send echo "back $((1 + 1))"\r
expect back 2
send exit 5\r
wait
EOF
    assert_equal 0 "$status" "ptydrive: $output"
    assert_match "ptydrive: exit 5"
    wait_exited "$id"
    assert_equal 5 "$(koker-inspect "$id" | jq -r '.[0].State.ExitCode')"
}

@test "koker-start -ai of a create -it shell, --detach-keys; two attachers see the same output" {
    id=$(koker-create -it --network none one sh)
    run ptydrive -- koker-start --detach-keys ctrl-x,x -ai "$id" <<'EOF'
send echo "first $((2 + 2))"\r
expect first 4
send \x18x
wait
EOF
    assert_equal 0 "$status" "ptydrive: $output"
    assert_equal running "$(status_of "$id")"
    # a second attacher without stdin sees what the first one's command prints
    koker-attach --no-stdin "$id" >"$BATS_TEST_TMPDIR/watch" </dev/null &
    echo "$!" >>"$BATS_TEST_TMPDIR/pids"
    wait_attached "$!" "$SIGWINCH_MASK"
    run ptydrive -- koker-attach "$id" <<'EOF'
send echo "seen $((3 * 3))"\r
expect seen 9
send exit\r
wait
EOF
    assert_equal 0 "$status" "ptydrive: $output"
    wait_exited "$id"
    wait "$(tail -n 1 "$BATS_TEST_TMPDIR/pids")" || true
    grep -q "seen 9" "$BATS_TEST_TMPDIR/watch"
}

@test "koker-run -di: stdin stays open for attachers; --sig-proxy passes signals on" {
    id=$(koker-run -di --network none one cat)
    sleep 0.5
    assert_equal running "$(status_of "$id")" # docker's -i: cat sees no end of input
    koker-attach "$id" <<<"to cat" >/dev/null
    wait_log "$id" "to cat"
    run_koker 0 koker-logs "$id"
    assert_equal "to cat" "$output"
    assert_equal running "$(status_of "$id")" # one attacher's end is not stdin's (no StdinOnce)
    koker-stop -t 1 "$id" >/dev/null
    # a signal to the attacher reaches the process, socket and log alike
    trapper='trap "echo got INT; exit 9" INT; echo ready; while :; do sleep 0.1; done'
    for flags in "-di" "-d"; do
        # shellcheck disable=SC2086 # the flags are words
        id=$(koker-run $flags --network none one sh -c "$trapper")
        wait_log "$id" ready
        koker-attach --no-stdin "$id" >"$BATS_TEST_TMPDIR/out" </dev/null &
        pid=$!
        echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
        wait_attached "$pid" "$SIGINT_MASK"
        kill -INT "$pid"
        rc=0
        wait "$pid" || rc=$?
        assert_equal 9 "$rc" "koker-attach's code with $flags"
        assert_equal "got INT" "$(cat "$BATS_TEST_TMPDIR/out")"
    done
    # --sig-proxy=false: the attacher dies of it, the container runs on
    id=$(koker-run -di --network none one sh -c "$trapper")
    wait_log "$id" ready
    koker-attach --no-stdin --sig-proxy=false "$id" </dev/null >/dev/null &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    wait_attached "$pid" "$SIGWINCH_MASK"
    kill -TERM "$pid"
    wait "$pid" || true
    assert_equal running "$(status_of "$id")"
}

@test "koker-attach: a stopped or paused container, bad --detach-keys and --sig-proxy: one line, 125" {
    id=$(koker-create --network none -it one sh)
    run_koker 125 koker-attach "$id"
    assert_stderr_match "^koker-attach: fatal: cannot attach to container ${id:0:12}: it is not running \(created\): start it first$"
    paused=$(koker-run -dit --network none one sh)
    koker-pause "$paused" >/dev/null
    run_koker 125 koker-attach "$paused"
    assert_stderr_match "^koker-attach: fatal: cannot attach to container ${paused:0:12}: it is paused: unpause it first$"
    koker-pause --unpause "$paused" >/dev/null
    run_koker 125 koker-attach --detach-keys ctrl-1 "$id"
    assert_stderr_match "^koker-attach: usage: invalid detach key ctrl-1: "
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
    run_koker 125 koker-attach --sig-proxy=maybe "$id"
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
    run_koker 125 koker-start -ai --detach-keys ctrl-é "$id"
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
}
