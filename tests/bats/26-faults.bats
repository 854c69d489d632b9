#!/usr/bin/env bats
# Faults a hostile tester found: rmi racing run, a full disk, a read-only store, half-typed
# image configs, a corrupt record, a chatty container, a registry that never answers. Each
# test reproduces the fault; the store must stay consistent and the host clean.
load helpers

setup() {
    koker_setup
    requires root
}

teardown() { koker_teardown; }

state() { # CONTAINER FIELD: a field of the container's State
    koker-inspect --type container "$1" | jq -r ".[0].State.$2"
}

wait_gone() { # PID: until the process is gone (10 s at most)
    local _
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}

# small_store SIZE: KOKER_ROOT on a tmpfs of SIZE (unmounted by teardown), with image one.
small_store() {
    local dir=$BATS_TEST_TMPDIR/small
    mkdir -p "$dir"
    mount -t tmpfs -o "size=$1,mode=0700" koker-test "$dir"
    koker_cleanup_later mount "$dir"
    export KOKER_ROOT=$dir/root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

# fill_disk: fill KOKER_ROOT's file system to the last byte (the filler goes with it).
fill_disk() {
    dd if=/dev/zero of="$KOKER_ROOT/filler" bs=64k 2>/dev/null || true
}

# layout_with_config NAME JSON [mkimage args...]: an OCI layout $BATS_TEST_TMPDIR/img-NAME
# of the busybox rootfs with JSON merged into its config.
layout_with_config() {
    local name=$1 config=$2
    shift 2
    mkimage "$BATS_TEST_TMPDIR/img-$name" latest --layer-dir "$KOKER_TEST_FIXTURES/rootfs" \
        --config "$config" "$@" >/dev/null
}

@test "koker-rmi racing koker-run never takes the layers of a container being created" {
    requires registry
    img=$KOKER_TEST_REGISTRY/koker/one:latest
    ids=()
    for _ in $(seq 30); do
        koker-pull -q "$img" >/dev/null
        koker-rmi "$img" >/dev/null 2>&1 &
        rmi=$!
        if id=$(koker-run -d --network none "$img" sleep 1000 2>"$BATS_TEST_TMPDIR/err"); then
            ids+=("$id")
        else
            # Losing the race is fine when it is said clearly; a missing layer is not.
            refute_match "No such file or directory" "$(cat "$BATS_TEST_TMPDIR/err")"
        fi
        wait "$rmi" || true
    done
    [ "${#ids[@]}" -gt 0 ]
    for id in "${ids[@]}"; do
        run_koker 0 koker-exec "$id" true # the root is whole: the command is there
    done
}

@test "koker-rmi: an image a live koker-run is creating a container from is kept; a dead one's claim is swept" {
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    image=$(koker-inspect one | jq -r '.[0].Id')
    sleep 1000 &
    holder=$!
    echo "$holder" >>"$BATS_TEST_TMPDIR/pids"
    dir=$KOKER_ROOT/containers/$(printf 'c%.0s' $(seq 64))
    mkdir -p "$dir"
    printf '%s\n%s %s\n' "$image" "$holder" "$(cut -d' ' -f22 "/proc/$holder/stat")" >"$dir/creating"
    run_koker 125 koker-rmi one
    assert_stderr_match "unable to remove image one: container cccccccccccc is being created from it"
    kill "$holder"
    wait "$holder" || true
    run_koker 0 koker-rmi one
    [ ! -e "$dir" ] # the dead creator's directory went with the garbage
}

@test "a full disk: ps, inspect and rm -f still work, and rm -f frees the log that filled it" {
    small_store 16m
    id=$(koker-run -d --network none one sh -c 'while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz; done')
    for _ in $(seq 100); do
        [ "$(df --output=avail "$KOKER_ROOT" | tail -n 1)" -lt 64 ] && break
        sleep 0.1
    done
    [ "$(df --output=avail "$KOKER_ROOT" | tail -n 1)" -lt 64 ]
    run_koker 0 koker-ps -a
    assert_match "${id:0:12}"
    run_koker 0 koker-inspect "$id"
    run_koker 0 koker-rm -f "$id"
    [ ! -e "$KOKER_ROOT/containers/$id" ]
    [ "$(df --output=avail "$KOKER_ROOT" | tail -n 1)" -gt 1000 ]
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
}

@test "a full disk: a foreground exit code comes back and the container's cgroup is released" {
    small_store 16m
    koker-run --name fg --network none one sh -c 'sleep 1.5; exit 3' &
    run=$!
    for _ in $(seq 50); do [ "$(state fg Status 2>/dev/null)" = running ] && break; sleep 0.1; done
    id=$(koker-inspect fg | jq -r '.[0].Id')
    fill_disk
    rc=0
    wait "$run" || rc=$?
    assert_equal 3 "$rc"
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    run_koker 0 koker-ps -a
    assert_match "Exited \(3\)"
    rm -f "$KOKER_ROOT/filler"
}

@test "a full disk: a detached container's exit code survives, its resources go" {
    small_store 16m
    id=$(koker-run -d --network none one sh -c 'sleep 1.5; exit 5')
    pid=$(state "$id" Pid)
    fill_disk
    wait_gone "$pid"
    for _ in $(seq 50); do koker-cg ls | grep -q "$id" || break; sleep 0.1; done
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    assert_equal 5 "$(state "$id" ExitCode)"
    assert_equal exited "$(state "$id" Status)"
    rm -f "$KOKER_ROOT/filler"
}

@test "a read-only store: ps and inspect tell the truth without writing" {
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    id=$(koker-run -d --network none one sleep 1000)
    kill -9 "$(state "$id" SupervisorPid)" "$(state "$id" Pid)"
    wait_gone "$(state "$id" Pid)"
    mount --bind "$KOKER_ROOT" "$KOKER_ROOT"
    koker_cleanup_later mount "$KOKER_ROOT"
    mount -o remount,bind,ro "$KOKER_ROOT"
    run_koker 0 koker-ps -a
    assert_match "Exited \(255\)"
    run_koker 0 koker-inspect "$id"
    umount "$KOKER_ROOT"
}

@test "kill -9 of the supervisor: FinishedAt is unknown, not the time of the next look" {
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    id=$(koker-run -d --network none one sleep 1000)
    kill -9 "$(state "$id" SupervisorPid)" "$(state "$id" Pid)"
    wait_gone "$(state "$id" Pid)"
    assert_equal 255 "$(state "$id" ExitCode)"
    assert_equal "0001-01-01T00:00:00Z" "$(state "$id" FinishedAt)"
}

@test "koker-run --log-opt max-size/max-file: a chatty container's log stays bounded" {
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    id=$(koker-run -d --network none --log-opt max-size=10k --log-opt max-file=2 one \
        sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i + 1)); done')
    pid=$(state "$id" Pid)
    wait_gone "$pid"
    for _ in $(seq 50); do [ "$(state "$id" Status)" = exited ] && break; sleep 0.1; done
    dir=$KOKER_ROOT/containers/$id
    # At most 10 KiB each, plus the end of the line under way at the rotation.
    [ "$(stat -c %s "$dir/container.log")" -le 10250 ]
    [ "$(stat -c %s "$dir/container.log.1")" -le 10250 ]
    [ ! -e "$dir/container.log.2" ]
    run_koker 0 koker-logs "$id"
    [[ $output == *"line 2999" ]]
    # What is kept is the end of the output, in order, with no gap.
    first=$(head -n 1 <<<"$output" | cut -d' ' -f2)
    # both files, the rotated one first (how much each holds depends on when it rotated)
    assert_equal "$(cat "$dir/container.log.1" "$dir/container.log")" "$output"
    assert_equal "$(seq "$first" 2999 | sed 's/^/line /')" "$output"
    assert_equal 10240 "$(koker-inspect "$id" | jq -r '.[0].HostConfig.LogConfig.Config["max-size"]')"
}

