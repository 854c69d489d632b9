#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
#
# koker-oci as the runtime of a rootless podman (issue 20.6, docs/rootless.md): podman 4.3 run
# by the unprivileged test user (helpers.rootless.bash) calls koker-oci as uid 0 of its own
# user namespace, with no --root (koker-oci keeps its state in $XDG_RUNTIME_DIR/koker-oci) and
# no cgroup it may make on this host. The user, its podman store, podman's pause process and
# everything else go in teardown_file, even after a failure.

load helpers
load helpers.rootless

setup_file() {
    command -v podman >/dev/null || skip "podman is not installed (make deps-test)"
    [[ -f ${KOKER_TEST_FIXTURES:-}/one-oci.tar ]] ||
        skip "needs the fixture one-oci.tar (KOKER_TEST_NO_REGISTRY=1 builds no fixtures)"
    rootless_users_make
    # The user's own podman settings: no systemd user session here (cgroupfs, events in a
    # file), the host's limits above podman's defaults, conmon passing --log-format json.
    install -d -o "$RL_USER" -g "$RL_USER" "$RL_HOME/.config" "$RL_HOME/.config/containers"
    cat >"$RL_HOME/.config/containers/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["koker-oci", "crun", "runc"]
EOF
    chown "$RL_USER:" "$RL_HOME/.config/containers/containers.conf"
    # The fixture image, from a copy the user may read.
    install -m 0644 -o "$RL_USER" "$KOKER_TEST_FIXTURES/one-oci.tar" "$RL_HOME/one-oci.tar"
    upodman pull -q "oci-archive:$RL_HOME/one-oci.tar" >"$BATS_FILE_TMPDIR/image"
}

teardown_file() {
    rootless_users_remove
}

setup() {
    koker_setup
    IMAGE=$(tail -n 1 "$BATS_FILE_TMPDIR/image")
    [[ $IMAGE =~ ^[0-9a-f]{64}$ ]]
}

teardown() {
    restore_dev_modes
    upodman rm --all --force --time 0 >/dev/null 2>&1 || echo "# teardown: podman rm failed" >&2
    koker_teardown
}

# upodman ARGS...: podman run by the test user, with its XDG_RUNTIME_DIR, koker-oci the runtime.
upodman() {
    run_as "$RL_USER" env XDG_RUNTIME_DIR="$RL_XDG" podman --runtime "$KOKER_BINDIR/koker-oci" "$@"
}

@test "rootless podman run: exit codes, the user namespace, an image file of uid 1000; koker-oci's state in XDG_RUNTIME_DIR" {
    run -0 --separate-stderr upodman run --rm --network none "$IMAGE" true
    run -3 --separate-stderr upodman run --rm --network none "$IMAGE" sh -c 'echo out; echo err >&2; exit 3'
    assert_equal out "$output"
    assert_equal err "$stderr"
    run -127 --separate-stderr upodman run --rm --network none "$IMAGE" nonexistent
    assert_stderr_match 'exec: "nonexistent": executable file not found in \$PATH'
    # root inside is the user outside; uid 1000 of the image is a subordinate id
    run -0 --separate-stderr upodman run --rm --network none "$IMAGE" \
        sh -c 'id -u; cat /proc/self/uid_map; stat -c %u /home/koker'
    assert_equal 4 "${#lines[@]}"
    assert_equal 0 "${lines[0]}"
    local map=()
    read -r -a map <<<"${lines[1]} ${lines[2]}" # the kernel pads the columns
    assert_equal "0 $RL_UID 1 1 $RL_SUBID_START $RL_SUBID_COUNT" "${map[*]}"
    assert_equal 1000 "${lines[3]}"
    # no cgroup of its own on this host: the container's is the caller's
    run -0 --separate-stderr upodman run --rm --network none "$IMAGE" cat /proc/self/cgroup
    refute_match "[0-9a-f]{64}"
    # koker-oci kept its containers in the user's runtime directory, and removed them
    [[ -d $RL_XDG/koker-oci ]]
    [[ $(stat -c %U "$RL_XDG/koker-oci") == "$RL_USER" ]]
    run -0 find "$RL_XDG/koker-oci" -mindepth 1
    assert_equal "" "$output"
    run -0 --separate-stderr upodman ps -a -q
    assert_equal "" "$output"
}

@test "rootless podman run -d, exec, logs, stop, rm through koker-oci" {
    run -0 --separate-stderr upodman run -d --network none --name r1 "$IMAGE" sh -c 'echo started; exec sleep 100'
    run -0 --separate-stderr upodman exec r1 sh -c 'echo in exec; id -u'
    assert_equal $'in exec\n0' "$output"
    run -3 --separate-stderr upodman exec r1 sh -c 'exit 3'
    run -0 --separate-stderr upodman logs r1
    assert_equal started "$output"
    run -0 --separate-stderr upodman inspect -f '{{.State.Status}}' r1
    assert_equal running "$output"
    run -0 --separate-stderr upodman stop -t 1 r1
    run -0 --separate-stderr upodman inspect -f '{{.State.Status}}' r1
    assert_equal exited "$output"
    run -0 --separate-stderr upodman rm r1
    run -0 --separate-stderr upodman ps -a -q
    assert_equal "" "$output"
    run -0 find "$RL_XDG/koker-oci" -mindepth 1
    assert_equal "" "$output"
}

@test "rootless podman's default network (slirp4netns) through koker-oci, /dev/net/tun 0666 as Debian has it" {
    [[ -e /dev/net/tun ]] || skip "no /dev/net/tun"
    command -v slirp4netns >/dev/null || skip "requires slirp4netns"
    dev_mode /dev/net/tun 0666
    run -0 --separate-stderr upodman run --rm "$IMAGE" sh -c 'ls /sys/class/net | sort'
    assert_equal $'lo\ntap0' "$output"
}

@test "koker-oci in the user's podman unshare: a bundle asking for limits fails create in one line (no cgroup may be made), without them it runs" {
    local bundle=$RL_HOME/bundle
    mkdir "$bundle"
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$bundle/rootfs"
    koker-oci spec --bundle "$bundle"
    jq '.process.terminal = false | .process.args = ["sh", "-c", "echo ran; exit 3"]' \
        "$bundle/config.json" >"$bundle/plain.json"
    jq '.linux.resources.memory.limit = 67108864' "$bundle/plain.json" >"$bundle/config.json"
    chown -R "$RL_USER:" "$bundle"
    # root of podman's user namespace (the user outside), with the user's runtime directory
    ushare() {
        run_as "$RL_USER" env XDG_RUNTIME_DIR="$RL_XDG" podman unshare "$@"
    }
    # exit 1: koker-oci fails as runc does (man koker-oci, EXIT STATUS)
    run -1 --separate-stderr ushare koker-oci run --bundle "$bundle" rl-limits
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match 'unable to apply linux.resources of .*/config.json: no cgroup may be made'
    run_as "$RL_USER" cp "$bundle/plain.json" "$bundle/config.json"
    run -3 --separate-stderr ushare koker-oci run --bundle "$bundle" rl-plain
    assert_equal ran "$output"
    run -0 find "$RL_XDG/koker-oci" -mindepth 1
    assert_equal "" "$output"
}
