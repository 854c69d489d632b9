#!/usr/bin/env bats
# One engine: every koker-run container is an OCI bundle (config.json, and rootfs/ where its
# root is mounted, in its own mount namespace)
# run by the init koker-oci uses; runc and koker-oci run such a bundle as it is.
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() {
    [[ -n ${RUNC_ROOT:-} ]] && for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
        runc --root "$RUNC_ROOT" delete --force "$id"
        rmdir /sys/fs/cgroup/*/koker-test-runc 2>/dev/null || true
    done
    koker_teardown
}

# copy_config BUNDLE DIR CGROUP WORDS...: DIR/config.json, BUNDLE's with DIR/rootfs for its
# root (the running container's files: its root is mounted in its own mount namespace only,
# so koker-export gives them), a cgroup of its own and a command that prints WORDS and the
# host name. Python, not jq: jq rounds the seccomp masks past 2^53.
copy_config() {
    python3 - "$@" <<'PY'
import json, sys
bundle, out, cgroup, words = sys.argv[1], sys.argv[2], sys.argv[3], " ".join(sys.argv[4:])
c = json.load(open(bundle + "/config.json"))
c["root"] = {"path": out + "/rootfs", "readonly": True}
c["process"]["args"] = ["sh", "-c", "echo " + words + "; cat /etc/hostname"]
c["linux"]["cgroupsPath"] = cgroup
json.dump(c, open(out + "/config.json", "w"))
PY
}

@test "koker-run: the container's bundle holds its OCI config and its mounted root; inspect names it" {
    id=$(koker-run -d --network none -u 1:2 -w /tmp -e FOO=bar --read-only \
        -v "$BATS_TEST_TMPDIR:/data:ro" --pids-limit 50 one sleep 300)
    run_koker 0 koker-inspect "$id"
    output_of_inspect=$output
    bundle=$(jq -r '.[0].BundlePath' <<<"$output")
    assert_equal "$KOKER_ROOT/containers/$id/bundle" "$bundle"
    config=$bundle/config.json
    assert_equal '["sleep","300"]' "$(jq -c .process.args "$config")"
    assert_equal '1 2 /tmp true' "$(jq -r '[.process.user.uid, .process.user.gid, .process.cwd, .root.readonly] | join(" ")' "$config")"
    jq -e '.process.env | index("FOO=bar")' "$config" >/dev/null
    assert_equal '/data rbind,rprivate,rro' "$(jq -r '.mounts[] | select(.destination == "/data") | "\(.destination) \(.options | join(","))"' "$config")"
    assert_equal "/koker/$id 50" "$(jq -r '"\(.linux.cgroupsPath) \(.linux.resources.pids.limit)"' "$config")"
    assert_equal SCMP_ACT_ERRNO "$(jq -r .linux.seccomp.defaultAction "$config")"
    # a non-root user keeps its capabilities in the bounding set only, as in docker
    assert_equal '0 11' "$(jq -r '"\(.process.capabilities.effective | length) \(.process.capabilities.bounding | length)"' "$config")"
    # its root is mounted in its own mount namespace, not on the host (launch.hpp)
    run grep -c " $bundle/rootfs " /proc/self/mountinfo
    assert_equal 0 "$output"
    pid=$(jq -r '.[0].State.Pid' <<<"$output_of_inspect")
    assert_equal overlay "$(awk '$5 == "/" { print $9 }' "/proc/$pid/mountinfo")"
    # what the container sees is what the config says
    run_koker 0 koker-exec "$id" sh -c 'id -u; id -g; pwd; echo $FOO'
    assert_equal "1 2 /tmp bar" "${lines[*]}"
    run_koker 0 koker-rm -f "$id"
    run grep -c " $bundle/rootfs " /proc/self/mountinfo
    assert_equal 0 "$output"
}

@test "koker-run -D shows the config.json it built, and the steps that carry it out" {
    run_koker 0 koker-run -D --rm --network none one true
    assert_stderr_match "debug: write $KOKER_ROOT/containers/[0-9a-f]{64}/bundle/config.json:"
    assert_stderr_match '"ociVersion": "1.0.2"'
    assert_stderr_match "mount -t overlay"
    assert_stderr_match "pivot_root"
}

@test "runc runs a koker container's bundle as it is" {
    RUNC_ROOT=$BATS_TEST_TMPDIR/runc
    id=$(koker-run -d --network none one sh -c 'echo from koker; sleep 300')
    bundle=$KOKER_ROOT/containers/$id/bundle
    # its own copy of the config, so that runc's container has a cgroup of its own
    mkdir -p "$BATS_TEST_TMPDIR/b/rootfs"
    koker-export "$id" | tar -x -C "$BATS_TEST_TMPDIR/b/rootfs"
    copy_config "$bundle" "$BATS_TEST_TMPDIR/b" /koker-test-runc from runc
    run_koker 0 "$(command -v runc)" --root "$RUNC_ROOT" run -b "$BATS_TEST_TMPDIR/b" "koker-test-$$"
    assert_equal "from runc ${id:0:12}" "${lines[*]}"
}

@test "koker-oci runs a koker container's bundle as it is" {
    id=$(koker-run -d --network none one sh -c 'sleep 300')
    bundle=$KOKER_ROOT/containers/$id/bundle
    mkdir -p "$BATS_TEST_TMPDIR/b/rootfs"
    koker-export "$id" | tar -x -C "$BATS_TEST_TMPDIR/b/rootfs"
    copy_config "$bundle" "$BATS_TEST_TMPDIR/b" /koker-test-oci from koker-oci
    run_koker 0 koker-oci --root "$BATS_TEST_TMPDIR/oci" run -b "$BATS_TEST_TMPDIR/b" "koker-test-$$"
    assert_equal "from koker-oci ${id:0:12}" "${lines[*]}"
}
