#!/usr/bin/env bats
# koker-oci as runc's clients call it: run, create/start/state/kill/delete, the state JSON,
# runc's wording for the states clients match, the JSON log, descriptors, namespaces by path.
load helpers
load helpers.oci

setup() {
    koker_setup
    requires root
    oci_bundle
}

teardown() {
    oci_delete_all
    koker_teardown
}

# set_process ARGS_JSON [TERMINAL]: the bundle's process.args (and terminal, default false).
set_process() {
    oci_config --argjson a "$1" --argjson t "${2:-false}" '.process.args = $a | .process.terminal = $t'
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
    oci_detached create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1
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
    # its group (the ID, under koker-oci's own group: runc's default path) is gone
    assert_equal "" "$(find /sys/fs/cgroup/pids /sys/fs/cgroup/memory -type d -name c1)"
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
    oci_detached create --bundle="$BUNDLE" dup
    run oci_detached create --bundle "$BUNDLE" dup
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
    oci_detached create --bundle "$BUNDLE" k1
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

@test "koker-oci: a pid namespace given by path holds the container's processes" {
    unshare --pid --fork sleep 100 &
    holder=$!
    echo "$holder" >>"$BATS_TEST_TMPDIR/pids"
    sleep 0.2
    ns=/proc/$holder/ns/pid_for_children
    jq --arg p "$ns" '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end)' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    set_process '["sh", "-c", "echo $$; readlink /proc/self/ns/pid"]'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" p1
    assert_equal "2" "${lines[0]}" # unshare's sleep is 1 there
    assert_equal "$(readlink "$ns")" "${lines[1]}"
}

@test "koker-oci: a new user namespace maps the container's root to the config's host ids" {
    jq '.linux.namespaces += [{"type": "user"}] | .root.readonly = false |
        .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
        .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    # The mapped root is no one on the host: the bundle must be reachable by all (as for runc),
    # and it writes where anyone may.
    local d=$BUNDLE
    while [[ $d != / ]]; do chmod o+x "$d" && d=$(dirname "$d"); done
    mkdir -p "$BUNDLE/rootfs/tmp" && chmod 1777 "$BUNDLE/rootfs/tmp"
    set_process '["sh", "-c", "id -u; cat /proc/self/uid_map; echo x >/dev/null && touch /tmp/made"]'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" u1
    assert_equal 0 "${lines[0]}"
    [[ ${lines[1]} =~ ^\ +0\ +100000\ +65536$ ]]
    assert_equal 100000 "$(stat -c %u "$BUNDLE/rootfs/tmp/made")" # root in there, not on the host
    jq '.linux.uidMappings = []' "$BUNDLE/config.json" >"$BUNDLE/config.new"
    mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    run_koker 1 "${OCI[@]}" run --bundle "$BUNDLE" u2
    assert_stderr_match "a new user namespace needs linux.uidMappings and linux.gidMappings"
}

@test "koker-oci: rootfsPropagation shared makes the container's / shared, unbindable refuses binds" {
    jq '.linux.rootfsPropagation = "shared" | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] |
        .process.capabilities.effective += ["CAP_SYS_ADMIN"] |
        .process.capabilities.permitted += ["CAP_SYS_ADMIN"]' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    local script='awk '\''$5 == "/" { print (/ shared:/ ? "shared" : "not") }'\'' /proc/self/mountinfo'
    set_process "$(jq -nc --arg s "$script" '["sh", "-c", $s]')"
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" s1
    assert_equal shared "$output"
    jq '.linux.rootfsPropagation = "unbindable"' "$BUNDLE/config.json" >"$BUNDLE/config.new"
    mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    set_process '["sh", "-c", "mount --bind / /mnt 2>&1 || echo refused"]'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" s2
    assert_match refused
}

@test "koker-oci: linux.devices get the config's mode, whatever the umask" {
    jq '.linux.devices = [{"path": "/dev/fuse2", "type": "c", "major": 10, "minor": 229,
        "fileMode": 432}, {"path": "/dev/pipe", "type": "p", "fileMode": 420}]' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    set_process '["stat", "-c", "%a %F", "/dev/fuse2", "/dev/pipe"]'
    run_koker 0 "${OCI[@]}" run --bundle "$BUNDLE" d1
    assert_equal $'660 character special file\n644 fifo' "$output"
}

