#!/usr/bin/env bats
# koker-oci's OCI hooks as a user writes them in a bundle's config.json: each kind at its point
# of the lifecycle with the state on stdin, failures that fail create or start and leave
# nothing behind, warnings for poststart and poststop, timeouts.
load helpers
load helpers.oci

setup() {
    koker_setup
    requires root
    oci_bundle
    ROOT=$BATS_TEST_TMPDIR/oci
    OUT=$BATS_TEST_TMPDIR/out
    mkdir -p "$OUT"
    # The hooks write into the root (startContainer runs in the container, after pivot_root).
    oci_config '.root.readonly = false | .process.terminal = false | .process.args = ["true"]'
    # A hook on the host: "record KIND" keeps its stdin in $OUT/KIND.json and appends KIND to
    # $OUT/order; OUT comes from the hook's env, which is all the hook gets.
    HOOK=$BATS_TEST_TMPDIR/record
    printf '#!/bin/sh\ncat >"$OUT/$1.json"\necho "$1" >>"$OUT/order"\n' >"$HOOK"
    chmod +x "$HOOK"
}

teardown() {
    oci_delete_all
    koker_teardown
}

# record KIND: the JSON of a hook that runs $HOOK for KIND.
record() {
    jq -nc --arg p "$HOOK" --arg k "$1" --arg o "$OUT" \
        '{path: $p, args: ["record", $k], env: ["PATH=/usr/bin:/bin", "OUT=" + $o]}'
}


wait_stopped() { # ID
    for _ in $(seq 50); do
        [ "$("${OCI[@]}" state "$1" | jq -r .status)" = stopped ] && return 0
        sleep 0.1
    done
    return 1
}

# no_trace_of ID: no state directory, no cgroup, not listed.
no_trace_of() {
    [ ! -e "$ROOT/$1" ]
    assert_equal "" "$("${OCI[@]}" list -q)"
    local leftover
    leftover=$(find /sys/fs/cgroup -maxdepth 3 -path "*/koker/oci-$1" 2>/dev/null)
    assert_equal "" "$leftover" "cgroups left behind"
}

@test "koker-oci hooks: each kind runs at its point with the state on stdin" {
    oci_config --argjson pre "$(record prestart)" --argjson cr "$(record createRuntime)" \
        --argjson cc "$(record createContainer)" --argjson ps "$(record poststart)" \
        --argjson pst "$(record poststop)" '.annotations = {"org.example.hook": "yes"} |
        .hooks = {prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
          startContainer: [{path: "/bin/sh", args: ["sh", "-c", "cat >/startContainer.json"]}],
          poststart: [$ps], poststop: [$pst]}'
    oci_detached create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" h1
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    assert_equal $'prestart\ncreateRuntime\ncreateContainer' "$(cat "$OUT/order")"
    [ ! -e "$BUNDLE/rootfs/startContainer.json" ] # not before start
    run_koker 0 "${OCI[@]}" start h1
    assert_equal "" "$stderr"
    wait_stopped h1
    run_koker 0 "${OCI[@]}" delete h1
    assert_equal $'prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop' "$(cat "$OUT/order")"
    cp "$BUNDLE/rootfs/startContainer.json" "$OUT/startContainer.json"
    # The pid as the hook's namespace sees it: the host's, or 1 in the container's.
    local point kind st pid_seen expected
    for point in prestart:creating:$pid createRuntime:creating:$pid createContainer:creating:1 \
        startContainer:created:1 poststart:running:$pid poststop:stopped:0; do
        IFS=: read -r kind st pid_seen <<<"$point"
        expected=$(jq -nc --arg s "$st" --argjson p "$pid_seen" --arg b "$BUNDLE" \
            '{status: $s, id: "h1", pid: $p, bundle: $b, annotations: {"org.example.hook": "yes"}}')
        assert_equal "$expected" \
            "$(jq -c '{status, id, pid, bundle, annotations}' "$OUT/$kind.json")" "$kind"
    done
}

