#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
#
# Rootless koker (issue 20, docs/rootless.md): every command run by a dedicated unprivileged
# user that setup_file makes (useradd, with a range in /etc/subuid and /etc/subgid) and
# teardown_file removes even after a failure: its processes, its home (the store in
# ~/.local/share/koker), its lines in /etc/subuid and /etc/subgid, its /tmp/koker-UID, and a
# second user with no range (for the message naming the missing line).

load helpers
load helpers.rootless

setup_file() {
    rootless_users_make norange
}

teardown_file() {
    rootless_users_remove
}

setup() {
    koker_setup
    requires registry
}

teardown() {
    restore_dev_modes
    # Every container of the user, as the user: its store is its own.
    local ids
    mapfile -t ids < <(as_user koker-ps -a -q 2>/dev/null)
    ((${#ids[@]} == 0)) || as_user koker-rm -f "${ids[@]}" >/dev/null 2>&1 || true
    koker_teardown
}

# pulled: the fixtures the tests use, in the user's store.
pulled() {
    local name
    for name in "$@"; do
        run -0 as_user koker-pull -q "$KOKER_TEST_REGISTRY/koker/$name"
    done
}

@test "rootless: pull into ~/.local/share/koker, layers owned through the subordinate ids" {
    pulled one
    [[ -d $RL_HOME/.local/share/koker/layers ]]
    [[ ! -e /var/lib/koker/layers/nothing-of-$RL_USER ]]
    # /home/koker is 1000:1000 in the image: subuid_start + 999 on the disk
    local dir
    dir=$(find "$RL_HOME/.local/share/koker/layers" -mindepth 4 -maxdepth 4 -path '*/diff/home/koker' | head -1)
    [[ -n $dir ]]
    assert_equal "$((RL_SUBID_START + 999)):$((RL_SUBID_START + 999))" "$(stat -c %u:%g "$dir")"
    # the store's own files belong to the user itself (root in its namespace)
    assert_equal "$RL_UID" "$(stat -c %u "$RL_HOME/.local/share/koker")"
    run -0 as_user koker-images --format json
    assert_match "koker/one"
}

@test "rootless: run, exit codes, the id maps and the owner of a file inside" {
    pulled one
    run -0 as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'cat /proc/self/uid_map; id -u; stat -c %u /home/koker'
    [[ $output =~ 0[[:space:]]+${RL_UID}[[:space:]]+1 ]]
    [[ $output =~ 1[[:space:]]+${RL_SUBID_START}[[:space:]]+${RL_SUBID_COUNT} ]]
    assert_match $'\n0\n1000$'
    run -3 as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/one" sh -c 'exit 3'
    run -127 as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/one" /no/such
    # -D shows each step of the namespace and the overlay chosen
    run -0 --separate-stderr as_user koker-run -D --rm --network none \
        "$KOKER_TEST_REGISTRY/koker/one" true
    assert_stderr_match "unshare\(NEWUSER\|NEWNS\)"
    assert_stderr_match "/usr/bin/newuidmap [0-9]+ 0 $RL_UID 1 1 $RL_SUBID_START $RL_SUBID_COUNT"
    assert_stderr_match "uid_map: "
    assert_stderr_match "userxattr"
}

@test "rootless: whiteouts and the opaque directory of the layers are applied" {
    pulled three
    run -0 as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/three" \
        'test ! -e /etc/gone && ls /opq && cat /hello'
    assert_equal $'c\nhello from layer 3' "$output"
}

@test "rootless: -d, logs, exec, stop and rm" {
    pulled one
    run -0 as_user koker-run -d --network none --name rl-web "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'echo started; exec sleep 1000'
    local id=$output
    sleep 0.5
    run -0 as_user koker-logs rl-web
    assert_equal started "$output"
    run -0 as_user koker-exec rl-web sh -c 'id -u; cat /proc/1/cmdline | tr "\0" " "'
    assert_match $'^0\nsleep 1000'
    # exec joined the container's own user namespace, not a sibling
    assert_equal "$(readlink "/proc/$(as_user koker-inspect -f '{{.State.Pid}}' rl-web)/ns/user")" \
        "$(as_user koker-exec rl-web readlink /proc/self/ns/user | tr -d '\r')"
    run -4 as_user koker-exec rl-web sh -c 'exit 4'
    run -0 as_user koker-stop -t 1 rl-web
    run -0 as_user koker-ps -a --format '{{.Status}}'
    assert_match "Exited"
    run -0 as_user koker-rm rl-web
    run -0 as_user koker-ps -a -q
    assert_equal "" "$output"
    [[ ! -e $RL_HOME/.local/share/koker/containers/$id ]]
    # a container running as another user than root: restart and rm -f signal it from the
    # host's namespace (a sibling one could not)
    run -0 as_user koker-run -d --network none -u 1000 --name rl-u "$KOKER_TEST_REGISTRY/koker/one" sleep 1000
    run -0 as_user koker-restart -t 0 rl-u
    run -0 as_user koker-ps --format '{{.Names}}'
    assert_equal rl-u "$output"
    run -0 as_user koker-rm -f rl-u
    run -0 as_user koker-ps -a -q
    assert_equal "" "$output"
}

@test "rootless: --network host and none" {
    pulled one
    run -0 as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/one" ls /sys/class/net
    assert_equal lo "$output"
    # the host's own network namespace (its interfaces come and go with other tests), and
    # its /sys bound rather than mounted
    run -0 as_user koker-run --rm --network host "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'readlink /proc/self/ns/net; test -e /sys/class/net/lo && echo sys'
    assert_equal "$(readlink /proc/self/ns/net)"$'\nsys' "$output"
}

@test "rootless: the default network is slirp4netns, -p on loopback; 0600 tun is one line" {
    pulled one
    [[ -e /dev/net/tun ]] || skip "no /dev/net/tun"
    dev_mode /dev/net/tun 600
    run -125 --separate-stderr as_user koker-run --rm "$KOKER_TEST_REGISTRY/koker/one" true
    assert_stderr_match "^koker-run: fatal: cannot open /dev/net/tun \\(mode 0600\\)"
    dev_mode /dev/net/tun 666
    run -0 as_user koker-run --rm "$KOKER_TEST_REGISTRY/koker/one" sh -c 'ip -o -4 addr show tap0'
    assert_match "10\.0\.2\.100/24"
    local port=$((${KOKER_TEST_PORT_BASE:-40600} + 460 + BATS_TEST_NUMBER))
    run -0 as_user koker-run -d --name rl-web -p "127.0.0.1:$port:80" "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'mkdir -p /www && echo rootless-web >/www/index.html && exec httpd -f -p 80 -h /www'
    for _ in {1..50}; do
        output=$(curl -s --max-time 2 "http://127.0.0.1:$port/") && [[ $output == rootless-web ]] && break
        sleep 0.1
    done
    assert_equal rootless-web "$output"
    # the helper is the user's, and goes with the container
    run -0 pgrep -u "$RL_USER" -x slirp4netns
    run -0 as_user koker-rm -f rl-web
    for _ in {1..50}; do pgrep -u "$RL_USER" -x slirp4netns >/dev/null || break; sleep 0.1; done
    run ! pgrep -u "$RL_USER" -x slirp4netns
    # a user-defined network needs root: one line, 125
    run -125 --separate-stderr as_user koker-run --rm --network mynet "$KOKER_TEST_REGISTRY/koker/one" true
    assert_equal "koker-run: fatal: rootless: user-defined networks need root; use the default network (slirp4netns), none or host" "$stderr"
    restore_dev_modes
}

@test "rootless: limits warn once and the container still runs; none asked, no warning" {
    pulled one
    run -0 --separate-stderr as_user koker-run --rm --network none --memory 64m --pids-limit 50 \
        "$KOKER_TEST_REGISTRY/koker/one" echo ran
    assert_equal ran "$output"
    assert_equal "koker-run: warning: rootless: cgroup limits were not applied (no delegated cgroup v2 subtree)" "$stderr"
    run -0 --separate-stderr as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/one" true
    assert_equal "" "$stderr"
    # and no cgroup of koker's was made for the user's containers
    run -0 as_user koker-run -d --network none --name rl-cg "$KOKER_TEST_REGISTRY/koker/one" sleep 1000
    run -0 as_user koker-inspect -f '{{.State.Pid}}' rl-cg
    run ! grep -q ':/koker/' "/proc/$output/cgroup"
    # the verbs that need a cgroup say why in one line (not zeros, not limits kept for nothing)
    local why="a rootless container has no cgroup here (no delegated cgroup v2 subtree)"
    run -125 --separate-stderr as_user koker-pause rl-cg
    assert_equal "koker-pause: fatal: unable to pause container rl-cg: $why" "$stderr"
    run -125 --separate-stderr as_user koker-update --memory 64m rl-cg
    assert_equal "koker-update: fatal: unable to update container rl-cg: $why" "$stderr"
    run -125 --separate-stderr as_user koker-stats --no-stream rl-cg
    assert_equal "koker-stats: fatal: no statistics for container rl-cg: $why" "$stderr"
    # top needs none: the init's process tree (sleep is the init here, plus an exec'd one)
    run -0 as_user koker-exec -d rl-cg sleep 999
    run -0 as_user koker-top rl-cg
    assert_match "sleep 1000"
    assert_match "sleep 999"
}

# fake_delegation DIR [OWNER]: a fake cgroup v2 tree in DIR (KOKER_CGROUP_ROOT) shaped as systemd
# delegates to a user: user.slice/user-UID.slice/user@UID.service and below it the test's own
# scope, app.slice/test.scope, with cpu, memory and pids; user@UID.service and what is below it
# owned by OWNER (the test user; root: nothing delegated). Beside it a login session's scope,
# user.slice/user-UID.slice/session-1.scope, root's as systemd makes it. Prints the test scope's
# path in the tree (KOKER_CGROUP_SELF, what /proc/self/cgroup would say).
fake_delegation() {
    local dir=$1 owner=${2:-$RL_USER} d
    local service=$dir/user.slice/user-$RL_UID.slice/user@$RL_UID.service
    local session=$dir/user.slice/user-$RL_UID.slice/session-1.scope
    mkdir -p "$service/app.slice/test.scope" "$session"
    echo "cpuset cpu io memory pids" >"$dir/cgroup.controllers"
    for d in "$dir" "$dir/user.slice" "$dir/user.slice/user-$RL_UID.slice" "$service" \
        "$service/app.slice" "$service/app.slice/test.scope" "$session"; do
        [[ $d == "$dir" ]] || echo "cpu memory pids" >"$d/cgroup.controllers"
        : >"$d/cgroup.procs"
        : >"$d/cgroup.subtree_control"
    done
    chmod -R a+rX "$dir"
    chown -R "$owner:" "$service"
    echo "/user.slice/user-$RL_UID.slice/user@$RL_UID.service/app.slice/test.scope"
}

# This host is hybrid, so a delegated subtree exists only as a fake tree: it shows where koker
# looks, what it writes and what it removes, not that the kernel then enforces the limits.
@test "rootless: limits in a delegated cgroup v2 subtree (a fake tree), stats, update, rm" {
    pulled one
    local tree=$RL_HOME/cgroup self group
    self=$(fake_delegation "$tree")
    local service=$tree/user.slice/user-$RL_UID.slice/user@$RL_UID.service
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-run -d --network none --name rl-dg --memory 64m --cpus 0.5 --pids-limit 50 \
        "$KOKER_TEST_REGISTRY/koker/one" sleep 1000
    assert_equal "" "$stderr"
    group=$service/koker/$output
    # what koker-cg mode says, and the subtree kept in the record (HostConfig.CgroupParent)
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-cg mode
    assert_equal "v2"$'\n'"rootless: delegated v2 subtree $service (controllers: memory pids cpu)" "$output"
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-system info --format '{{.CgroupDelegation}}'
    assert_equal "delegated v2 subtree $service (controllers: memory pids cpu)" "$output"
    run -0 --separate-stderr run_as "$RL_USER" koker-inspect --format '{{.HostConfig.CgroupParent}}' rl-dg
    assert_equal "$service" "$output"
    [[ $(cat "$group/memory.max") == 67108864 ]]
    [[ $(cat "$group/cpu.max") == "50000 100000" ]]
    [[ $(cat "$group/pids.max") == 50 ]]
    # the controllers handed down from the delegated group, and nothing written above it
    [[ $(cat "$service/koker/cgroup.subtree_control") == "+memory +pids +cpu" ]]
    [[ ! -s $tree/user.slice/user-$RL_UID.slice/cgroup.subtree_control ]]
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-stats --format json rl-dg
    assert_match '"MemLimit": 67108864'
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-update --pids-limit 77 rl-dg
    [[ $(cat "$group/pids.max") == 77 ]]
    # from a login session's scope (root's: nothing delegated above it) the group is still
    # found through the record: stats, and rm takes it away
    local session=/user.slice/user-$RL_UID.slice/session-1.scope
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$session" \
        koker-cg mode
    assert_equal "v2"$'\n'"rootless: no delegated cgroup (limits not applied)" "$output"
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$session" \
        koker-stats --format json rl-dg
    assert_match '"MemLimit": 67108864'
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$session" \
        koker-rm -f rl-dg
    [[ ! -e $group ]]
    # koker/ itself stays, as under root
    [[ -d $service/koker ]]

    # a subtree whose controllers lack cpu: --cpus cannot be applied there, one line and 125
    # (as for root), no group left, and no container
    echo "memory pids" >"$service/cgroup.controllers"
    run -125 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-run --rm --network none --cpus 0.5 "$KOKER_TEST_REGISTRY/koker/one" true
    [[ $stderr =~ ^"koker-run: fatal: unable to limit the CPUs of cgroup "[0-9a-f]{64}": no cpu controller in "[^$'\n']+$ ]]
    [[ -z $(find "$service/koker" -mindepth 1 -type d) ]]
    run -0 --separate-stderr run_as "$RL_USER" koker-ps -aq
    assert_equal "" "$output"

    # the same tree with user@UID.service left to root: nothing delegated, the warning
    rm -rf "$tree"
    self=$(fake_delegation "$tree" root)
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-run --rm --network none --memory 64m "$KOKER_TEST_REGISTRY/koker/one" true
    assert_equal "koker-run: warning: rootless: cgroup limits were not applied (no delegated cgroup v2 subtree)" "$stderr"
    [[ ! -e $service/koker ]]
    run -0 --separate-stderr run_as "$RL_USER" env KOKER_CGROUP_ROOT="$tree" KOKER_CGROUP_SELF="$self" \
        koker-cg mode
    assert_equal "v2"$'\n'"rootless: no delegated cgroup (limits not applied)" "$output"
}

@test "rootless: a root-owned 0600 file bound read-only cannot be read in the container" {
    pulled one
    local secret=$RL_HOME/secret
    echo 'root only' >"$secret"
    chown root:root "$secret"
    chmod 0600 "$secret"
    run -1 --separate-stderr as_user koker-run --rm --network none -v "$secret:/secret:ro" \
        "$KOKER_TEST_REGISTRY/koker/one" cat /secret
    assert_stderr_match "Permission denied"
    refute_match "root only"
}

@test "rootless: a user with no range in /etc/subuid is told the line to add" {
    run -125 --separate-stderr as_user "$RL_NORANGE" koker-pull -q "$KOKER_TEST_REGISTRY/koker/one"
    assert_equal "koker-pull: fatal: rootless: no range for $RL_NORANGE in /etc/subuid: add a line such as $RL_NORANGE:100000:65536" "$stderr"
}

@test "rootless: bad input is one line and 125; info shows the overlay and rootless" {
    run -125 --separate-stderr as_user koker-run --network none --memory lots one true
    [[ $stderr != *$'\n'* ]]
    assert_stderr_match "^koker-run: "
    run -0 as_user koker-system info
    assert_match "Overlay: overlayfs \(userxattr\)"
    assert_match "rootless"
    assert_match "Docker Root Dir: $RL_HOME/.local/share/koker"
    # the runtime directory is private to the user
    [[ ! -e /tmp/koker-$RL_UID ]] || assert_equal "$RL_UID 700" "$(stat -c '%u %a' "/tmp/koker-$RL_UID")"
}

# as_user_sh SCRIPT: a shell line run by the test user in its home (for files of its own).
as_user_sh() {
    runuser -u "$RL_USER" -- sh -c "cd && $1"
}

@test "rootless: volumes and bind mounts keep data between containers, owned by the user" {
    pulled one
    run -0 as_user koker-volume create rl-data
    run -0 as_user koker-run --rm --network none -v rl-data:/data "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'echo kept >/data/f; chown 1000:1000 /data/f'
    run -0 as_user koker-run --rm --network none -v rl-data:/data:ro "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'cat /data/f; stat -c %u /data/f'
    assert_equal $'kept\n1000' "$output"
    # in the user's store, through its subordinate ids
    run -0 as_user koker-volume inspect rl-data
    [[ $output =~ \"Mountpoint\":\ \"($RL_HOME/.local/share/koker/[^\"]+)\" ]]
    assert_equal "$((RL_SUBID_START + 999))" "$(stat -c %u "${BASH_REMATCH[1]}/f")"
    # a directory of the user's, bound: what the container writes as root is the user's
    as_user_sh 'mkdir -p bind && echo from-host >bind/in'
    run -0 as_user koker-run --rm --network none -v "$RL_HOME/bind:/b" "$KOKER_TEST_REGISTRY/koker/one" \
        sh -c 'cat /b/in && echo from-container >/b/out'
    assert_equal from-host "$output"
    assert_equal "$RL_UID from-container" "$(stat -c %u "$RL_HOME/bind/out") $(cat "$RL_HOME/bind/out")"
    run -0 as_user koker-volume rm rl-data
    run -0 as_user koker-volume ls -q
    assert_equal "" "$output"
}

@test "rootless: commit and diff of a container, and the new image runs" {
    pulled three
    # three's entrypoint is /bin/sh -c, its user koker (1000): root here to change /
    run -0 as_user koker-run -u 0 --network none --name rl-c "$KOKER_TEST_REGISTRY/koker/three" \
        'echo new >/added; rm /hello; mkdir -p /home/u && chown 1000 /home/u'
    run -0 as_user koker-diff rl-c
    assert_match "A /added"
    assert_match "D /hello"
    run -0 as_user koker-commit -q rl-c rl/committed:v1
    run -0 as_user koker-run --rm --network none rl/committed:v1 \
        'cat /added; test ! -e /hello && echo gone; stat -c %u /home/u; test ! -e /etc/gone && echo still-gone'
    assert_equal $'new\ngone\n1000\nstill-gone' "$output"
}

@test "rootless: build with RUN and COPY (--network none), and the image runs" {
    pulled one
    [[ -x $KOKER_BINDIR/koker-build ]] || skip "no bin/koker-build (make all)"
    as_user_sh "mkdir -p ctx && echo copied >ctx/file && printf '%s\n' \
        'FROM $KOKER_TEST_REGISTRY/koker/one' 'COPY --chown=1000:1000 file /c/file' \
        'RUN echo ran >/ran && rm -f /bin/true' 'CMD [\"cat\", \"/ran\"]' >ctx/Containerfile"
    run -0 --separate-stderr as_user koker-build -q --network none -t rl/built "$RL_HOME/ctx"
    [[ $output == sha256:* ]]
    run -0 as_user koker-run --rm --network none rl/built
    assert_equal ran "$output"
    run -0 as_user koker-run --rm --network none rl/built \
        sh -c 'stat -c "%u %n" /c/file; cat /c/file; test ! -e /bin/true && echo removed'
    assert_equal $'1000 /c/file\ncopied\nremoved' "$output"
    # the RUN steps' containers are gone
    run -0 as_user koker-ps -a -q
    assert_equal "" "$output"
}

@test "rootless: push to a registry and save/load through the user's own files" {
    pulled three
    local repo="$KOKER_TEST_REGISTRY/rootless-$RL_USER/three"
    run -0 as_user koker-push -q "$KOKER_TEST_REGISTRY/koker/three" "$repo:v1"
    # pulled back by root into a store of its own, the layers are the same
    run_koker 0 koker-pull -q "$repo:v1"
    run_koker 0 koker-run --rm --network none "$repo:v1" 'test ! -e /etc/gone && cat /hello'
    assert_equal "hello from layer 3" "$output"
    run -0 as_user koker-save -o "$RL_HOME/three.tar" "$KOKER_TEST_REGISTRY/koker/three"
    assert_equal "$RL_UID" "$(stat -c %u "$RL_HOME/three.tar")"
    run -0 as_user koker-rmi "$KOKER_TEST_REGISTRY/koker/three"
    run -0 as_user koker-load -q -i "$RL_HOME/three.tar"
    run -0 as_user koker-run --rm --network none "$KOKER_TEST_REGISTRY/koker/three" \
        'test ! -e /etc/gone && ls /opq && cat /hello'
    assert_equal $'c\nhello from layer 3' "$output"
}

@test "rootless: fuse-overlayfs when chosen (KOKER_ROOTLESS_OVERLAY): whiteouts, opaque directories, writes; it ends with the container" {
    pulled three
    [[ -e /dev/fuse ]] || skip "no /dev/fuse"
    command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs is missing"
    dev_mode /dev/fuse 666
    export KOKER_ROOTLESS_OVERLAY=fuse-overlayfs # as_user passes it on
    run -0 --separate-stderr as_user koker-run -D --rm --network none -u 0 \
        "$KOKER_TEST_REGISTRY/koker/three" \
        'test ! -e /etc/gone && ls /opq && cat /hello && echo new >/added && cat /added && mount | head -1'
    assert_equal $'c\nhello from layer 3\nnew' "$(sed -n 1,3p <<<"$output")"
    assert_match "fuse-overlayfs on / type fuse.fuse-overlayfs"
    assert_stderr_match "rootless: /usr/bin/fuse-overlayfs -o lowerdir="
    run -0 as_user koker-system info
    assert_match "Overlay: fuse-overlayfs"
    # a detached container's fuse-overlayfs lives in its mount namespace and goes with it
    run -0 as_user koker-run -d --network none --name rl-fuse "$KOKER_TEST_REGISTRY/koker/three" 'sleep 1000'
    run -0 pgrep -u "$RL_USER" -x fuse-overlayfs
    run -0 as_user koker-rm -f rl-fuse
    for _ in {1..50}; do pgrep -u "$RL_USER" -x fuse-overlayfs >/dev/null || break; sleep 0.1; done
    run ! pgrep -u "$RL_USER" -x fuse-overlayfs
    restore_dev_modes
}