# started NAME: a container running `sleep 100`, created and started.
started() {
    set_process '["sleep", "100"]'
    oci_detached create --bundle "$BUNDLE" "$1"
    "${OCI[@]}" start "$1"
}

@test "koker-oci exec: output, exit codes, -e, --cwd, --user; runc's wording for a missing command" {
    started e1
    run_koker 0 "${OCI[@]}" exec e1 sh -c 'echo hello from $(hostname)'
    assert_equal "hello from runc" "$output"
    run_koker 3 "${OCI[@]}" exec e1 sh -c 'exit 3'
    run_koker 0 "${OCI[@]}" exec -e GREETING=hi --env=TERM=dumb e1 sh -c 'echo $GREETING $TERM'
    assert_equal "hi dumb" "$output"
    run_koker 0 "${OCI[@]}" exec --cwd /etc e1 pwd
    assert_equal /etc "$output"
    run_koker 0 "${OCI[@]}" exec --user 1000:1000 e1 id
    assert_equal "uid=1000(koker) gid=1000(koker)" "$output" # no additionalGids
    run_koker 0 "${OCI[@]}" exec e1 sh -c 'grep ^CapEff /proc/self/status'
    assert_equal "CapEff:	0000000020000420" "$output" # runc's default spec: AUDIT_WRITE KILL NET_BIND_SERVICE
    # runc: the runtime's own failures exit 255, "exec failed: ..."; podman maps the wording
    # to 127
    run_koker 255 "${OCI[@]}" exec e1 no-such-command
    assert_stderr_match 'exec failed: unable to start container process: exec: "no-such-command": executable file not found in \$PATH'
    run_koker 255 "${OCI[@]}" exec --cwd /nope e1 true
    assert_stderr_match 'chdir to cwd \("/nope"\) set in config.json failed: No such file or directory'
    run_koker 255 "${OCI[@]}" exec e1
    assert_stderr_match "args must not be empty"
    assert_equal running "$(status_of e1)"
}

@test "koker-oci exec --process: a process.json as conmon and the containerd shim write one" {
    started e2
    jq -n '{terminal: false, args: ["sh", "-c", "echo $FOO; pwd; id -u; exit 4"], env: ["PATH=/bin:/usr/bin", "FOO=bar"],
            cwd: "/tmp", user: {uid: 1000, gid: 1000}, capabilities: {bounding: [], effective: [], permitted: []}}' \
        >"$BATS_TEST_TMPDIR/process.json"
    run_koker 4 "${OCI[@]}" exec --process "$BATS_TEST_TMPDIR/process.json" e2
    assert_equal $'bar\n/tmp\n1000' "$output"
    # the flags do not apply over a process.json (runc's rule)
    run_koker 4 "${OCI[@]}" exec --process="$BATS_TEST_TMPDIR/process.json" --cwd / e2
    assert_equal $'bar\n/tmp\n1000' "$output"
    echo '{"args": "sh"}' >"$BATS_TEST_TMPDIR/bad.json"
    run_koker 255 "${OCI[@]}" exec --process "$BATS_TEST_TMPDIR/bad.json" e2
    assert_stderr_match "args"
}

@test "koker-oci exec --detach --pid-file: returns at once; the process is the container's" {
    started e3
    "${OCI[@]}" exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" e3 sleep 100 \
        </dev/null >"$BATS_TEST_TMPDIR/exec.out" 2>&1
    assert_equal "" "$(cat "$BATS_TEST_TMPDIR/exec.out")"
    pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
    [[ $pid =~ ^[0-9]+$ ]] # bare, no newline
    assert_equal "$(printf %s "$pid" | wc -c)" "$(wc -c <"$BATS_TEST_TMPDIR/exec.pid")"
    # the process itself, forked by koker-oci: no koker-oci process in between
    assert_equal /bin/busybox "$(readlink "/proc/$pid/exe")" # the path the container sees
    run_koker 0 "${OCI[@]}" ps --format json e3
    jq -e --argjson p "$pid" 'index($p) != null' <<<"$output"
    # in the container's pid namespace: two "sleep 100" there, the init as pid 1
    # shellcheck disable=SC2016
    run_koker 0 "${OCI[@]}" exec e3 sh -c 'n=0; for f in /proc/[0-9]*/cmdline; do
        [ "$(tr "\0" " " <$f)" = "sleep 100 " ] && n=$((n + 1)); done; echo $n $(tr "\0" " " </proc/1/cmdline)'
    assert_equal "2 sleep 100" "$output"
    run_koker 0 "${OCI[@]}" kill --all e3 KILL
    for _ in $(seq 50); do [ "$(status_of e3)" = stopped ] && break; sleep 0.1; done
    run_koker 0 "${OCI[@]}" delete e3
    # its group (the ID, under koker-oci's own group: runc's default path) is gone
    assert_equal "" "$(find /sys/fs/cgroup/pids /sys/fs/cgroup/memory -type d -name e3)"
}

