#!/usr/bin/env bats
# create, start, restart, wait, attach: containers started again with their files as they
# left them (issue 16 point 1).
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() { koker_teardown; }

state() { # CONTAINER FIELD: a field of the container's State
    koker-inspect --type container "$1" | jq -r ".[0].State.$2"
}

wait_state() { # CONTAINER STATUS: until State.Status is STATUS (10 s at most)
    local _
    for _ in $(seq 100); do
        [ "$(state "$1" Status)" = "$2" ] && return 0
        sleep 0.1
    done
    echo "container $1 never became $2 (is $(state "$1" Status))"
    return 1
}

mounted() { # CONTAINER: how many mounts are on its bundle's rootfs
    grep -c "$KOKER_ROOT/containers/$1/bundle/rootfs" /proc/self/mountinfo || true
}

@test "koker-create: a record, a bundle, and no process, cgroup, address or mount" {
    run_koker 0 koker-create --name made one sh -c 'echo hello from $HOSTNAME'
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    id=$output
    assert_equal created "$(state made Status)"
    assert_equal 0 "$(state made Pid)"
    [ -f "$KOKER_ROOT/containers/$id/bundle/config.json" ]
    assert_equal default "$(jq -r '.annotations["org.koker.seccomp"]' "$KOKER_ROOT/containers/$id/bundle/config.json")"
    [ -d "$KOKER_ROOT/containers/$id/upper" ]
    assert_equal 0 "$(mounted "$id")"
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    assert_equal "" "$(koker-inspect made | jq -r '.[0].NetworkSettings.IPAddress')"
    run_koker 0 koker-ps -a --format json
    assert_equal "Created" "$(jq -r '.[] | select(.Names == "made") | .Status' <<<"$output")"
    # The name is taken from create on.
    run_koker 125 koker-create --name made one true
    assert_stderr_match 'already in use'
}

@test "koker-start: runs a created container detached; its output in logs; its address given" {
    koker-create --name st one sh -c 'echo started; hostname; sleep 0.3; exit 3' >/dev/null
    run_koker 0 koker-start st
    assert_equal st "$output"
    wait_state st exited
    assert_equal 3 "$(state st ExitCode)"
    run_koker 0 koker-logs st
    assert_match '^started'
    [[ $(koker-inspect st | jq -r '.[0].NetworkSettings.IPAddress') =~ ^"${KOKER_SUBNET%.*.*}." ]]
    id=$(koker-inspect st | jq -r '.[0].Id')
    assert_equal 0 "$(mounted "$id")"
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
}

@test "koker-start of a running container is a no-op; its process stays" {
    id=$(koker-run -d --network none one sleep 30)
    pid=$(state "$id" Pid)
    run_koker 0 koker-start "$id"
    assert_equal "$id" "$output"
    assert_equal "$pid" "$(state "$id" Pid)"
    # no second root mounted on the host (the running one's is in its own mount namespace)
    assert_equal 0 "$(mounted "$id")"
    # -a on a running one: attached to its output until it exits, as docker start -a
    id2=$(koker-run -d --network none one sh -c 'sleep 0.5; echo late; exit 4')
    run_koker 4 koker-start -a "$id2"
    assert_equal late "$output"
}

@test "koker-start -a: the output relayed, the exit code returned" {
    koker-create --name att --network none one sh -c 'echo out; echo err >&2; exit 42' >/dev/null
    run_koker 42 koker-start -a att
    assert_equal out "$output"
    assert_equal err "$stderr"
    assert_equal exited "$(state att Status)"
    assert_equal 42 "$(state att ExitCode)"
    # and again: a stopped container starts as often as asked
    run_koker 42 koker-start -a att
    assert_equal out "$output"
}

@test "a stopped container keeps its writable layer: start resumes with its files" {
    koker-create --name keep --network none one sh -c \
        'cat /data 2>/dev/null; echo run >>/data; rm -f /etc/motd-gone; echo x >/tmp/t' >/dev/null
    run_koker 0 koker-start -a keep
    assert_equal "" "$output"
    run_koker 0 koker-start -a keep
    assert_equal run "$output"
    run_koker 0 koker-start -a keep
    assert_equal $'run\nrun' "$output"
}

