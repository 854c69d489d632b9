#!/usr/bin/env bats
# koker-exec: commands inside running containers, with the container's confinement.
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag three "oci:$KOKER_TEST_FIXTURES/three:latest" >/dev/null
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    CID=$(koker-run -d --name box --hostname boxhost --network none -e FROMRUN=1 one sleep 300)
}

teardown() { koker_teardown; }

@test "koker-exec: shares the container's hostname, PID namespace and cgroups" {
    run_koker 0 koker-exec box hostname
    assert_equal boxhost "$output"
    run_koker 0 koker-exec box ps -o pid,comm
    assert_match "1 sleep"
    run_koker 0 koker-exec box cat /proc/self/cgroup
    assert_match "pids:/koker/$CID"
    assert_match "memory:/koker/$CID"
    # the command joins the cgroup; koker-exec, waiting outside, does not (polled: a loaded
    # host may take a while to start it)
    koker-exec box sleep 60 &
    exec_pid=$!
    koker_cleanup_later pid "$exec_pid"
    for _ in $(seq 100); do
        procs=$(cat /sys/fs/cgroup/pids/koker/"$CID"/cgroup.procs 2>/dev/null || cat /sys/fs/cgroup/koker/"$CID"/cgroup.procs)
        [[ $(wc -w <<<"$procs") -ge 2 ]] && break
        sleep 0.1
    done
    comms=$(for p in $procs; do cat "/proc/$p/comm"; done | sort | tr '\n' ' ')
    kill "$exec_pid"
    wait "$exec_pid" || true
    assert_equal "sleep sleep " "$comms"
    # it starts in the unified group and moves itself into the v1 ones: no cgroup.procs write
    run_koker 0 koker-exec -D box true
    assert_stderr_match "write /sys/fs/cgroup/pids/koker/$CID/tasks 0 "
    refute_stderr_match "cgroup.procs"
    run_koker 0 koker-exec "${CID:0:12}" readlink /proc/self/ns/mnt
    assert_equal "$(readlink "/proc/$(koker-inspect box | jq -r '.[0].State.Pid')/ns/mnt")" "$output"
}

@test "koker-exec: the container's capability masks and seccomp mode, and no leaked descriptors" {
    run_koker 0 koker-exec box cat /proc/self/status
    assert_match $'CapEff:\t00000000800405fb'
    assert_match $'CapBnd:\t00000000800405fb'
    assert_match $'CapInh:\t0000000000000000'
    assert_match $'Seccomp:\t2'
    assert_match $'NoNewPrivs:\t0'
    # no signal ignored, even those the caller ignored (make ignores 32 and 33)
    assert_match $'SigIgn:\t0000000000000000'
    run_koker 0 koker-exec box ls /proc/self/fd
    assert_equal $'0\n1\n2\n3' "$output"
    run_koker 1 koker-exec box unshare -m true
    id=$(koker-run -d --cap-drop ALL --security-opt no-new-privileges --network none one sleep 300)
    run_koker 0 koker-exec "$id" cat /proc/self/status
    assert_match $'CapBnd:\t0000000000000000'
    assert_match $'NoNewPrivs:\t1'
}

@test "koker-exec: environment, -e, -w and -u (names from the image's files)" {
    run_koker 0 koker-exec -e EXTRA=2 -e FROMRUN=override box sh -c 'echo $FROMRUN $EXTRA $HOSTNAME; pwd'
    assert_equal $'override 2 boxhost\n/' "$output"
    run_koker 0 koker-exec -w /tmp box pwd
    assert_equal /tmp "$output"
    id=$(koker-run -d --network none three 'sleep 300')
    run_koker 0 koker-exec "$id" sh -c 'id -un; pwd; echo $FOO'
    assert_equal $'koker\n/work\nbar' "$output"
    run_koker 0 koker-exec -u root "$id" id -u
    assert_equal 0 "$output"
    run_koker 0 koker-exec -u 1000:2000 "$id" id
    assert_match "uid=1000\(koker\) gid=2000\(extra\)"
    run_koker 125 koker-exec -u nosuch "$id" true
}

@test "koker-exec: stdin with -i, a pty with -t, and -d" {
    run bash -c "echo fed | koker-exec -i box cat"
    assert_equal fed "$output"
    run bash -c "echo fed | koker-exec box cat"
    assert_equal "" "$output"
    command -v script >/dev/null || skip "script(1) is not installed"
    run script -qec "stty cols 77 rows 22; koker-exec -it box sh -c 'tty; stty size'" /dev/null
    [[ $output == *"/dev/pts/"* ]]
    [[ $output == *"22 77"* ]]
    run_koker 0 koker-exec -d box sh -c 'echo detached > /tmp/d'
    [ -z "$output" ]
    sleep 0.3
    run_koker 0 koker-exec box cat /tmp/d
    assert_equal detached "$output"
}

@test "koker-exec: exit codes: the command's, 126, 127, and 125 for unknown or stopped containers" {
    run_koker 0 koker-exec box true
    run_koker 42 koker-exec box sh -c 'exit 42'
    run_koker 127 koker-exec box no-such-command
    assert_stderr_match 'executable file not found'
    run_koker 126 koker-exec box /etc/passwd
    run_koker 125 koker-exec nosuchcontainer true
    assert_stderr_match "no such container"
    stopped=$(koker-run -d --network none one true)
    for _ in $(seq 50); do [ "$(koker-inspect "$stopped" | jq -r '.[0].State.Status')" = exited ] && break; sleep 0.1; done
    groups=$(koker-cg ls | sort)
    run_koker 125 koker-exec "$stopped" true
    assert_stderr_match "is not running"
    assert_equal "$groups" "$(koker-cg ls | sort)"
    run_koker 125 koker-exec box
    assert_stderr_match "COMMAND is missing"
}

@test "koker-exec: the wrapper's exec verbs" {
    run_koker 0 koker exec box echo via-shortcut
    assert_equal via-shortcut "$output"
    run_koker 0 koker container exec box echo via-container
    assert_equal via-container "$output"
}