@test "koker-oci create: a failing prestart hook fails create in one line and leaves nothing" {
    oci_config --argjson pst "$(record poststop)" --arg out "$OUT" '.hooks = {
        prestart: [{path: "/bin/sh", args: ["sh", "-c",
          "cat >\"$0/state.json\"; echo no network for you >&2; exit 3", $out]}],
        poststop: [$pst]}'
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" f1
    assert_equal "koker-oci: fatal: unable to run prestart hook /bin/sh: exit status 3: no network for you" "$stderr"
    assert_equal "" "$output"
    pid=$(jq .pid "$OUT/state.json")
    [[ $pid =~ ^[1-9][0-9]*$ ]]
    [ ! -d "/proc/$pid" ] # the init is gone
    no_trace_of f1
    # runtime-spec "Lifecycle": a failed create continues at the poststop hooks
    assert_equal stopped "$(jq -r .status "$OUT/poststop.json")"
}

@test "koker-oci create: a hook past its timeout is killed, and create fails naming it" {
    oci_config --arg pids "$BATS_TEST_TMPDIR/pids" '.hooks.createRuntime = [{path: "/bin/sh",
        args: ["sh", "-c", "echo $$ >>\"$0\"; exec sleep 60", $pids], timeout: 1}]'
    SECONDS=0
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" t1
    [ "$SECONDS" -lt 10 ]
    assert_equal "koker-oci: fatal: unable to run createRuntime hook /bin/sh: timed out after 1 s" "$stderr"
    [ ! -d "/proc/$(cat "$BATS_TEST_TMPDIR/pids")" ] # the hook was killed
    no_trace_of t1
}

@test "koker-oci start: a failing startContainer hook fails start; a failing poststart warns" {
    oci_config '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "exit 4"]}]'
    oci_detached create --bundle "$BUNDLE" s1
    run_koker 1 "${OCI[@]}" start s1
    assert_equal "koker-oci: fatal: unable to run startContainer hook /bin/sh: exit status 4" "$stderr"
    wait_stopped s1
    run_koker 0 "${OCI[@]}" delete s1

    oci_config --argjson ps "$(record poststart)" '.process.args = ["sleep", "100"] |
        .hooks = {poststart: [{path: "/bin/false"}, $ps]}'
    oci_detached create --bundle "$BUNDLE" s2
    run_koker 0 "${OCI[@]}" start s2
    assert_equal "koker-oci: warning: unable to run poststart hook /bin/false: exit status 1" "$stderr"
    assert_equal running "$("${OCI[@]}" state s2 | jq -r .status)"
    assert_equal poststart "$(cat "$OUT/order")" # the next hook still ran
}

@test "koker-oci delete: poststop runs once the container is gone; a failure warns" {
    oci_config --arg root "$ROOT" --argjson pst "$(record poststop)" '.hooks.poststop = [
        {path: "/bin/sh", args: ["sh", "-c", "test ! -e \"$0/d1\" && touch \"$0.gone\"", $root]},
        {path: "/bin/false"}, $pst]'
    oci_detached create --bundle "$BUNDLE" d1
    # config.json changed after create affects nothing: the hooks were kept at create
    oci_config '.hooks.poststop = []'
    run_koker 0 "${OCI[@]}" start d1
    wait_stopped d1
    run_koker 0 "${OCI[@]}" delete d1
    assert_equal "koker-oci: warning: unable to run poststop hook /bin/false: exit status 1" "$stderr"
    [ -e "$ROOT.gone" ]
    assert_equal stopped "$(jq -r .status "$OUT/poststop.json")"
    no_trace_of d1
}

@test "koker-oci run: poststart once the command runs, poststop when run deletes" {
    oci_config --argjson ps "$(record poststart)" --argjson pst "$(record poststop)" \
        '.process.args = ["echo", "hello"] | .hooks = {poststart: [$ps], poststop: [$pst]}'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" r1
    assert_equal hello "$output"
    assert_equal $'poststart\npoststop' "$(cat "$OUT/order")"
    no_trace_of r1
}
