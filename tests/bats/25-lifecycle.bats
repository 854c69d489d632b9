#!/usr/bin/env bats
# Containers as things a user manages: -d, the supervisor, names, ps, logs, stop, rm, inspect,
# and recovery after kill -9.
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

wait_state() { # CONTAINER STATUS: until State.Status is STATUS (5 s at most)
    local _
    for _ in $(seq 50); do
        [ "$(state "$1" Status)" = "$2" ] && return 0
        sleep 0.1
    done
    echo "container $1 never became $2 (is $(state "$1" Status))"
    return 1
}

@test "koker-run: -d prints the ID once the container runs; the supervisor records the exit" {
    run_koker 0 koker-run -d --network none one sh -c 'echo out; echo err >&2; sleep 0.5; exit 7'
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    id=$output
    assert_equal running "$(state "$id" Status)"
    [ "$(state "$id" Pid)" -gt 1 ]
    wait_state "$id" exited
    assert_equal 7 "$(state "$id" ExitCode)"
    run_koker 0 koker-logs "$id"
    assert_equal $'out\nerr' "$output"
    [[ $(state "$id" FinishedAt) =~ ^2[0-9]{3}- ]]
}

@test "koker-run: -d --rm removes the container when it exits; \$(koker-run -d) returns at once" {
    start=$(date +%s)
    id=$(koker-run -d --rm --network none one sleep 1)
    [ $(($(date +%s) - start)) -lt 1 ] || [ $(($(date +%s) - start)) -le 1 ]
    [[ $id =~ ^[0-9a-f]{64}$ ]]
    [ -d "$KOKER_ROOT/containers/$id" ]
    for _ in $(seq 50); do [ -d "$KOKER_ROOT/containers/$id" ] || break; sleep 0.1; done
    [ ! -d "$KOKER_ROOT/containers/$id" ]
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
}

@test "koker-logs: -f follows the output until the container exits" {
    id=$(koker-run -d --network none one sh -c 'for i in 1 2 3; do echo line $i; sleep 0.2; done')
    run_koker 0 koker-logs -f "$id"
    assert_equal $'line 1\nline 2\nline 3' "$output"
}

@test "koker-run: --name is unique, even when two runs race for it; names and prefixes select" {
    koker-run -d --name racer --network none one sleep 30 >"$BATS_TEST_TMPDIR/a" 2>"$BATS_TEST_TMPDIR/ea" &
    koker-run -d --name racer --network none one sleep 30 >"$BATS_TEST_TMPDIR/b" 2>"$BATS_TEST_TMPDIR/eb" &
    wait
    assert_equal 1 "$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | grep -c .)"
    grep -q 'name "racer" is already in use' "$BATS_TEST_TMPDIR/ea" "$BATS_TEST_TMPDIR/eb"
    id=$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b")
    assert_equal "/racer" "$(koker-inspect racer | jq -r '.[0].Name')"
    assert_equal "$id" "$(koker-inspect "${id:0:12}" | jq -r '.[0].Id')"
    run_koker 125 koker-inspect "${id:0:11}"
    run_koker 0 koker-stop -t 0 racer
    assert_equal racer "$output"
    run_koker 0 koker-rm racer
    run_koker 0 koker-run --rm --name racer --network none one true
    [ "$(ls "$KOKER_ROOT/containers" | wc -l)" = 0 ]
}

@test "koker-ps: docker's columns and statuses, -a, -q and --format json" {
    up=$(koker-run -d --name up --network none one sleep 30)
    run_koker 3 koker-run --name down --network none one sh -c 'exit 3'
    run_koker 0 koker-ps
    assert_match "^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES"
    assert_match "${up:0:12} +one +\"sleep 30\" +.* ago +Up .* +up"
    refute_match "down"
    run_koker 0 koker-ps -a
    assert_match "Exited \(3\) .* ago +down"
    run_koker 0 koker-ps -q
    assert_equal "${up:0:12}" "$output"
    run_koker 0 koker-ps -a --format json
    assert_equal 2 "$(jq length <<<"$output")"
    assert_equal running "$(jq -r '.[] | select(.Names == "up") | .State' <<<"$output")"
    assert_equal 3 "$(jq -r '.[] | select(.Names == "down") | .ExitCode' <<<"$output")"
    koker-rm -f up down >/dev/null
}