@test "koker-restart: stops and starts again, a new process; -t bounds the stop" {
    id=$(koker-run -d --network none one sh -c 'trap "" TERM; echo up; while :; do sleep 0.1; done')
    pid1=$(state "$id" Pid)
    start=$(date +%s)
    run_koker 0 koker-restart -t 1 "$id"
    assert_equal "$id" "$output"
    [ $(($(date +%s) - start)) -lt 8 ]
    assert_equal running "$(state "$id" Status)"
    pid2=$(state "$id" Pid)
    [ "$pid1" != "$pid2" ]
    run kill -0 "$pid1"
    [ "$status" -ne 0 ]
    koker-stop -t 0 "$id" >/dev/null
    assert_equal 0 "$(mounted "$id")"
}

@test "koker-wait: prints the exit code of each container, in order, once each exits" {
    a=$(koker-run -d --network none one sh -c 'sleep 0.5; exit 3')
    b=$(koker-run -d --network none one sh -c 'sleep 0.2; exit 5')
    c=$(koker-create --network none one true)
    run_koker 0 koker-wait "$a" "$b" "$c"
    assert_equal $'3\n5\n0' "$output"
    # a foreground run's container: another process supervises it
    koker-run --name fgw --network none one sh -c 'sleep 0.5; exit 9' &
    echo "$!" >>"$BATS_TEST_TMPDIR/pids"
    for _ in $(seq 50); do [ "$(state fgw Status 2>/dev/null)" = running ] && break; sleep 0.1; done
    run_koker 0 koker-wait fgw
    assert_equal 9 "$output"
}

@test "koker-attach: follows a detached container's output from now on, returns its exit code" {
    id=$(koker-run -d --network none one sh -c 'echo before; sleep 1; echo after; exit 6')
    sleep 0.5
    run_koker 6 koker-attach "$id"
    assert_equal after "$output"
    run_koker 125 koker-attach "$id"
    assert_stderr_match 'not running'
}

@test "bad input: unknown containers, a removed one, bad flags: one line, 125" {
    for tool in koker-start koker-restart koker-wait koker-attach; do
        run_koker 125 "$tool" nosuch
        assert_stderr_match "^$tool: fatal: no such container: nosuch$"
        run_koker 125 "$tool" --bogus x
        [ "$(wc -l <<<"$stderr")" -eq 1 ]
        run_koker 125 "$tool"
        assert_stderr_match 'CONTAINER is missing'
    done
    id=$(koker-create --network none one true)
    koker-rm "$id" >/dev/null
    run_koker 125 koker-start "$id"
    assert_stderr_match 'no such container'
    run_koker 125 koker-start -a one1 two2
    assert_stderr_match 'one CONTAINER'
    run_koker 125 koker-start --all-restartable x
    run_koker 125 koker-create -d one true
    run_koker 125 koker-create --restart sometimes one true
    assert_stderr_match 'invalid restart policy'
    run_koker 125 koker-create --rm --restart always one true
    assert_stderr_match 'conflict'
    run_koker 125 koker-create nosuchimage:latest true
    run_koker 125 koker-restart -t x one1
    # Nothing was made by all that.
    run_koker 0 koker-ps -a -q
    assert_equal "" "$output"
}

@test "kill -9 of koker-create at any point leaves nothing mounted on the host" {
    local delay pid
    for delay in 0.001 0.005 0.01 0.02 0.03 0.05 0.08; do
        koker-create --network none one true >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        # At once, with no settle or clean-up run: the root was mounted in koker-create's own
        # mount namespace, which died with it.
        run grep -c "$KOKER_ROOT" /proc/self/mountinfo
        assert_equal 0 "$output"
        run_koker 0 koker-ps -a -q
    done
    # Whatever a killed create left is a created container or a claim the clean-up removes.
    for id in $(koker-ps -a -q); do run_koker 0 koker-rm "$id"; done
    run_koker 0 koker-system prune -f
    run_koker 0 koker-ps -a -q
    assert_equal "" "$output"
}

@test "kill -9 of koker-start midway leaves the store consistent and nothing mounted" {
    id=$(koker-create --name k9 --network none one sh -c 'sleep 0.2')
    for delay in 0.001 0.005 0.01 0.02 0.04 0.08; do
        koker-start k9 >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        # Whatever point it reached, the store answers, and the container settles.
        run_koker 0 koker-ps -a --format json
        st=$(jq -r '.[] | select(.Names == "k9") | .State' <<<"$output")
        [[ $st =~ ^(created|running|exited)$ ]]
        run_koker '?' koker-wait k9
        run_koker 0 koker-ps -a
        assert_equal 0 "$(mounted "$id")"
    done
    run_koker 0 koker-start -a k9
    run_koker 0 koker-rm k9
    run grep -c "$KOKER_ROOT" /proc/self/mountinfo
    assert_equal 0 "$output"
}