@test "koker-oci exec: the process joins every namespace of the init, its cgroup and seccomp filter" {
    # runc's default spec has no seccomp profile: one that refuses mkdir
    jq '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    started e4
    init=$(jq -r .pid < <("${OCI[@]}" state e4))
    want=""
    for ns in cgroup ipc mnt net pid uts; do want+="$(readlink "/proc/$init/ns/$ns")"$'\n'; done
    run_koker 0 "${OCI[@]}" exec e4 sh -c 'for ns in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$ns; done'
    assert_equal "${want%$'\n'}" "$output"
    [ "$(readlink /proc/self/ns/mnt)" != "$(readlink "/proc/$init/ns/mnt")" ]
    run_koker 0 "${OCI[@]}" exec e4 sh -c 'grep ^Seccomp: /proc/self/status; ls /; mkdir /tmp/x || echo refused'
    [[ ${output%%$'\n'*} == "Seccomp:"*2 ]]
    [[ $output == *$'\nproc\n'* && $output == *$'\nbin\n'* ]] # the container's root
    [[ $output == *$'\nrefused' ]]
    [ ! -e "$BUNDLE/rootfs/tmp/x" ]
    # the init's cgroup (both read in the container's cgroup namespace)
    run_koker 0 "${OCI[@]}" exec e4 sh -c 'cat /proc/1/cgroup; echo --; cat /proc/self/cgroup'
    assert_equal "${output%%$'\n'--*}" "${output#*--$'\n'}"
}

@test "koker-oci exec into a stopped, paused or unknown container: runc's wording" {
    run_koker 255 "${OCI[@]}" exec nope true
    assert_stderr_match "exec failed: container does not exist"
    started e5
    run_koker 0 "${OCI[@]}" pause e5
    run_koker 255 "${OCI[@]}" exec e5 true
    assert_stderr_match "cannot exec in a paused container"
    run_koker 0 "${OCI[@]}" resume e5
    run_koker 0 "${OCI[@]}" kill e5 KILL
    for _ in $(seq 50); do [ "$(status_of e5)" = stopped ] && break; sleep 0.1; done
    run_koker 255 "${OCI[@]}" exec e5 true
    assert_stderr_match "exec failed: cannot exec in a stopped container"
    log=$BATS_TEST_TMPDIR/log.json
    run_koker 255 "${OCI[@]}" --log "$log" --log-format json exec e5 true
    assert_equal "exec failed: cannot exec in a stopped container" "$(jq -r .msg "$log")"
}

@test "koker-oci exec: only the preserved descriptors reach the process" {
    started e6
    run_koker 0 "${OCI[@]}" exec e6 ls /proc/self/fd 3</dev/null
    assert_equal $'0\n1\n2\n3' "$output" # 3: the directory ls reads
    exec 4</dev/null
    run_koker 0 "${OCI[@]}" exec --preserve-fds 1 e6 ls /proc/self/fd 3</dev/null
    exec 4<&-
    assert_equal $'0\n1\n2\n3\n4' "$output"
}

@test "koker-oci exec --tty --console-socket: the pty master goes to the socket" {
    command -v python3 >/dev/null || skip "requires python3"
    started e7
    sock=$BATS_TEST_TMPDIR/console.sock
    python3 - "$sock" "$BATS_TEST_TMPDIR/tty.out" <<'PY' &
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(16, socket.CMSG_SPACE(4))
fds.frombytes(anc[0][2][:4])
out = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b:
        break
    out += b
open(sys.argv[2], "wb").write(out)
PY
    helper=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    run_koker 0 "${OCI[@]}" exec -t --console-socket "$sock" e7 sh -c 'tty; [ -t 0 ] && echo on a tty'
    wait "$helper"
    assert_equal $'/dev/pts/0\non a tty' "$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out")"
    run_koker 255 "${OCI[@]}" exec -d -t e7 true
    assert_stderr_match "cannot allocate tty if runc will detach without setting console socket"
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