@test "koker-run --log-opt: bad options are usage errors" {
    run_koker 125 koker-run --log-opt max-size=10k --network none one true
    assert_stderr_match "applies to detached containers"
    run_koker 125 koker-run -d --log-opt max-file=3 --network none one true
    assert_stderr_match "max-file needs max-size"
    run_koker 125 koker-run -d --log-opt compress=true --network none one true
    assert_stderr_match "unknown --log-opt compress=true"
    run_koker 125 koker-run -d --log-opt max-size=lots --network none one true
    assert_stderr_match "invalid --log-opt max-size=lots"
}

@test "image configs with wrongly typed fields are refused, naming the field" {
    bad_config() { # NAME JSON MESSAGE: pulling that config fails with MESSAGE
        layout_with_config "$1" "$2"
        run_koker 125 koker-pull --tag "$1" "oci:$BATS_TEST_TMPDIR/img-$1:latest"
        assert_stderr_match "$3"
    }
    bad_config user-number '{"User": 123}' 'invalid image config: "config.User" is a number, not a string'
    bad_config env-string '{"Env": "PATH=/bin"}' '"config.Env" is a string, not an array of strings'
    bad_config cmd-string '{"Cmd": "echo x"}' '"config.Cmd" is a string, not an array of strings'
    bad_config cmd-nul '{"Cmd": ["echo", "a\u0000b"]}' '"config.Cmd" holds a NUL byte'
    bad_config env-nul '{"Env": ["A=b\u0000c"]}' '"config.Env" holds a NUL byte'
    run koker-images -q
    assert_equal "" "$output" # nothing was stored
}