@test "koker-stop: SIGTERM first, SIGKILL after -t, every process of the container" {
    id=$(koker-run -d --network none one sh -c 'trap "exit 143" TERM; sleep 1000 & sleep 1000 & wait')
    pids=$(koker-cg stats "$id" --format json | jq -r '.PidsCurrent // .pids_current // empty')
    run_koker 0 koker-stop -t 5 "$id"
    assert_equal exited "$(state "$id" Status)"
    assert_equal 143 "$(state "$id" ExitCode)"
    id2=$(koker-run -d --network none one sh -c 'sleep 1000 & sleep 1000 & wait')
    start=$(date +%s)
    run_koker 0 koker-stop -t 1 "$id2"
    [ $(($(date +%s) - start)) -le 4 ]
    wait_state "$id2" exited
    assert_equal 137 "$(state "$id2" ExitCode)"
    run pgrep -f "sleep 1000"
    [ "$status" = 1 ]
    [ -z "${pids:-}" ] || true
}

@test "koker-stop -s and the wrapper's kill send one signal" {
    id=$(koker-run -d --network none one sh -c 'trap "echo got HUP" HUP; while :; do sleep 0.1; done')
    sleep 0.3
    run_koker 0 koker-stop -s HUP "$id"
    sleep 0.3
    run_koker 0 koker-logs "$id"
    assert_match "got HUP"
    assert_equal running "$(state "$id" Status)"
    run_koker 0 koker kill "$id"
    wait_state "$id" exited
    assert_equal 137 "$(state "$id" ExitCode)"
    run_koker 125 koker-stop -s NOPE "$id"
}

@test "koker-rm: refuses a running container, -f kills it and releases everything" {
    id=$(koker-run -d --network none one sleep 30)
    run_koker 125 koker-rm "$id"
    assert_stderr_match "cannot remove running container"
    run_koker 0 koker-rm -f "$id"
    assert_equal "$id" "$output"
    [ ! -e "$KOKER_ROOT/containers/$id" ]
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    run_koker 125 koker-rm "$id"
    assert_stderr_match "no such container"
}

@test "koker-inspect: docker's container fields" {
    id=$(koker-run -d --name insp -e X=1 -w /tmp --hostname h1 --network none one sleep 30)
    run_koker 0 koker-inspect "$id"
    j=$output
    assert_equal "$id" "$(jq -r '.[0].Id' <<<"$j")"
    assert_equal /insp "$(jq -r '.[0].Name' <<<"$j")"
    assert_equal true "$(jq -r '.[0].State.Running' <<<"$j")"
    assert_equal false "$(jq -r '.[0].State.OOMKilled' <<<"$j")"
    [[ $(jq -r '.[0].State.StartedAt' <<<"$j") =~ ^2[0-9]{3}- ]]
    [[ $(jq -r '.[0].Created' <<<"$j") =~ ^2[0-9]{3}- ]]
    assert_equal '["sleep","30"]' "$(jq -c '.[0].Config.Cmd' <<<"$j")"
    assert_equal one "$(jq -r '.[0].Config.Image' <<<"$j")"
    assert_equal /tmp "$(jq -r '.[0].Config.WorkingDir' <<<"$j")"
    assert_equal h1 "$(jq -r '.[0].Config.Hostname' <<<"$j")"
    jq -e '.[0].Config.Env | index("X=1")' <<<"$j" >/dev/null
    assert_equal none "$(jq -r '.[0].HostConfig.NetworkMode' <<<"$j")"
    [[ $(jq -r '.[0].Image' <<<"$j") =~ ^sha256: ]]
    koker-rm -f "$id" >/dev/null
}

@test "kill -9 of the supervisor: ps tells the truth and rm -f cleans up" {
    id=$(koker-run -d --network none one sleep 1000)
    sup=$(state "$id" SupervisorPid)
    kill -9 "$sup"
    sleep 0.2
    assert_equal running "$(state "$id" Status)"   # the container itself still runs
    kill -9 "$(state "$id" Pid)"
    sleep 0.2
    run_koker 0 koker-ps -a
    assert_match "Exited \(255\)"
    # ps did what the dead supervisor would have: the cgroup is gone, the record stays
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    assert_equal exited "$(state "$id" Status)"
    run_koker 0 koker-rm -f "$id"
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    [ ! -e "$KOKER_ROOT/containers/$id" ]
}

@test "kill -9 of a foreground koker-run: the container goes with it and rm -f cleans up" {
    koker-run --name fg --network none one sleep 1000 &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    for _ in $(seq 50); do [ "$(state fg Status 2>/dev/null)" = running ] && break; sleep 0.1; done
    cpid=$(state fg Pid)
    id=$(koker-inspect fg | jq -r '.[0].Id')
    kill -9 "$pid"
    wait "$pid" || true
    for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    run kill -0 "$cpid"
    [ "$status" -ne 0 ] || [ "$(ps -o stat= -p "$cpid" | cut -c1)" = Z ]
    run_koker 0 koker-ps -a --format json
    assert_equal exited "$(jq -r '.[] | select(.Names == "fg") | .State' <<<"$output")"
    run_koker 0 koker-rm -f fg
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    run grep -c "$KOKER_ROOT" /proc/self/mountinfo
    assert_equal 0 "$output"
}

