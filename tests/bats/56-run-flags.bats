#!/usr/bin/env bats
# The docker run flags of issue 16 point 4, each observed inside a real container, and bad
# values of each refused with 125 before anything is made.
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() { koker_teardown; }

# img NAME CONFIG-JSON: an image of the fixture's root filesystem with that config.
img() {
    mkimage "$BATS_TEST_TMPDIR/$1" latest --layer-dir "$KOKER_TEST_FIXTURES/rootfs" \
        --config "$2" >/dev/null
    koker-pull -q --tag "$1" "oci:$BATS_TEST_TMPDIR/$1:latest" >/dev/null
}

# status_field CONTAINER-ARGS... : a field of /proc/1/status in a throwaway container
proc1() { # FIELD RUN-OPTION...
    local field=$1
    shift
    koker-run --rm --network none "$@" one sh -c "grep '^$field:' /proc/1/status" | awk '{print $2}'
}

zombies() { # CONTAINER: the zombie processes in it
    koker-exec "$1" sh -c 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l'
}

@test "koker-run: --init runs koker-init as PID 1, which reaps orphans; without it they stay zombies" {
    orphan='(sleep 0.1 &); exec sleep 60' # the shell's child is orphaned to PID 1, then exits
    id=$(koker-run -d --network none one sh -c "$orphan")
    sleep 1
    assert_equal 1 "$(zombies "$id")" "the control: PID 1 (sleep) does not reap"
    id=$(koker-run -d --network none --init one sh -c "$orphan")
    sleep 1
    assert_equal 0 "$(zombies "$id")"
    output=$(koker-exec "$id" cat /proc/1/cmdline | tr '\0' ' ')
    assert_match "^/sbin/docker-init -- sh -c"
    assert_equal true "$(koker-inspect "$id" | jq '.[0].HostConfig.Init')"
    assert_equal /sbin/docker-init "$(jq -r '.process.args[0]' "$KOKER_ROOT/containers/$id/bundle/config.json")"
    # the command's status comes through, and a missing command is 127 as tini gives it
    run_koker 3 koker-run --rm --network none --init one sh -c 'exit 3'
    run_koker 127 koker-run --rm --network none --init one /no/such/command
    # its mount point is made before a read-only root is made read-only
    run_koker 0 koker-run --rm --network none --init --read-only one true
}

@test "koker-run: --init forwards koker-stop's signal to the command" {
    id=$(koker-run -d --network none --init one sh -c 'trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done')
    sleep 0.5
    run_koker 0 koker-stop -t 5 "$id"
    run_koker 0 koker-logs "$id"
    assert_match "got TERM"
    assert_equal 0 "$(koker-inspect "$id" | jq '.[0].State.ExitCode')"
}

@test "koker-run: --init -t hands the terminal to the command, as tini: job control, ctrl-C reaches it" {
    # the command leads a process group of its own, the terminal's foreground group
    run ptydrive -- koker-run --rm --network none --init -t one \
        sh -c 'read -r _ _ _ _ pg _ _ tp _ </proc/$$/stat; echo "pid=$$ pg=$pg tp=$tp"' <<'EOF'
wait
EOF
    assert_equal 0 "$status" "ptydrive: $output"
    [[ $output =~ pid=([0-9]+)\ pg=([0-9]+)\ tp=([0-9]+) ]] || _koker_fail "no pid line" pid= "$output"
    assert_equal "${BASH_REMATCH[1]} ${BASH_REMATCH[1]}" "${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
    assert_match "ptydrive: exit 0"
    # an interactive shell: job control on, ctrl-C ends its foreground job and not the shell
    run ptydrive -- koker-run --rm --network none --init -it one sh <<'EOF'
expect / #[ ]
send sleep 100\r
sleep 0.5
send \x03
expect / #[ ]
send echo "alive $?"\r
expect alive 130
send exit 7\r
wait
EOF
    assert_equal 0 "$status" "ptydrive: $output"
    refute_match "job control turned off|can't access tty"
    assert_match "ptydrive: exit 7"
}

