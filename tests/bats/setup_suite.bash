# shellcheck shell=bash source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# Run once per `bats tests/bats` (bats >= 1.5 finds this file beside the first .bats file):
# starts the test registries, the token server and the Docker-Hub-like front on 127.0.0.1,
# builds and pushes the fixture images, and exports the KOKER_TEST_* variables listed in
# helpers.servers.bash and helpers.fixtures.bash.  teardown_suite stops every server and
# removes the temp dir; Bats calls it even when setup_suite fails halfway (its EXIT trap),
# and the pids it kills are written to $KOKER_TEST_SUITE_DIR/pids as each server starts.
#
# KOKER_TEST_NO_REGISTRY=1 skips all of it (tests that `requires registry` then skip);
# KOKER_TEST_KEEP=1 keeps the temp dir for a post-mortem.

# koker_suite_start (helpers.servers.bash) builds the fixtures with helpers.fixtures.bash,
# whose push checks the result with registry_manifest (helpers.registry.bash).
# shellcheck source=helpers.servers.bash
source "${BASH_SOURCE[0]%/*}/helpers.servers.bash"
# shellcheck source=helpers.fixtures.bash
source "${BASH_SOURCE[0]%/*}/helpers.fixtures.bash"
# shellcheck source=helpers.registry.bash
source "${BASH_SOURCE[0]%/*}/helpers.registry.bash"

setup_suite() {
    bats_require_minimum_version 1.5.0
    # Root podman (the oracle tests, 61-oci-engines) makes its SHM lock file once and never
    # removes it: teardown_suite does, when the suite made it.
    [[ -e /dev/shm/libpod_lock ]] || export KOKER_TEST_MADE_PODMAN_LOCK=1
    # What the containers of the suite make once per host and leave for the next run, as
    # docker leaves its own: koker's parent cgroups, its state directory /run/koker, and
    # runc's default root (the oracle tests). teardown_suite removes those the suite made.
    local made=() p
    for p in $(suite_shared_paths); do
        [[ -e $p ]] || made+=("$p")
    done
    export KOKER_TEST_MADE_SHARED="${made[*]}"
    if [[ ${KOKER_TEST_NO_REGISTRY:-} == 1 ]]; then
        echo "koker test: KOKER_TEST_NO_REGISTRY=1, no registries or fixtures"
        return 0
    fi
    koker_suite_start
}

teardown_suite() {
    koker_suite_stop
    # podman's own cleanup processes (conmon runs `podman container cleanup`) may still be
    # ending: give them a few seconds before the lock goes.
    local i p
    for ((i = 0; i < 50; i++)); do
        pgrep -x podman >/dev/null || break
        sleep 0.1
    done
    if [[ -n ${KOKER_TEST_MADE_PODMAN_LOCK:-} ]] && ! pgrep -x podman >/dev/null; then
        rm -f /dev/shm/libpod_lock
    fi
    # Deepest first: a cgroup directory goes only when empty (rmdir), state directories
    # hold lock files only.
    for p in ${KOKER_TEST_MADE_SHARED:-}; do
        case $p in
            /sys/fs/cgroup/*) [[ -d $p ]] && find "$p" -depth -type d -exec rmdir {} + 2>/dev/null ;;
            /run/koker | /run/runc) rm -rf --one-file-system "$p" ;;
        esac
    done
    return 0
}

# The shared paths the suite's containers may make: koker's parent cgroup in each hierarchy
# of this host (v1 controllers and the unified tree), /run/koker and runc's /run/runc.
suite_shared_paths() {
    local d
    for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [[ -d $d && ! -L ${d%/} ]] && echo "${d}koker"
    done | sort -u
    echo /run/koker
    echo /run/runc
}
