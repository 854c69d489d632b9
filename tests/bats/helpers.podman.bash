# shellcheck shell=bash
# For the suites that check koker against podman as an oracle (load helpers, then load
# helpers.podman): podman with a store, run dirs, events and temp files of the test's own,
# nothing of the host's, removed whole at teardown.

# podman_setup: sets PODMAN (the command with its options) and CONTAINERS_CONF; skips the
# test when podman is not installed.
podman_setup() {
    command -v podman >/dev/null || skip "podman is not installed (make deps-test)"
    PD=$BATS_TEST_TMPDIR/podman
    mkdir -p "$PD/root" "$PD/runroot" "$PD/tmp"
    cat >"$PD/containers.conf" <<EOF
[containers]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PD/tmp"
EOF
    export CONTAINERS_CONF=$PD/containers.conf
    PODMAN=("$(command -v podman)" --root "$PD/root" --runroot "$PD/runroot" --storage-driver vfs)
}

# podman_teardown: removes the test's podman containers, images and store.
podman_teardown() {
    timeout 60 "${PODMAN[@]}" rm --all --force --time 0 >/dev/null 2>&1 ||
        echo "# teardown: podman rm --all --force failed" >&2
    timeout 60 "${PODMAN[@]}" rmi --all --force >/dev/null 2>&1 ||
        echo "# teardown: podman rmi --all --force failed" >&2
    _koker_umount_below "$PD"
    chmod -R u+w "$PD" 2>/dev/null
    rm -rf --one-file-system "$PD" || echo "# teardown: cannot remove $PD" >&2
}
