#!/usr/bin/env bats
# koker-oci as runc's clients call it: run, create/start/state/kill/delete, the state JSON,
# runc's wording for the states clients match, the JSON log, descriptors, namespaces by path.
load helpers

setup() {
    koker_setup
    requires root
    OCI=(koker-oci --root "$BATS_TEST_TMPDIR/oci")
    BUNDLE=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$BUNDLE"
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$BUNDLE/rootfs"
    koker-oci spec --bundle "$BUNDLE"
}

teardown() {
    local id
    for id in $("${OCI[@]}" list -q 2>/dev/null); do
        "${OCI[@]}" delete --force "$id" || echo "# teardown: delete $id failed" >&2
    done
    koker_teardown
}

# set_process ARGS_JSON [TERMINAL]: the bundle's process.args (and terminal, default false).
set_process() {
    jq --argjson a "$1" --argjson t "${2:-false}" '.process.args = $a | .process.terminal = $t' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new"
    mv "$BUNDLE/config.new" "$BUNDLE/config.json"
}

# create ARGS...: koker-oci create, its output in files: the init keeps the descriptors it was
# given (they are the container's stdio, as conmon's pipes are), so $(...) would wait for it.
create() {
    "${OCI[@]}" create "$@" </dev/null >"$BATS_TEST_TMPDIR/create.out" 2>"$BATS_TEST_TMPDIR/create.err"
}

status_of() { # ID: the status field of koker-oci state
    "${OCI[@]}" state "$1" | jq -r .status
}

@test "koker-oci run: the command's output and exit code; 127 for a missing command" {
    set_process '["sh", "-c", "echo hello from $(hostname); exit 3"]'
    run_koker 3 "${OCI[@]}" run --bundle "$BUNDLE" r1
    assert_equal "hello from runc" "$output"
    set_process '["true"]'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" r2
    set_process '["no-such-command"]'
    run_koker 127 "${OCI[@]}" run --bundle "$BUNDLE" r3
    assert_stderr_match 'exec: "no-such-command": executable file not found in \$PATH'
    run_koker 0 "${OCI[@]}" list -q
    assert_equal "" "$output" # run deletes what it made
}

