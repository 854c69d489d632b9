#!/usr/bin/env bats
# koker-run: real containers, checked from the inside.
load helpers

# Imports the fixture images once per test (local OCI layouts: no network needed).
setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    koker-pull -q --tag three "oci:$KOKER_TEST_FIXTURES/three:latest" >/dev/null
}

teardown() { koker_teardown; }

run_c() { # EXPECTED_RC IMAGE CMD... : a throwaway container without networking
    local rc=$1
    shift
    run_koker "$rc" koker-run --rm --network none "$@"
}

# A one-layer image made from the fixture rootfs plus whatever $1 (a function) adds to it.
hostile_image() {
    local dir=$BATS_TEST_TMPDIR/hostile
    rm -rf "$dir"
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$dir"
    "$1" "$dir"
    koker-pull -q --tag hostile "dir:$dir"
}

@test "koker-run: exit codes 0 and 42 pass through; 126 and 127 for commands that cannot run" {
    run_c 0 one true
    [ -z "$output" ]
    run_c 42 one sh -c 'exit 42'
    run_c 127 one no-such-command
    assert_stderr_match 'koker-run: fatal: exec: "no-such-command": executable file not found in \$PATH'
    run_c 126 one /etc/passwd
    assert_stderr_match 'exec: "/etc/passwd": Permission denied'
    # a container that itself exits 127 is told apart: no message from koker
    run_c 127 one sh -c 'exit 127'
    [ -z "$stderr" ]
}

@test "koker-run: a container killed by signal N exits 128+N" {
    koker-run --rm --network none --cidfile "$BATS_TEST_TMPDIR/cid" one sleep 100 &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    for _ in $(seq 50); do
        [ -s "$BATS_TEST_TMPDIR/cid" ] && jq -e '.State.Running' "$KOKER_ROOT/containers/$(cat "$BATS_TEST_TMPDIR/cid")/config.json" >/dev/null 2>&1 && break
        sleep 0.1
    done
    cpid=$(jq -r '.State.Pid' "$KOKER_ROOT/containers/$(cat "$BATS_TEST_TMPDIR/cid")/config.json")
    [ "$cpid" -gt 1 ]
    kill -KILL "$cpid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal 137 "$rc"
}

@test "koker-run: the command starts with no signal ignored, whatever the caller ignored" {
    # koker-run itself ignores SIGPIPE; the shell here ignores SIGINT and SIGQUIT for it, and
    # under make (which ignores 32 and 33, glibc's own) those too: signal(3) cannot reset them
    run_koker 0 /bin/bash -c "trap '' INT QUIT PIPE; exec $KOKER_BINDIR/koker-run --rm --network none one grep SigIgn /proc/self/status"
    assert_equal $'SigIgn:\t0000000000000000' "$output"
}

@test "koker-run: stdout carries only the container's output; -q silences koker" {
    run_c 0 one echo hello
    assert_equal hello "$output"
    run_koker 0 koker-run -q --rm --network none one sh -c 'echo out; echo err >&2'
    assert_equal out "$output"
    assert_equal err "$stderr"
}

@test "koker-run: podman's capabilities, none inheritable or ambient, Docker's seccomp filter" {
    run_c 0 one cat /proc/self/status
    assert_match $'CapInh:\t0000000000000000'
    assert_match $'CapPrm:\t00000000800405fb'
    assert_match $'CapEff:\t00000000800405fb'
    assert_match $'CapBnd:\t00000000800405fb'
    assert_match $'CapAmb:\t0000000000000000'
    assert_match $'NoNewPrivs:\t0'
    assert_match $'Seccomp:\t2'
    run_koker 0 koker-run --rm --network none --security-opt no-new-privileges one cat /proc/self/status
    assert_match $'NoNewPrivs:\t1'
    run_koker 0 koker-run --rm --network none --cap-drop ALL one cat /proc/self/status
    assert_match $'CapEff:\t0000000000000000'
    assert_match $'CapBnd:\t0000000000000000'
    run_koker 0 koker-run --rm --network none --cap-add NET_RAW --cap-drop chown one cat /proc/self/status
    assert_match $'CapEff:\t00000000800425fa'
    run_koker 125 koker-run --rm --network none --cap-add CAP_BOGUS one true
    assert_stderr_match "unknown capability"
}

@test "koker-run: a non-root user gets no capabilities and its supplementary groups" {
    run_c 0 three 'id; grep -E "^Cap(Eff|Prm)" /proc/self/status'
    assert_match "uid=1000\(koker\) gid=1000\(koker\) groups=1000\(koker\),2000\(extra\)"
    assert_match $'CapEff:\t0000000000000000'
    run_koker 0 koker-run --rm --network none -u 0:0 three id
    assert_match "^uid=0\(root\) gid=0\(root\)"
    run_koker 0 koker-run --rm --network none -u 4242 three 'id -u; echo $HOME'
    assert_equal $'4242\n/' "$output"
    run_koker 125 koker-run --rm --network none -u nosuchuser three true
    assert_stderr_match "unable to find user nosuchuser"
}