@test "koker-run: --stop-signal, --stop-timeout and the image's StopSignal are what koker-stop uses" {
    trap_loop='for s in TERM USR1 USR2; do trap "echo got $s; exit 0" $s; done; while :; do sleep 0.1; done'
    id=$(koker-run -d --network none --stop-signal USR1 one sh -c "$trap_loop")
    sleep 0.5
    run_koker 0 koker-stop "$id"
    run_koker 0 koker-logs "$id"
    assert_match "got USR1"
    assert_equal USR1 "$(koker-inspect "$id" | jq -r '.[0].Config.StopSignal')"
    img stopsig '{"Cmd":["sh"],"StopSignal":"SIGUSR2"}'
    id=$(koker-run -d --network none stopsig sh -c "$trap_loop")
    sleep 0.5
    run_koker 0 koker-stop "$id"
    run_koker 0 koker-logs "$id"
    assert_match "got USR2"
    # --stop-timeout: a command that ignores the signal is killed after it, not after 10 s
    id=$(koker-run -d --network none --stop-timeout 1 one sh -c 'trap "" TERM; while :; do sleep 0.1; done')
    sleep 0.5
    SECONDS=0
    run_koker 0 koker-stop "$id"
    [ "$SECONDS" -lt 5 ]
    assert_equal 1 "$(koker-inspect "$id" | jq '.[0].Config.StopTimeout')"
    assert_equal 137 "$(koker-inspect "$id" | jq '.[0].State.ExitCode')"
}

@test "koker-run: --add-host, --dns and --dns-search write /etc/hosts and /etc/resolv.conf" {
    run_koker 0 koker-run --rm --add-host db:10.1.2.3 --add-host gw:host-gateway \
        --dns 10.0.0.53 --dns 10.0.0.54 --dns-search example.com one cat /etc/hosts /etc/resolv.conf
    assert_match $'10.1.2.3\tdb'
    gateway=${KOKER_SUBNET%.0/16}.1
    assert_match "$gateway	gw"
    assert_match $'nameserver 10.0.0.53\nnameserver 10.0.0.54'
    assert_match "search example.com"
    [ "$(grep -c nameserver <<<"$output")" -eq 2 ]
    run_koker 0 koker-run --rm --network none --dns 10.0.0.53 --dns-search . one cat /etc/resolv.conf
    refute_match "search"
    run_koker 0 koker-run -d --name rec --network none --add-host a:10.9.9.9 --dns 10.0.0.53 --dns-search x.org one true
    assert_equal '["a:10.9.9.9"] ["10.0.0.53"] ["x.org"]' \
        "$(koker-inspect rec | jq -c '.[0].HostConfig | .ExtraHosts, .Dns, .DnsSearch' | paste -sd' ')"
}

@test "koker-run: --ulimit sets the container's rlimits" {
    run_koker 0 koker-run --rm --network none --ulimit nofile=100:200 --ulimit nproc=50 one cat /proc/self/limits
    assert_match "Max open files +100 +200 +files"
    assert_match "Max processes +50 +50 +processes"
    run_koker 0 koker-run --rm --network none --ulimit core=-1 one cat /proc/self/limits
    assert_match "Max core file size +unlimited +unlimited"
    assert_match "Max open files +1024 +1024" # the default stays when not given
}