@test "koker-oci create/start: created until start, running, stopped; state JSON and pid file" {
    set_process '["sleep", "100"]'
    create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1
    assert_equal "" "$(cat "$BATS_TEST_TMPDIR/create.out" "$BATS_TEST_TMPDIR/create.err")"
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    [[ $pid =~ ^[0-9]+$ ]]
    run_koker 0 "${OCI[@]}" state c1
    assert_equal "" "$stderr"
    assert_equal created "$(jq -r .status <<<"$output")"
    assert_equal "$pid" "$(jq -r .pid <<<"$output")"
    assert_equal "$BUNDLE" "$(jq -r .bundle <<<"$output")"
    [[ $(jq -r .created <<<"$output") =~ ^2[0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
    # the init waits before exec: still koker-oci's code, not sleep
    [ "$(readlink "/proc/$pid/exe")" != "$(readlink -f "$BUNDLE/rootfs/bin/busybox")" ]
    run_koker 0 "${OCI[@]}" start c1
    assert_equal running "$(status_of c1)"
    run_koker 1 "${OCI[@]}" delete c1
    assert_stderr_match "cannot delete container c1 that is not stopped: running"
    run_koker 0 "${OCI[@]}" kill c1 KILL
    for _ in $(seq 50); do [ "$(status_of c1)" = stopped ] && break; sleep 0.1; done
    assert_equal stopped "$(status_of c1)"
    assert_equal 0 "$("${OCI[@]}" state c1 | jq -r .pid)"
    run_koker 1 "${OCI[@]}" start c1
    assert_stderr_match "cannot start a container that has stopped"
    run_koker 1 "${OCI[@]}" kill c1 TERM
    assert_stderr_match "container not running"
    run_koker 0 "${OCI[@]}" delete c1
    assert_equal 0 "$(koker-cg ls | grep -c oci-c1 || true)"
}

@test "koker-oci: unknown containers, runc's wording, and delete --force of one is fine" {
    run_koker 1 "${OCI[@]}" state nope
    assert_stderr_match "container does not exist"
    run_koker 1 "${OCI[@]}" start nope
    assert_stderr_match "container does not exist"
    run_koker 0 "${OCI[@]}" delete --force nope
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" --no-such-flag x
    assert_stderr_match "flag provided but not defined: -no-such-flag"
    set_process '["sleep", "100"]'
    create --bundle="$BUNDLE" dup
    run create --bundle "$BUNDLE" dup
    assert_equal 1 "$status"
    [[ $(cat "$BATS_TEST_TMPDIR/create.err") == *"container with id exists: dup"* ]]
}

@test "koker-oci: --log-format json writes one error object a failure; stderr stays empty on success" {
    log=$BATS_TEST_TMPDIR/log.json
    run_koker 1 "${OCI[@]}" --log "$log" --log-format json state nope
    assert_equal 1 "$(wc -l <"$log")"
    assert_equal error "$(jq -r .level "$log")"
    assert_equal "container does not exist" "$(jq -r .msg "$log")"
    [[ $(jq -r .time "$log") =~ ^2[0-9]{3}-.*Z$ ]]
    set_process '["sleep", "100"]'
    "${OCI[@]}" --log "$log" --log-format=json create --bundle "$BUNDLE" j1 </dev/null \
        >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
    assert_equal "" "$(cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err")"
    assert_equal 1 "$(wc -l <"$log")"
}

@test "koker-oci kill --all, pause and resume, ps --format json" {
    set_process '["sh", "-c", "sleep 100 & sleep 100 & wait"]'
    create --bundle "$BUNDLE" k1
    run_koker 0 "${OCI[@]}" start k1
    for _ in $(seq 50); do [ "$("${OCI[@]}" ps --format json k1 | jq length)" -ge 3 ] && break; sleep 0.1; done
    run_koker 0 "${OCI[@]}" ps --format json k1
    [ "$(jq length <<<"$output")" -ge 3 ]
    run_koker 0 "${OCI[@]}" pause k1
    assert_equal paused "$(status_of k1)"
    run_koker 0 "${OCI[@]}" resume k1
    assert_equal running "$(status_of k1)"
    run_koker 0 "${OCI[@]}" pause k1
    run_koker 0 "${OCI[@]}" kill --all k1 9 # a frozen group is thawed first
    for _ in $(seq 50); do [ "$(status_of k1)" = stopped ] && break; sleep 0.1; done
    assert_equal stopped "$(status_of k1)"
    run_koker 0 "${OCI[@]}" delete k1
}

@test "koker-oci: only the preserved descriptors reach the container" {
    set_process '["ls", "/proc/self/fd"]'
    # fd 3 leaked by the caller, as the containerd shim does; fd 4 handed on with --preserve-fds
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" f1 3</dev/null
    assert_equal $'0\n1\n2\n3' "$output" # 3: the directory ls reads
    exec 4</dev/null
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" --preserve-fds 1 f2 3</dev/null
    exec 4<&-
    assert_equal $'0\n1\n2\n3\n4' "$output"
}

@test "koker-oci: a namespace given by path is joined" {
    unshare --net sleep 100 &
    holder=$!
    echo "$holder" >>"$BATS_TEST_TMPDIR/pids"
    sleep 0.2
    jq --arg p "/proc/$holder/ns/net" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    set_process '["readlink", "/proc/self/ns/net"]'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" n1
    assert_equal "$(readlink "/proc/$holder/ns/net")" "$output"
}

@test "koker-oci spec writes runc's default config once; features is JSON" {
    run_koker 1 koker-oci spec --bundle "$BUNDLE"
    assert_stderr_match "exists"
    run_koker 0 koker-oci features
    assert_equal 1.0.2 "$(jq -r .ociVersionMax <<<"$output")"
}

@test "koker-oci: a bad flag exits 1 with runc's wording" {
    run_koker 1 koker-oci --no-such-flag
    assert_stderr_match "flag provided but not defined: -no-such-flag"
    run_koker 1 koker-oci frobnicate
    assert_stderr_match "unknown command frobnicate"
}