@test "koker-run: the user is looked up in the image once, then taken from the store's cache" {
    # the first run of each -u and --group-add looks in the image (a child's own mount
    # namespace: nothing on the host), the next ones read cache/
    run_koker 0 koker-run -D --rm --network none -u koker three id
    assert_match "uid=1000\(koker\) gid=1000\(koker\)"
    assert_stderr_match "a child mounts the root in a mount namespace of its own"
    entry=$(ls "$KOKER_ROOT"/cache/user-*)
    [ "$(wc -l <"$entry")" -eq 2 ]
    run_koker 0 koker-run -D --rm --network none -u koker three id
    assert_match "uid=1000\(koker\) gid=1000\(koker\) groups=1000\(koker\),2000\(extra\)"
    assert_stderr_match "user koker: uid 1000 gid 1000, as .*/cache/user-"
    refute_stderr_match "a child mounts the root"
    # another group list is another entry; an unknown user is not cached
    run_koker 0 koker-run --rm --network none -u koker --group-add root three id
    assert_match "groups=0\(root\),1000\(koker\),2000\(extra\)"
    run_koker 125 koker-run --rm --network none -u nosuchuser three true
    assert_equal 2 "$(find "$KOKER_ROOT/cache" -name 'user-*' | wc -l)"
    # a damaged entry is looked up again, with a warning, and written anew
    printf 'garbage' >"$entry"
    run_koker 0 koker-run --rm --network none -u koker three 'id -u'
    assert_equal 1000 "$output"
    assert_stderr_match "ignoring a malformed user cache file"
    [ "$(wc -l <"$entry")" -eq 2 ]
    # the entries go with their image
    image=$(koker-inspect -f '{{.Id}}' three)
    run_koker 0 koker-rmi three
    [ -z "$(find "$KOKER_ROOT/cache" -name "user-${image#sha256:}-*")" ]
}

@test "koker-run: mount, unshare and mknod are refused inside" {
    run_c 1 one sh -c 'mount -t tmpfs none /mnt'
    assert_stderr_match "denied|not permitted"
    run_c 1 one unshare -m true
    assert_stderr_match "not permitted"
    run_c 1 one mknod /dev-mem c 1 1
    assert_stderr_match "not permitted"
}

@test "koker-run: Docker's masked paths are empty and the read-only paths are read-only" {
    run_c 0 one sh -c 'wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; ls -A /proc/acpi 2>/dev/null | wc -l'
    assert_equal $'0\n0\n0\n0' "$output"
    run_c 1 one sh -c 'echo x > /proc/sys/kernel/hostname'
    assert_stderr_match "Read-only file system"
    run_c 0 one sh -c 'test ! -e /proc/sysrq-trigger || ! echo h 2>/dev/null > /proc/sysrq-trigger' 
    run_c 0 one sh -c 'grep " /sys " /proc/self/mounts'
    assert_match "sysfs /sys sysfs ro,nosuid,nodev,noexec"
}

@test "koker-run: /dev holds the standard nodes, pts, shm and mqueue, on a fresh tmpfs" {
    run_c 0 one sh -c 'ls /dev | tr "\n" " "; grep -E " /dev(/pts|/shm|/mqueue)? " /proc/self/mounts'
    assert_match "^fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero "
    assert_match "tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755"
    assert_match "devpts /dev/pts devpts rw,nosuid,noexec"
    assert_match "shm /dev/shm tmpfs rw,nosuid,nodev,noexec"
    assert_match "mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec"
    run_c 0 one sh -c 'echo x > /dev/null && head -c 4 /dev/zero | wc -c'
    assert_equal 4 "$output"
}

@test "koker-run: no file descriptor of koker's reaches the container, and /proc/1/exe is the container's" {
    run_c 0 one ls /proc/self/fd
    assert_equal $'0\n1\n2\n3' "$output"
    run_c 0 one readlink /proc/1/exe
    assert_equal /bin/busybox "$output"
}

@test "koker-run: hostname, /etc/hostname and /etc/hosts" {
    run_koker 0 koker-run --rm --network none --cidfile "$BATS_TEST_TMPDIR/cid" one sh -c 'hostname; cat /etc/hostname; cat /etc/hosts'
    id=$(cat "$BATS_TEST_TMPDIR/cid")
    [[ $id =~ ^[0-9a-f]{64}$ ]]
    assert_match "^${id:0:12}"$'\n'"${id:0:12}"
    assert_match "127.0.0.1"$'\t'"localhost"
    run_c 0 --hostname box.example one hostname
    assert_equal box.example "$output"
}

@test "koker-run: the image's Env, WorkingDir, User, Entrypoint and Cmd, and their overrides" {
    run_c 0 three
    assert_equal three "$output"
    run_c 0 three 'echo $FOO; pwd; id -un; echo $HOSTNAME; echo $HOME'
    assert_match "^bar"$'\n'"/work"$'\n'"koker"$'\n'"[0-9a-f]{12}"$'\n'"/home/koker$"
    printf 'FROMFILE=yes\n# comment\n\nFOO=file\n' >"$BATS_TEST_TMPDIR/env"
    run_c 0 --env-file "$BATS_TEST_TMPDIR/env" -e FOO=flag -w /tmp/new three 'echo $FOO $FROMFILE; pwd'
    assert_equal $'flag yes\n/tmp/new' "$output"
    run_c 0 --entrypoint /bin/echo three hi there
    assert_equal "hi there" "$output"
}

@test "koker-run: the layers' whiteouts and opaque directory are applied" {
    run_c 0 three 'test ! -e /etc/gone && ls /opq && cat /hello'
    assert_equal $'c\nhello from layer 3' "$output"
}

@test "koker-run: volumes, read-only volumes and a read-only root" {
    mkdir -p "$BATS_TEST_TMPDIR/vol"
    echo host >"$BATS_TEST_TMPDIR/vol/in"
    run_c 0 -v "$BATS_TEST_TMPDIR/vol:/data" one sh -c 'cat /data/in; echo container > /data/out'
    assert_equal host "$output"
    assert_equal container "$(cat "$BATS_TEST_TMPDIR/vol/out")"
    run_c 1 -v "$BATS_TEST_TMPDIR/vol:/data:ro" one sh -c 'echo x > /data/out'
    assert_stderr_match "Read-only file system"
    # read-only all the way down: a mount below the host path is read-only inside too
    mkdir -p "$BATS_TEST_TMPDIR/vol/sub"
    mount -t tmpfs none "$BATS_TEST_TMPDIR/vol/sub"
    koker_cleanup_later mount "$BATS_TEST_TMPDIR/vol/sub"
    run_c 1 -v "$BATS_TEST_TMPDIR/vol:/data:ro" one sh -c 'echo x > /data/sub/f'
    assert_stderr_match "Read-only file system"
    run_c 1 --read-only one sh -c 'echo x > /file'
    assert_stderr_match "Read-only file system"
    run_koker 125 koker-run --rm --network none -v rel/ative:/x one true
    assert_stderr_match "usage: invalid volume"
    run_koker 125 koker-run --rm --network none -v "$BATS_TEST_TMPDIR/vol:/proc/x" one true
    assert_stderr_match "mounts into /proc are refused"
    # over /proc itself too (with the host's network, where no sysctl write would catch it)
    run_koker 125 koker-run --rm --network host -v "$BATS_TEST_TMPDIR/vol:/proc" one true
    assert_stderr_match "mounts into /proc are refused"
}

@test "koker-run: -i passes stdin, without it stdin is empty" {
    run bash -c "echo piped | koker-run --rm --network none -i one cat"
    assert_equal piped "$output"
    run bash -c "echo piped | koker-run --rm --network none one cat"
    assert_equal "" "$output"
}

@test "koker-run: -t gives a pty inside the container's devpts whose size follows the caller's" {
    command -v script >/dev/null || skip "script(1) is not installed"
    run script -qec "stty cols 123 rows 45; koker-run --rm --network none -it one sh -c 'tty; stty size'" /dev/null
    [[ $output == *"/dev/pts/0"* ]]
    [[ $output == *"45 123"* ]]
}

@test "koker-run: SIGTERM to koker-run reaches the container" {
    koker-run --rm --network none one sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done' >"$BATS_TEST_TMPDIR/out" 2>&1 &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal 3 "$rc"
    grep -q "got TERM" "$BATS_TEST_TMPDIR/out"
}

@test "koker-run: the pipeline koker-pull | koker-run - works, and a missing reference is pulled first" {
    run bash -c "koker-pull -q 'oci:$KOKER_TEST_FIXTURES/one:latest' | koker-run --rm --network none - echo hi"
    assert_equal hi "$output"
    requires registry
    run_koker 0 koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/zstd" echo pulled
    assert_equal pulled "$output"
    assert_stderr_match "unable to find image .* locally"
}

proc_symlink() { rm -rf "${1:?}/proc"; ln -s /etc "$1/proc"; }
dev_symlink() { rm -rf "${1:?}/dev"; ln -s /tmp "$1/dev"; }
hosts_symlink() { mkdir -p "$1/etc"; ln -sf "$BATS_TEST_TMPDIR/host-file" "$1/etc/hosts"; ln -sf /etc/shadow "$1/etc/resolv.conf"; }
workdir_fd() { :; }

@test "koker-run: a rootfs whose /proc or /dev is a symlink is refused and the host is untouched" {
    before=$(md5sum /etc/hostname /etc/hosts 2>/dev/null)
    hostile_image proc_symlink
    run_c 125 hostile true
    assert_stderr_match "/proc.*symlink"
    hostile_image dev_symlink
    run_c 125 hostile true
    assert_stderr_match "/dev.*symlink"
    assert_equal "$before" "$(md5sum /etc/hostname /etc/hosts 2>/dev/null)"
    run grep -c "$KOKER_ROOT" /proc/self/mountinfo
    assert_equal 0 "$output"
}

@test "koker-run: /etc/hosts and /etc/resolv.conf symlinks are replaced, never followed to host files" {
    echo precious >"$BATS_TEST_TMPDIR/host-file"
    shadow=$(md5sum /etc/shadow)
    hostile_image hosts_symlink
    run_c 0 hostile sh -c 'cat /etc/hosts; echo changed > /etc/hosts'
    assert_match "localhost"
    assert_equal precious "$(cat "$BATS_TEST_TMPDIR/host-file")"
    assert_equal "$shadow" "$(md5sum /etc/shadow)"
}

etc_symlink() { mv "$1/etc" "$1/real-etc"; ln -s real-etc "$1/etc"; }

@test "koker-run: the store's init layer holds the /etc mount points, so the upper layer stays empty" {
    # the fixture image has no /etc/hostname, /etc/hosts or /etc/resolv.conf of its own
    id=$(koker-run -d --network none --hostname inithost one sleep 300)
    run_koker 0 koker-exec "$id" sh -c 'cat /etc/hostname; grep -c localhost /etc/hosts; ls /etc'
    assert_equal inithost "${lines[0]}"
    assert_match "resolv.conf"
    assert_equal "" "$(ls -A "$KOKER_ROOT/containers/$id/upper")"
    for f in hostname hosts resolv.conf; do
        [ -f "$KOKER_ROOT/init/etc/$f" ] && [ ! -s "$KOKER_ROOT/init/etc/$f" ]
    done
    # the root is mounted on the bundle's rootfs/ by the container's init, in its own mount
    # namespace, and only there: the host never has it, so the host's mount table stays the
    # same size however many containers run
    run grep -c " $KOKER_ROOT/containers/$id/bundle/rootfs " /proc/self/mountinfo
    assert_equal 0 "$output"
    pid=$(koker-inspect -f '{{.State.Pid}}' "$id")
    assert_equal overlay "$(awk '$5 == "/" { print $9 }' "/proc/$pid/mountinfo")"
    run_koker 0 koker-exec "$id" sh -c 'echo kept >/kept; cat /kept'
    assert_equal kept "$output"
    # over an image whose /etc is a symlink, the layer would hide the link: none then
    hostile_image etc_symlink
    run_koker 0 koker-run -D --rm --network none hostile sh -c 'readlink /etc; head -1 /etc/passwd; cat /etc/hostname'
    assert_equal real-etc "${lines[0]}"
    assert_equal "root:x:0:0:root:/root:/bin/sh" "${lines[1]}"
    assert_stderr_match "the image's /etc is not a directory: no init layer"
}

@test "koker-run: a working directory pointing at a leaked descriptor is refused (CVE-2024-21626)" {
    run_c 125 -w /proc/self/fd/3 one true
    run_c 125 -w /proc/self/fd/4 one true
}

@test "koker-run: bad input is a usage error or 125 with one line, and leaves no container behind" {
    run_koker 125 koker-run --rm --network none no-such-image-here true
    run_koker 125 koker-run --network bogus one true
    assert_stderr_match "network bogus not found"
    run_koker 125 koker-run --name 'bad/name' one true
    assert_stderr_match "invalid container name"
    run_koker 125 koker-run --network none
    assert_stderr_match "IMAGE is missing"
    run_koker 125 koker-run --network none --security-opt label=disable one true
    assert_stderr_match "unsupported --security-opt label=disable"
    [ -z "$(ls -A "$KOKER_ROOT/containers" 2>/dev/null)" ]
}

@test "koker-run: nothing stays mounted on the host after containers exit" {
    for _ in 1 2 3; do run_c 0 three true; done
    run grep -c "$KOKER_ROOT" /proc/self/mountinfo
    assert_equal 0 "$output"
    [ -z "$(ls -A "$KOKER_ROOT/containers")" ]
}