@test "koker-run: --privileged: every capability, no seccomp, nothing masked, /sys writable, host devices" {
    assert_equal 2 "$(proc1 Seccomp)"
    default_caps=$(proc1 CapEff)
    run_koker 0 koker-run --rm --network none --privileged one sh -c \
        'grep -E "^(CapEff|Seccomp):" /proc/1/status; grep " /sys " /proc/mounts; ls /dev; cat /proc/sys/kernel/ostype; mount | grep -c "/proc/kcore" || true'
    assert_match "Seccomp:	0"
    # every capability there is, as far as the host lets this test hold them
    all_caps=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
    assert_match "CapEff:	$all_caps"
    [ "$default_caps" != "$all_caps" ]
    assert_match "sysfs /sys sysfs rw,"
    assert_match "loop-control"
    [[ ${output##*$'\n'} == 0 ]] # /proc/kcore not masked
    assert_equal true "$(koker-run -d --network none --privileged one sleep 30 | xargs koker-inspect | jq '.[0].HostConfig.Privileged')"
}

@test "koker-run: --device makes the node and allows it in the device cgroup" {
    run_koker 1 koker-run --rm --network none one test -e /dev/loop-control
    id=$(koker-run -d --network none --device /dev/loop-control:/dev/lc:rw one sleep 30)
    run_koker 0 koker-exec "$id" sh -c 'ls -l /dev/lc && head -c0 </dev/lc && echo opened'
    assert_match "^crw.* 10, +237 .*/dev/lc"
    assert_match "opened"
    if [ "$(koker-cg mode)" != v2 ]; then
        grep -qx "c 10:237 rw" "/sys/fs/cgroup/devices/koker/$id/devices.list"
    fi
    assert_equal '[{"PathOnHost":"/dev/loop-control","PathInContainer":"/dev/lc","CgroupPermissions":"rw"}]' \
        "$(koker-inspect "$id" | jq -c '.[0].HostConfig.Devices')"
}

@test "koker-run: --security-opt seccomp=unconfined and seccomp=FILE in docker's format" {
    assert_equal 0 "$(proc1 Seccomp --security-opt seccomp=unconfined)"
    # docker's format: archMap, names, errnoRet, includes by capability and arch
    cat >"$BATS_TEST_TMPDIR/profile.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
             {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
 "syscalls": [
   {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
   {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
   {"names": ["chdir"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["s390x"]}}
 ]}
EOF
    run_koker 1 koker-run --rm --network none --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" \
        --security-opt no-new-privileges one sh -c 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; cd /tmp && echo cd-ok; mkdir /tmp/x'
    assert_match "Seccomp:	2"
    assert_match "NoNewPrivs:	1"
    assert_match "cd-ok" # chdir's rule is s390x's only
    assert_stderr_match "mkdir: can't create directory '/tmp/x': Operation not permitted"
    # rmdir's rule needs CAP_SYS_ADMIN: with it, rmdir fails; without, it works
    run_koker 0 koker-run --rm --network none --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" one sh -c 'rmdir /tmp'
    run_koker 1 koker-run --rm --network none --cap-add SYS_ADMIN --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" one sh -c 'rmdir /tmp'
    jq -e '.linux.seccomp.architectures == ["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]' \
        <<<"$(koker-run -d --network none --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" one sleep 30 |
            xargs -I{} cat "$KOKER_ROOT/containers/{}/bundle/config.json")"
}

@test "koker-run: --shm-size, --sysctl and --group-add" {
    run_koker 0 koker-run --rm --network none --shm-size 16m one grep " /dev/shm " /proc/mounts
    assert_match "size=16384k"
    run_koker 0 koker-run --rm --network none one grep " /dev/shm " /proc/mounts
    assert_match "size=65536k"
    run_koker 0 koker-run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmni=1000 \
        --sysctl fs.mqueue.msg_max=20 one cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max
    assert_equal $'1\n1000\n20' "$output"
    run_koker 0 koker-run --rm --network none -u koker --group-add extra --group-add 4321 --group-add root one id -G
    assert_equal "0 1000 2000 4321" "$(tr ' ' '\n' <<<"$output" | sort -n | paste -sd' ')"
    run_koker 125 koker-run --rm --network none --group-add nosuch one true
    assert_stderr_match "unable to find group nosuch"
}

@test "koker-run: --pull and --platform" {
    run_koker 125 koker-run --rm --network none --pull never nosuch:latest true
    assert_stderr_match "no such image: nosuch:latest"
    # present: missing and never use it; always pulls again (here from a port nobody serves)
    koker-pull -q --tag 127.0.0.1:1/koker/one:latest "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    run_koker 0 koker-run --rm --network none --pull never 127.0.0.1:1/koker/one true
    run_koker 0 koker-run --rm --network none --pull missing 127.0.0.1:1/koker/one true
    run_koker 125 koker-run --rm --network none --pull always 127.0.0.1:1/koker/one true
    assert_stderr_match "unable to pull 127.0.0.1:1/koker/one"
    # the stored image is amd64 (or the host's): another platform is not it
    host=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
    other=$([ "$host" = amd64 ] && echo arm64 || echo amd64)
    run_koker 0 koker-run --rm --network none --pull never --platform "linux/$host" one true
    run_koker 125 koker-run --rm --network none --pull never --platform "linux/$other" one true
    assert_stderr_match "does not match the specified platform: wanted linux/$other"
}

@test "koker-run: --platform pulls that entry of a multi-platform image, again when another is stored" {
    requires registry root
    [ "$(uname -m)" = x86_64 ] || skip "the fixture index holds amd64 and arm64; checks from amd64"
    ref=$KOKER_TEST_REGISTRY/koker/multi
    run_koker 0 koker-run --rm --network none --platform linux/amd64 "$ref" cat /arch
    assert_equal amd64 "$output"
    # arm64 asked for, amd64 stored: pulled again (it need not run here)
    run koker-run --rm --network none --platform linux/arm64/v8 "$ref" true
    [[ $output =~ "is stored for linux/amd64: pulling linux/arm64" ]]
    assert_equal arm64 "$(koker-inspect "$ref" | jq -r '.[0].Architecture')"
}

@test "koker-run: -P publishes every exposed port on a free host port" {
    img exposed '{"Cmd":["sh"],"ExposedPorts":{"80/tcp":{},"53/udp":{}}}'
    id=$(koker-run -d -P --name pall exposed sh -c \
        'mkdir -p /www && echo hello-P >/www/index.html && exec httpd -f -p 80 -h /www')
    port=$(koker-inspect "$id" | jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort')
    uport=$(koker-inspect "$id" | jq -r '.[0].NetworkSettings.Ports["53/udp"][0].HostPort')
    [[ $port =~ ^[0-9]+$ && $port -gt 0 && $uport =~ ^[0-9]+$ && $uport -gt 0 ]]
    assert_equal true "$(koker-inspect "$id" | jq '.[0].HostConfig.PublishAllPorts')"
    run_koker 0 koker-ps
    assert_match "0\.0\.0\.0:$port->80/tcp"
    local got="" _
    for _ in $(seq 50); do
        got=$(curl -s --max-time 2 "http://127.0.0.1:$port/") && [ -n "$got" ] && break
        sleep 0.1
    done
    assert_equal hello-P "$got"
    # -p wins for the port it names; the others still get theirs
    fixed=$(koker_free_port)
    id=$(koker-run -d -P -p "$fixed:80" exposed sleep 30)
    assert_equal "[\"$fixed\"]" "$(koker-inspect "$id" | jq -c '[.[0].NetworkSettings.Ports["80/tcp"][].HostPort]')"
    [ "$(koker-inspect "$id" | jq '.[0].NetworkSettings.Ports["53/udp"] | length')" -eq 1 ]
    run_koker 125 koker-run --rm -P --network none exposed true
    assert_stderr_match "--publish-all needs the bridge network"
}

@test "koker-run: bad values of the run flags exit 125 naming the flag and value, making nothing" {
    local bad
    while IFS='|' read -r bad want; do
        # shellcheck disable=SC2086 # each case is several words
        run_koker 125 koker-run -D --rm --network none $bad one true
        assert_stderr_match "$want"
        [ "$(grep -c 'fatal\|usage' <<<"$stderr")" -eq 1 ]
        refute_stderr_match "mkdir|mount|clone"
    done <<'EOF'
--ulimit nofile=x|invalid --ulimit nofile=x
--ulimit nosuch=1|invalid --ulimit nosuch=1: invalid ulimit type
--ulimit nofile=20:10|soft limit must be less than or equal to hard limit: 20 > 10
--device /no/such|invalid --device /no/such
--device /etc/passwd|invalid --device /etc/passwd: error gathering device information
--device rel:/dev/x|invalid --device rel:/dev/x: rel is not an absolute path
--device /dev/null:/dev/x:rwx|invalid device mode
--add-host nocolon|invalid --add-host nocolon: bad format for add-host
--add-host h:1.2.3.999|invalid IP address in add-host
--dns 1.2.3|invalid --dns 1.2.3: IP address is not correctly formatted
--dns-search -bad-|invalid --dns-search -bad-
--sysctl kernel.hostname=x|invalid --sysctl kernel.hostname=x: sysctl kernel.hostname=x is not allowed
--sysctl net.ipv4/../../x=1|is not a sysctl name
--sysctl vm.swappiness=1|not allowed
--stop-signal SIGNOPE|invalid --stop-signal SIGNOPE
--stop-timeout -1|invalid --stop-timeout -1
--shm-size 0|invalid --shm-size 0
--shm-size 12q|invalid --shm-size 12q
--platform windows/amd64/x/y|invalid --platform
--pull sometimes|invalid --pull sometimes: want always, missing or never
--security-opt seccomp=/no/such.json|invalid --security-opt seccomp=/no/such.json
--security-opt apparmor=x|unsupported --security-opt apparmor=x
--group-add a:b|invalid --group-add a:b
EOF
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}' >"$BATS_TEST_TMPDIR/both.json"
    run_koker 125 koker-run --rm --network none --security-opt "seccomp=$BATS_TEST_TMPDIR/both.json" one true
    assert_stderr_match "use either 'architectures' or 'archMap'"
    printf '{"syscalls": "x"' >"$BATS_TEST_TMPDIR/broken.json"
    run_koker 125 koker-run --rm --network none --security-opt "seccomp=$BATS_TEST_TMPDIR/broken.json" one true
    assert_stderr_match "malformed JSON"
    run_koker 125 koker-run --rm --network host --sysctl net.ipv4.ip_forward=1 one true
    assert_stderr_match "not allowed with --network host"
    [ -z "$(ls "$KOKER_ROOT/containers" 2>/dev/null)" ]
}