@test "koker-run warns when the image was made for another platform" {
    layout_with_config foreign '{"Cmd": ["true"]}' --arch arm64
    koker-pull -q --tag foreign "oci:$BATS_TEST_TMPDIR/img-foreign:latest" >/dev/null
    run_koker 0 koker-run --rm --network none foreign
    assert_stderr_match "the image's platform \(linux/arm64\) does not match the host's \(linux/"
}

@test "koker-run: -v HOST:/ and a --hostname with a newline are refused" {
    run_koker 125 koker-run --network none -v /tmp:/ one true
    assert_stderr_match "the destination can't be '/'"
    run_koker 125 koker-run --network none -v /tmp:/. one true
    assert_stderr_match "the destination can't be '/'"
    run_koker 125 koker-run --network none --hostname $'web\n6.6.6.6 evil' one true
    assert_stderr_match "invalid hostname"
}

@test "a corrupt record: ps -a lists the others with a warning; rm -f removes it" {
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    good=$(koker-run -d --network none one true)
    bad=$(koker-run -d --name broken --network none one true)
    for _ in $(seq 50); do [ "$(state "$bad" Status)" = exited ] && break; sleep 0.1; done
    echo '{"Id": ' >"$KOKER_ROOT/containers/$bad/config.json"
    run_koker 0 koker-ps -a
    assert_match "${good:0:12}"
    assert_stderr_match "skipping container ${bad:0:12}: malformed JSON in $KOKER_ROOT/containers/$bad/config.json"
    run_koker 125 koker-rm broken
    assert_stderr_match "koker-rm -f removes"
    run_koker 0 koker-rm -f broken
    [ ! -e "$KOKER_ROOT/containers/$bad" ]
    [ ! -e "$KOKER_ROOT/names/broken" ]
    run_koker 0 koker-ps -a
    assert_equal "" "$stderr"
}

@test "an image whose /etc/passwd is over 4 MiB: the error names the file" {
    mkdir -p "$BATS_TEST_TMPDIR/big/etc"
    head -c 5000000 /dev/zero | tr '\0' 'x' >"$BATS_TEST_TMPDIR/big/etc/passwd"
    mkimage "$BATS_TEST_TMPDIR/img-big" latest --layer-dir "$KOKER_TEST_FIXTURES/rootfs" \
        --layer-dir "$BATS_TEST_TMPDIR/big" --config '{"User": "nobody"}' >/dev/null
    koker-pull -q --tag big "oci:$BATS_TEST_TMPDIR/img-big:latest" >/dev/null
    run_koker 125 koker-run --rm --network none big true
    assert_stderr_match "unable to read the container's /etc/passwd: more than 4194304 bytes"
}

@test "koker-pull: a registry that never answers is named while waiting, and --stall-timeout shortens it" {
    port=$(koker_free_port)
    # Accepts connections and never says a word (a black hole).
    "$KOKER_TEST_PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True: held.append(s.accept()[0])' "$port" &
    echo $! >>"$BATS_TEST_TMPDIR/pids"
    sleep 0.3
    start=$(date +%s)
    run_koker 125 koker-pull --stall-timeout 2 "127.0.0.1:$port/koker/one"
    [ $(($(date +%s) - start)) -lt 40 ]
    assert_stderr_match "waiting for 127.0.0.1:$port: no data for 1 s"
    assert_stderr_match "unable to pull"
    run_koker 125 koker-pull --stall-timeout 0 one
    assert_stderr_match "invalid --stall-timeout"
}