@test "koker-run: 100 sequential --rm runs leave mounts, cgroups and the store as they were" {
    # One run first: it makes the store's containers/, names/ and cache/ for good.
    koker-run --rm --network none one true
    mounts=$(grep -c -e "$KOKER_ROOT" /proc/self/mountinfo || true)
    store=$(find "$KOKER_ROOT" | sort | grep -v '/cache/' | md5sum)
    for i in $(seq 100); do
        koker-run --rm --network none --cidfile "$BATS_TEST_TMPDIR/cid.$i" one true ||
            { echo "run $i failed"; false; }
    done
    assert_equal "$mounts" "$(grep -c -e "$KOKER_ROOT" /proc/self/mountinfo || true)"
    assert_equal "$store" "$(find "$KOKER_ROOT" | sort | grep -v '/cache/' | md5sum)"
    # Each run's cgroups are gone (other software may make cgroups meanwhile: look at ours).
    left=0
    for f in "$BATS_TEST_TMPDIR"/cid.*; do
        for d in /sys/fs/cgroup/*/koker/"$(cat "$f")"; do [ -e "$d" ] && left=$((left + 1)); done
    done
    assert_equal 0 "$left"
    assert_equal 100 "$(for f in "$BATS_TEST_TMPDIR"/cid.*; do cat "$f"; echo; done | sort -u | wc -l)"
}

@test "koker-ps: 50 containers" {
    for i in $(seq 50); do koker-run -d --network none one sleep 60 >/dev/null; done
    run_koker 0 koker-ps -q
    assert_equal 50 "$(grep -c . <<<"$output")"
    run_koker 0 koker-ps --format json
    assert_equal 50 "$(jq '[.[] | select(.State == "running")] | length' <<<"$output")"
    koker-ps -q | xargs koker-rm -f >/dev/null
    assert_equal 0 "$(koker-ps -aq | grep -c . || true)"
}

@test "koker: the wrapper's container verbs and aliases reach the tools" {
    id=$(koker container run -d --network none one sleep 30)
    run_koker 0 koker container ls -q
    assert_equal "${id:0:12}" "$output"
    run_koker 0 koker c ps -q
    assert_equal "${id:0:12}" "$output"
    run_koker 0 koker ps --format json
    run_koker 0 koker container inspect "$id"
    run_koker 0 koker container logs "$id"
    run_koker 0 koker container stop -t 0 "$id"
    run_koker 0 koker container rm "$id"
    run_koker 42 koker run --rm --network none one sh -c 'exit 42'
}

@test "koker-rmi: an image a container uses is refused; -f only untags it while a stopped one remains" {
    id=$(koker-run -d --name user --network none one sleep 300)
    img=$(koker-inspect user | jq -r '.[0].Image')
    run_koker 125 koker-rmi one
    assert_stderr_match "is running from it"
    run_koker 125 koker-rmi -f one
    koker-stop -t 0 user >/dev/null
    run_koker 125 koker-rmi one
    assert_stderr_match "uses it"
    run_koker 0 koker-rmi -f one
    [ -z "$output" ]
    assert_stderr_match "untagged: one:latest"
    run_koker 0 koker-images
    assert_match "<none> +<none> +${img:7:12}"
    run_koker 0 koker-rm user
    run_koker 0 koker-rmi "${img:7:12}"
    assert_equal "$img" "$output"
}

@test "koker-run -d: a container that cannot start leaves no record, name or cgroup" {
    run_koker 125 koker-run -d --name doomed --network none -u nosuchuser one true
    assert_stderr_match "unable to find user nosuchuser"
    [ -z "$(ls -A "$KOKER_ROOT/containers" 2>/dev/null)" ]
    [ ! -e "$KOKER_ROOT/names/doomed" ]
    run_koker 127 koker-run -d --name doomed --network none one no-such-command
    [ -z "$(ls -A "$KOKER_ROOT/containers" 2>/dev/null)" ]
    run_koker 0 koker-run --rm --name doomed --network none one true
}

@test "kill -9 of a foreground koker-run also ends a container running as another user" {
    koker-run --name fgu -u 1000 --network none one sleep 1000 &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    for _ in $(seq 50); do [ "$(state fgu Status 2>/dev/null)" = running ] && break; sleep 0.1; done
    cpid=$(state fgu Pid)
    [ "$(stat -c %u "/proc/$cpid")" = 1000 ]
    kill -9 "$pid"
    wait "$pid" || true
    gone=no
    for _ in $(seq 50); do
        if ! kill -0 "$cpid" 2>/dev/null || [ "$(ps -o stat= -p "$cpid" | cut -c1)" = Z ]; then
            gone=yes
            break
        fi
        sleep 0.1
    done
    assert_equal yes "$gone"
    run_koker 0 koker-rm -f fgu
}
