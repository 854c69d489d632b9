#!/usr/bin/env bats
# podman 4.3 (through conmon) and containerd 1.6 (through its runc shim v2) driving koker-oci:
# each engine runs with its own storage, state and sockets under the test's temp dir, and the
# fixture busybox image imported from its OCI archive. Every container, task, daemon, shim,
# cgroup and directory an engine made is removed in teardown, even after a failure.
load helpers

setup() {
    koker_setup
    requires root
    [[ -f ${KOKER_TEST_FIXTURES:-}/one-oci.tar ]] ||
        skip "needs the fixture one-oci.tar (KOKER_TEST_NO_REGISTRY=1 builds no fixtures)"
    RUNTIME=$KOKER_BINDIR/koker-oci
    PODMAN=()
    CTR=()
    # The engines' cgroups (podman's libpod_parent, containerd's /NAMESPACE) that exist now
    # are not this test's to remove.
    _cgroups_before=$(_engine_cgroups)
}

teardown() {
    ((${#PODMAN[@]})) && podman_teardown
    ((${#CTR[@]})) && containerd_teardown
    _remove_new_cgroups
    local dir
    while read -r dir; do # podman mounts /run/netns on itself (shared)
        mountpoint -q "$dir" && umount -l "$dir"
        rm -rf --one-file-system "$dir" || echo "# teardown: cannot remove $dir" >&2
    done < <(cat "$BATS_TEST_TMPDIR/made-dirs" 2>/dev/null)
    koker_teardown
}

# The cgroup directories podman and containerd (as NS) make, in every hierarchy.
_engine_cgroups() {
    local d
    for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent \
        ${CTR_NS:+/sys/fs/cgroup/$CTR_NS /sys/fs/cgroup/*/$CTR_NS}; do
        [[ -d $d ]] && echo "$d"
    done
    return 0
}

# Removes the engines' cgroup trees this test made (deepest first), after killing what is left.
_remove_new_cgroups() {
    local top dir
    while read -r top; do
        [[ -n $top ]] || continue
        grep -qxF -- "$top" <<<"$_cgroups_before" && continue
        while read -r dir; do
            xargs -r kill -KILL <"$dir/cgroup.procs" 2>/dev/null || true
            rmdir "$dir" 2>/dev/null || echo "# teardown: cannot rmdir cgroup $dir" >&2
        done < <(find "$top" -depth -type d)
    done < <(_engine_cgroups)
}

# ---------------------------------------------------------------- podman

# podman_setup: podman with its storage, run dirs, events and network config under the test's
# temp dir, koker-oci as its runtime, and the fixture image pulled from its OCI archive.
podman_setup() {
    command -v podman >/dev/null || skip "podman is not installed (make deps-test)"
    PD=$BATS_TEST_TMPDIR/podman
    mkdir -p "$PD/root" "$PD/runroot" "$PD/tmp" "$PD/net"
    # runtime_supports_json: only then does conmon pass --log-format json --log to koker-oci.
    # default_ulimits: the host's limits are higher than podman's default for the container.
    cat >"$PD/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
runtime_supports_json = ["koker-oci", "crun", "runc"]
tmp_dir = "$PD/tmp"
[network]
network_config_dir = "$PD/net"
EOF
    cat >"$PD/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PD/root"
runroot = "$PD/runroot"
EOF
    export CONTAINERS_CONF=$PD/containers.conf CONTAINERS_STORAGE_CONF=$PD/storage.conf
    [[ -e /run/koker-oci ]] || touch "$BATS_TEST_TMPDIR/made-koker-oci-root"
    PODMAN=("$(command -v podman)" --root "$PD/root" --runroot "$PD/runroot" --storage-driver vfs
        --runtime "$RUNTIME")
    run_koker 0 "${PODMAN[@]}" pull -q "oci-archive:$KOKER_TEST_FIXTURES/one-oci.tar"
    IMAGE=${lines[-1]}
    [[ $IMAGE =~ ^[0-9a-f]{64}$ ]]
}

podman_teardown() {
    timeout 60 "${PODMAN[@]}" rm --all --force --time 0 >/dev/null 2>&1 ||
        echo "# teardown: podman rm --all --force failed" >&2
    # What koker-oci keeps of podman's containers (conmon passes no --root: the default).
    local id
    for id in $(timeout 20 "$RUNTIME" list -q 2>/dev/null); do
        [[ -d $PD/root/vfs-containers/$id ]] && "$RUNTIME" delete --force "$id"
    done
    # koker-oci's default root, if this test made it and nothing else is in it
    [[ -f $BATS_TEST_TMPDIR/made-koker-oci-root ]] && rmdir /run/koker-oci 2>/dev/null
    _koker_umount_below "$PD"
    chmod -R u+w "$PD" 2>/dev/null
    rm -rf --one-file-system "$PD" || echo "# teardown: cannot remove $PD" >&2
}

# prun [EXPECTED_RC] ARGS...: podman run --rm --network none ARGS (after the image: the command).
prun() {
    local rc=0
    [[ $1 =~ ^[0-9]+$ ]] && rc=$1 && shift
    run_koker "$rc" "${PODMAN[@]}" run --rm --network none "$@"
}

@test "podman run: exit codes 0, 3 and 127 through koker-oci" {
    podman_setup
    prun 0 "$IMAGE" true
    prun 3 "$IMAGE" sh -c 'echo out; echo err >&2; exit 3'
    assert_equal out "$output"
    assert_equal err "$stderr"
    # koker-oci create fails with runc's words, which podman maps to 127
    prun 127 "$IMAGE" nonexistent
    assert_stderr_match 'exec: "nonexistent": executable file not found in \$PATH'
    assert_stderr_match "OCI runtime attempted to invoke a command that was not found"
    prun 127 "$IMAGE" /bin/nonexistent
    assert_stderr_match "no such file or directory"
    run_koker 0 "${PODMAN[@]}" ps -a -q
    assert_equal "" "$output"
}

@test "podman run: -e, -w, -u, the container's view of itself" {
    podman_setup
    prun 0 -e FOO=bar "$IMAGE" sh -c 'echo "$FOO"'
    assert_equal bar "$output"
    prun 0 -w /tmp "$IMAGE" pwd
    assert_equal /tmp "$output"
    prun 0 -u 1000 "$IMAGE" id -u
    assert_equal 1000 "$output"
    prun 0 --name hn1 --hostname box1 "$IMAGE" hostname
    assert_equal box1 "$output"
    # five new namespaces: not the host's pid namespace
    prun 0 "$IMAGE" sh -c 'echo $$'
    assert_equal 1 "$output"
}

@test "podman run -d, podman stop (busybox ignores TERM: podman escalates), podman logs" {
    podman_setup
    run_koker 0 "${PODMAN[@]}" run -d --network none --name s1 "$IMAGE" sleep 100
    run_koker 0 "${PODMAN[@]}" inspect -f '{{.State.Status}}' s1
    assert_equal running "$output"
    run_koker 0 "${PODMAN[@]}" stop -t 1 s1
    run_koker 0 "${PODMAN[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' s1
    assert_equal "exited 137" "$output"
    run_koker 0 "${PODMAN[@]}" rm s1

    run_koker 0 "${PODMAN[@]}" run -d --network none --name l1 "$IMAGE" \
        sh -c 'echo to stdout; echo to stderr >&2; exit 5'
    run_koker 0 "${PODMAN[@]}" wait l1
    assert_equal 5 "$output"
    run_koker 0 "${PODMAN[@]}" logs l1
    assert_equal "to stdout" "$output"
    assert_equal "to stderr" "$stderr"
    run_koker 0 "${PODMAN[@]}" rm l1
}

@test "podman run -it: the command gets a pty (script -qec)" {
    podman_setup
    command -v script >/dev/null || skip "script (util-linux) is not installed"
    local cmd
    # The pause first: podman attaches to conmon while the container starts, and what a
    # command prints before that only reaches the log (podman's own race, runc's too).
    cmd=$(printf '%q ' "${PODMAN[@]}" run -it --rm --network none "$IMAGE" \
        sh -c 'sleep 0.5; tty; [ -t 0 ] && [ -t 1 ] && exit 4')
    run_koker 4 "$(command -v script)" -qec "$cmd" /dev/null
    assert_match "/dev/pts/0"
}

@test "podman exec: output, exit codes 0, 3 and 127, -e, -u" {
    podman_setup
    run_koker 0 "${PODMAN[@]}" run -d --network none --name e1 "$IMAGE" sleep 100
    run_koker 0 "${PODMAN[@]}" exec e1 sh -c 'echo in $(hostname)'
    assert_match "^in "
    run_koker 3 "${PODMAN[@]}" exec e1 sh -c 'exit 3'
    run_koker 127 "${PODMAN[@]}" exec e1 no-such-command
    run_koker 0 "${PODMAN[@]}" exec -e X=1 -u 1000 e1 sh -c 'echo $X $(id -u)'
    assert_equal "1 1000" "$output"
    run_koker 0 "${PODMAN[@]}" rm -f e1
}

@test "podman run with podman's default network (CNI's bridge, in a network namespace of the test's)" {
    podman_setup
    requires netns
    [[ -x /usr/lib/cni/bridge || -x /usr/libexec/cni/bridge || -x /opt/cni/bin/bridge ]] ||
        skip "podman's default network needs the CNI plugins (containernetworking-plugins)"
    # The bridge cni-podman0 and its iptables rules are made in a network namespace that goes
    # with the command; CNI's IP allocations and podman's netns files land on the host.
    local dir
    for dir in /var/lib/cni /run/netns; do
        [[ -e $dir ]] || echo "$dir" >>"$BATS_TEST_TMPDIR/made-dirs"
    done
    run_koker 0 "$(command -v unshare)" --net "${PODMAN[@]}" run --rm "$IMAGE" \
        sh -c 'ip -4 -o addr show eth0; ping -c 1 -W 5 "$(ip route | awk "/^default/ { print \$3 }")"'
    assert_match "eth0 +inet 10\.88\."
    assert_match "1 packets received"
}

# ---------------------------------------------------------------- containerd

# containerd_setup: a containerd of the test's own (root, state, sockets under the temp dir,
# no CRI), the fixture image imported as koker/one:latest in namespace CTR_NS.
containerd_setup() {
    if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
        skip "containerd is not installed (make deps-test)"
    fi
    CD=$BATS_TEST_TMPDIR/containerd
    CTR_NS=koker-test-$$
    _cgroups_before=$(_engine_cgroups)
    [[ -e /run/containerd ]] || touch "$BATS_TEST_TMPDIR/made-run-containerd"
    mkdir -p "$CD"
    cat >"$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD/containerd.sock"
[ttrpc]
  address = "$CD/containerd.sock.ttrpc"
[debug]
  address = "$CD/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"
EOF
    containerd --config "$CD/config.toml" >"$CD/log" 2>&1 &
    CD_PID=$!
    koker_cleanup_later pid "$CD_PID"
    CTR=("$(command -v ctr)" --address "$CD/containerd.sock" --namespace "$CTR_NS")
    local i
    for ((i = 0; i < 100; i++)); do
        "${CTR[@]}" version >/dev/null 2>&1 && break
        kill -0 "$CD_PID" 2>/dev/null || break
        sleep 0.1
    done
    run_koker 0 "${CTR[@]}" images import --base-name koker/one "$KOKER_TEST_FIXTURES/one-oci.tar"
    CTR_IMAGE=koker/one:latest
}

containerd_teardown() {
    local id
    # Tasks and containers, while containerd still runs; then containerd.
    for id in $(timeout 10 "${CTR[@]}" task ls -q 2>/dev/null); do
        timeout 10 "${CTR[@]}" task kill -a -s KILL "$id" >/dev/null 2>&1
        timeout 10 "${CTR[@]}" task delete -f "$id" >/dev/null 2>&1 ||
            echo "# teardown: ctr task delete $id failed" >&2
    done
    for id in $(timeout 10 "${CTR[@]}" containers ls -q 2>/dev/null); do
        timeout 10 "${CTR[@]}" containers delete "$id" >/dev/null 2>&1 ||
            echo "# teardown: ctr containers delete $id failed" >&2
    done
    if kill -TERM "$CD_PID" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    # Shims of this namespace that outlived it, and what koker-oci kept under the shim's root.
    local pid
    for pid in $(pgrep -f -- "containerd-shim-runc-v2 -namespace $CTR_NS " || true); do
        kill -KILL "$pid" 2>/dev/null && echo "# teardown: killed shim $pid" >&2
    done
    local root=/run/containerd/runc/$CTR_NS
    for id in $("$RUNTIME" --root "$root" list -q 2>/dev/null); do
        "$RUNTIME" --root "$root" delete --force "$id" || echo "# teardown: delete $id failed" >&2
    done
    rm -rf "$root"
    _koker_umount_below "$CD" "/run/containerd/io.containerd.runtime.v2.task/$CTR_NS"
    rm -rf "/run/containerd/io.containerd.runtime.v2.task/$CTR_NS"
    if [[ -f $BATS_TEST_TMPDIR/made-run-containerd ]]; then
        find /run/containerd -depth -type d -empty -delete 2>/dev/null
        [[ -e /run/containerd ]] && echo "# teardown: /run/containerd is left: $(ls -R /run/containerd)" >&2
    fi
    rm -rf --one-file-system "$CD" || echo "# teardown: cannot remove $CD" >&2
}

# crun [EXPECTED_RC] ARGS...: ctr run --rm with koker-oci as the shim's runc binary.
crun() {
    local rc=0
    [[ $1 =~ ^[0-9]+$ ]] && rc=$1 && shift
    run_koker "$rc" "${CTR[@]}" run --rm --runc-binary "$RUNTIME" "$@" </dev/null
}

task_status() { # ID: the task's status as ctr task ls shows it
    "${CTR[@]}" task ls | awk -v id="$1" '$1 == id { print $3 }'
}

wait_status() { # ID STATUS
    for _ in $(seq 50); do
        [[ $(task_status "$1") == "$2" ]] && return 0
        sleep 0.1
    done
    assert_equal "$2" "$(task_status "$1")" "task $1"
}

@test "ctr run --rm: output and exit codes 0 and 3; a missing command fails create" {
    containerd_setup
    crun 0 "$CTR_IMAGE" r0 true
    crun 3 "$CTR_IMAGE" r3 sh -c 'echo out; echo err >&2; exit 3'
    assert_equal out "$output"
    assert_equal err "$stderr"
    crun 1 "$CTR_IMAGE" r127 nonexistent
    assert_stderr_match "executable file not found"
    run_koker 0 "${CTR[@]}" containers ls -q
    assert_equal "" "$output"
}

@test "ctr run -d: task ps, pause, resume, kill, delete" {
    containerd_setup
    run_koker 0 "${CTR[@]}" run -d --runc-binary "$RUNTIME" "$CTR_IMAGE" d1 \
        sh -c 'trap "exit 7" TERM; sleep 100 & wait' </dev/null
    wait_status d1 RUNNING
    run_koker 0 "${CTR[@]}" task ps d1
    assert_equal 3 "${#lines[@]}" # the header, sh, sleep
    run_koker 0 "${CTR[@]}" task pause d1
    wait_status d1 PAUSED
    run_koker 0 "${CTR[@]}" task resume d1
    wait_status d1 RUNNING
    run_koker 0 "${CTR[@]}" task kill d1 # SIGTERM: the trap exits 7
    wait_status d1 STOPPED
    run_koker 0 "${CTR[@]}" task delete d1
    assert_stderr_match "exit code 7"
    run_koker 0 "${CTR[@]}" containers delete d1

    # kill --all with KILL, on a paused one
    run_koker 0 "${CTR[@]}" run -d --runc-binary "$RUNTIME" "$CTR_IMAGE" d2 sleep 100 </dev/null
    wait_status d2 RUNNING
    run_koker 0 "${CTR[@]}" task pause d2
    wait_status d2 PAUSED
    run_koker 0 "${CTR[@]}" task kill -a -s KILL d2
    wait_status d2 STOPPED
    run_koker 0 "${CTR[@]}" task delete d2
    run_koker 0 "${CTR[@]}" containers delete d2
    run_koker 0 "$RUNTIME" --root "/run/containerd/runc/$CTR_NS" list -q
    assert_equal "" "$output"
}

@test "ctr run -t: the task gets a pty through the console socket (script -qec)" {
    containerd_setup
    local cmd
    cmd=$(printf '%q ' "${CTR[@]}" run --rm -t --runc-binary "$RUNTIME" "$CTR_IMAGE" t1 \
        sh -c 'tty; [ -t 0 ] && [ -t 1 ] && exit 4')
    run_koker 4 "$(command -v script)" -qec "$cmd" /dev/null
    assert_match "/dev/pts/0"
    run_koker 0 "${CTR[@]}" containers ls -q
    assert_equal "" "$output"
}
