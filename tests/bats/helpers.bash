# shellcheck shell=bash source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# Loaded by every koker .bats file (`load helpers`), in the style of podman's test/system.
#
#   KOKER_BINDIR         the built tools (default: the repository's bin/); first in PATH
#   KOKER_TEST_TIMEOUT   seconds a run_koker command may take (default 120; 0: no limit)
#   KOKER_TEST_VERBOSE   1: also copy run_koker's log to the TAP stream (fd 3)
#
# setup/teardown: each test gets KOKER_ROOT=$BATS_TEST_TMPDIR/root (not created) and
# HOME=$BATS_TEST_TMPDIR/home (so no ~/.docker/config.json leaks in), KOKER_REGISTRY_MIRROR
# http://127.0.0.1:9 (a closed port: no Docker Hub name is ever looked up outside), and loses
# inherited DOCKER_CONFIG, KOKER_INSECURE_REGISTRIES, KOKER_DEBUG and KOKER_QUIET.
# A file that needs its own setup/teardown defines them and calls koker_setup/koker_teardown.
# teardown removes, even after a failure: processes in $BATS_TEST_TMPDIR/pids, leftover
# containers (koker-ps -a -q | koker-rm -f, when the tools are built), the bridges the store
# made (koker-net down), what was registered with koker_cleanup_later, mounts below
# $KOKER_ROOT or $BATS_TEST_TMPDIR, blobs changed by corrupt_blob, the front's faults, and
# $KOKER_ROOT itself.
#
# Functions:
#   run_koker [EXPECTED_RC|'?'] TOOL [ARG...]    TOOL is bin/TOOL, or a path if it has a '/'
#   requires root|netns|cgroup2|userns|registry...
#   koker_cleanup_later pid|pgid|cgroup|link|mount VALUE
#   assert_match REGEX [MSG], refute_match REGEX [MSG]           on $output
#   assert_stderr_match REGEX [MSG], refute_stderr_match REGEX [MSG]   on $stderr
#   assert_equal EXPECTED ACTUAL [MSG]
#   web NAME [RUN-OPTION...]   a detached httpd container serving "hello from NAME"
#   fetch_host URL    curl from the host into $output, retrying while a server starts
# and those of helpers.registry.bash (push_layout, corrupt_blob, front_control, ...) and
# helpers.fixtures.bash (mkimage, ...); helpers.servers.bash sets KOKER_TEST_PYTHON.

bats_require_minimum_version 1.5.0

# shellcheck source=helpers.servers.bash
source "${BASH_SOURCE[0]%/*}/helpers.servers.bash"
# shellcheck source=helpers.fixtures.bash
source "${BASH_SOURCE[0]%/*}/helpers.fixtures.bash"
# shellcheck source=helpers.registry.bash
source "${BASH_SOURCE[0]%/*}/helpers.registry.bash"

KOKER_REPO=$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)
KOKER_BINDIR=${KOKER_BINDIR:-$KOKER_REPO/bin}
KOKER_TEST_TIMEOUT=${KOKER_TEST_TIMEOUT:-120}
PATH=$KOKER_BINDIR:$PATH
export KOKER_REPO KOKER_BINDIR KOKER_TEST_TIMEOUT PATH

# ---------------------------------------------------------------- setup / teardown

koker_setup() {
    export KOKER_ROOT=$BATS_TEST_TMPDIR/root
    # A bridge and subnet of the tests' own, apart from a user's koker0 on 10.69.0.0/16.
    export KOKER_BRIDGE=${KOKER_TEST_BRIDGE:-ktest0} KOKER_SUBNET=${KOKER_TEST_SUBNET:-10.197.0.0/16}
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset DOCKER_CONFIG KOKER_INSECURE_REGISTRIES KOKER_DEBUG KOKER_QUIET
    # Docker Hub names never leave the host: a test that wants the Hub-like front sets the
    # mirror to it; every other one (an unknown image, say) meets a closed local port.
    export KOKER_REGISTRY_MIRROR=http://127.0.0.1:9
}

koker_teardown() {
    _koker_kill_pids
    _koker_remove_containers
    _koker_net_down
    _koker_cleanup_registered
    _koker_umount_below "${KOKER_ROOT:-}" "$BATS_TEST_TMPDIR"
    if [[ -f $BATS_TEST_TMPDIR/.koker-corrupted ]]; then
        restore_blobs || echo "# teardown: restore_blobs failed" >&2
    fi
    if [[ -f $BATS_TEST_TMPDIR/.koker-front-dirty ]]; then
        front_reset || echo "# teardown: front_reset failed" >&2
    fi
    _koker_remove_root
    return 0
}

setup() {
    koker_setup
}

teardown() {
    koker_teardown
}

# koker_cleanup_later KIND VALUE: have teardown undo something the test made on the host:
#   pid N      kill it (TERM, then KILL)       pgid N   kill its whole process group
#   cgroup DIR kill its processes, rmdir it    link DEV `ip link delete DEV`
#   mount DIR  `umount -l DIR`
koker_cleanup_later() {
    case $1 in
    pid) printf '%s\n' "$2" >>"$BATS_TEST_TMPDIR/pids" ;;
    pgid) printf -- '-%s\n' "$2" >>"$BATS_TEST_TMPDIR/pids" ;;
    cgroup | link | mount) printf '%s %s\n' "$1" "$2" >>"$BATS_TEST_TMPDIR/cleanup" ;;
    *)
        echo "koker_cleanup_later: unknown kind '$1'" >&2
        return 1
        ;;
    esac
}

_koker_kill_pids() {
    local file=$BATS_TEST_TMPDIR/pids pid i live
    [[ -s $file ]] || return 0
    local -a pids=()
    while read -r pid; do
        [[ $pid =~ ^-?[0-9]+$ ]] && [[ $pid != 0 && $pid != -0 && $pid != 1 && $pid != -1 ]] &&
            kill -TERM -- "$pid" 2>/dev/null && pids+=("$pid")
    done <"$file"
    for ((i = 0; i < 30; i++)); do
        live=0
        for pid in "${pids[@]}"; do
            kill -0 -- "$pid" 2>/dev/null && live=1
        done
        ((live)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL -- "$pid" 2>/dev/null && echo "# teardown: killed $pid" >&2
    done
    rm -f "$file"
}

_koker_remove_containers() {
    local ids
    [[ -n ${KOKER_ROOT:-} && -d $KOKER_ROOT ]] || return 0
    [[ -x $KOKER_BINDIR/koker-ps && -x $KOKER_BINDIR/koker-rm ]] || return 0
    ids=$(timeout 20 "$KOKER_BINDIR/koker-ps" -a -q 2>/dev/null) || return 0
    [[ -n $ids ]] || return 0
    # shellcheck disable=SC2086 # one container ID per word
    timeout 60 "$KOKER_BINDIR/koker-rm" -f $ids >/dev/null ||
        echo "# teardown: koker-rm -f $ids failed" >&2
}

# The bridges this test's store made (koker-run's default network) go with the store: their
# rules and ip_forward too. koker-net down refuses a bridge still serving another store.
_koker_net_down() {
    local dir
    [[ -n ${KOKER_ROOT:-} && -d $KOKER_ROOT/net && -x $KOKER_BINDIR/koker-net ]] || return 0
    for dir in "$KOKER_ROOT"/net/*/; do
        [[ -d $dir ]] || continue
        dir=${dir%/}
        KOKER_BRIDGE=${dir##*/} timeout 30 "$KOKER_BINDIR/koker-net" -q down ||
            echo "# teardown: koker-net down of bridge ${dir##*/} failed" >&2
    done
}

_koker_cleanup_registered() {
    local file=$BATS_TEST_TMPDIR/cleanup kind value
    [[ -s $file ]] || return 0
    # Last registered, first undone.
    while read -r kind value; do
        case $kind in
        cgroup)
            [[ -d $value ]] || continue
            if [[ -f $value/cgroup.kill ]]; then
                echo 1 >"$value/cgroup.kill" 2>/dev/null || true
            elif [[ -f $value/cgroup.procs ]]; then
                xargs -r kill -KILL <"$value/cgroup.procs" 2>/dev/null || true
            fi
            local i
            for ((i = 0; i < 20; i++)); do
                rmdir "$value" 2>/dev/null && break
                sleep 0.1
            done
            [[ -d $value ]] && echo "# teardown: cannot rmdir cgroup $value" >&2
            ;;
        link) ip link delete "$value" 2>/dev/null || true ;;
        mount) umount -l "$value" 2>/dev/null || true ;;
        esac
    done < <(tac "$file")
    rm -f "$file"
}

# _koker_umount_below DIR...: lazily unmount every mount at or below a DIR, deepest first,
# as listed in /proc/self/mountinfo (field 5, octal-escaped).
_koker_umount_below() {
    local pass mp prefix
    for ((pass = 0; pass < 5; pass++)); do
        local -a points=()
        while read -r _ _ _ _ mp _; do
            mp=$(printf '%b' "$mp")
            for prefix in "$@"; do
                [[ -n $prefix && $prefix != / ]] || continue
                if [[ $mp == "$prefix" || $mp == "$prefix"/* ]]; then
                    points+=("$mp")
                    break
                fi
            done
        done </proc/self/mountinfo
        ((${#points[@]})) || return 0
        while IFS= read -r mp; do
            umount -l "$mp" 2>/dev/null || echo "# teardown: cannot umount $mp" >&2
        done < <(printf '%s\n' "${points[@]}" | awk -F/ '{ print NF "\t" $0 }' | sort -rn -k1,1 | cut -f2-)
    done
}

_koker_remove_root() {
    local root=${KOKER_ROOT:-}
    [[ -n $root && -e $root ]] || return 0
    case $root in
    "$BATS_TEST_TMPDIR"/* | "${BATS_RUN_TMPDIR:-/nonexistent}"/* | /tmp/*) ;;
    *)
        echo "# teardown: not removing KOKER_ROOT=$root (outside the test's temp dirs)" >&2
        return 0
        ;;
    esac
    # The store keeps files read-only (0444, dirs 0555): a non-root run needs u+w to delete.
    chmod -R u+w "$root" 2>/dev/null || true
    rm -rf --one-file-system "$root" || echo "# teardown: cannot remove $root" >&2
}

# ---------------------------------------------------------------- running tools

_koker_log() {
    printf '%s\n' "$@" >&2
    if [[ ${KOKER_TEST_VERBOSE:-} == 1 ]]; then
        printf '%s\n' "$@" >&3
    fi
}

# web NAME [RUN-OPTION...]: a detached busybox httpd container of the fixture image `one`,
# serving "hello from NAME" on port 80; prints its ID (40-net, 47-usermode-net).
web() { # NAME [RUN-OPTION...]
    local name=$1
    shift
    koker-run -d --name "$name" "$@" one sh -c \
        "mkdir -p /www && echo 'hello from $name' >/www/index.html && exec httpd -f -p 80 -h /www"
}

# veths_left BRIDGE: the links still plugged into BRIDGE once the kernel has had up to 5 s to
# end the network namespaces of containers just removed (it deletes their veth pairs in a
# work queue, a moment after the last process; koker does not wait for it).
veths_left() {
    local _
    for _ in $(seq 50); do
        [[ -z $(ip -o link show master "$1" 2>/dev/null) ]] && return 0
        sleep 0.1
    done
    ip -o link show master "$1" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1
}

# fetch_host URL: curl from the host, retrying while the server starts; the
# published-port tests of 40-net and 47-usermode-net.
fetch_host() {
    local _
    for _ in $(seq 50); do
        output=$(curl -sS --max-time 2 --noproxy '*' "$1" 2>&1) && return 0
        sleep 0.1
    done
    echo "curl $1: $output"
    return 1
}

# run_koker [EXPECTED_RC|'?'] TOOL [ARG...]: run $KOKER_BINDIR/TOOL ARGS (a TOOL holding a
# '/' runs as given) through Bats' `run --separate-stderr`, under `timeout` (see
# KOKER_TEST_TIMEOUT).  Logs the command, its status, stdout and stderr, then fails the test
# unless the status is EXPECTED_RC (default 0; '?' accepts any).  Afterwards $status,
# $output, $lines, $stderr and $stderr_lines are set as by `run`.
# shellcheck disable=SC2154 # status, lines, stderr_lines: set by Bats' run
run_koker() {
    local expected=0
    if [[ ${1:-} =~ ^([0-9]{1,3}|\?)$ ]]; then
        expected=$1
        shift
    fi
    if (($# == 0)); then
        echo "run_koker: usage: run_koker [EXPECTED_RC] TOOL [ARG...]" >&2
        return 1
    fi
    local tool=$1 path
    shift
    path=$tool
    [[ $tool == */* ]] || path=$KOKER_BINDIR/$tool
    local -a cmd=("$path" "$@")
    if [[ $KOKER_TEST_TIMEOUT != 0 ]]; then
        cmd=(timeout --foreground -v --kill-after=10 "$KOKER_TEST_TIMEOUT" "${cmd[@]}")
    fi

    local shown
    shown=$(printf '%q ' "$tool" "$@")
    _koker_log "# \$ ${shown% }"
    # `run -N` keeps Bats from warning about 127 (BW01); its own rc check is replaced by ours
    # below, which prints more.  '?' has no -N, so a 127 there would warn: use 127 explicitly.
    if [[ $expected == '?' ]]; then
        run --separate-stderr -- "${cmd[@]}"
    else
        run "-$expected" --separate-stderr -- "${cmd[@]}" || true
        # shellcheck disable=SC2034 # Bats appends it to the failure message
        BATS_ERROR_SUFFIX=
    fi
    local line
    for line in "${lines[@]}"; do
        _koker_log "# stdout: $line"
    done
    for line in "${stderr_lines[@]}"; do
        _koker_log "# stderr: $line"
    done
    _koker_log "# [rc=$status]"
    if [[ $status -eq 124 && $KOKER_TEST_TIMEOUT != 0 && $expected != 124 ]]; then
        _koker_log "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" \
            "#| FAIL: timed out after ${KOKER_TEST_TIMEOUT}s: ${shown% }" \
            "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
        return 1
    fi
    if [[ $expected != '?' && $status -ne $expected ]]; then
        _koker_log "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" \
            "#| FAIL: exit code is $status; expected $expected" \
            "#| command: ${shown% }" \
            "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------- requirements

# requires WHAT...: skip the test, with the reason, unless each WHAT is available:
#   root, netns (unshare --net works), cgroup2 (unified hierarchy at /sys/fs/cgroup),
#   userns (unshare --user works), registry (setup_suite started the test registries).
requires() {
    local what
    for what; do
        case $what in
        root)
            [[ $(id -u) -eq 0 ]] || skip "requires root"
            ;;
        netns)
            unshare --net true 2>/dev/null ||
                skip "requires network namespaces (unshare --net fails here)"
            ;;
        cgroup2)
            [[ -f /sys/fs/cgroup/cgroup.controllers ]] ||
                skip "requires cgroup v2 (no unified hierarchy at /sys/fs/cgroup)"
            ;;
        userns)
            unshare --user true 2>/dev/null ||
                skip "requires user namespaces (unshare --user fails here)"
            ;;
        registry)
            [[ -n ${KOKER_TEST_REGISTRY:-} ]] ||
                skip "requires the test registries (setup_suite.bash did not start them)"
            ;;
        *)
            echo "requires: unknown requirement '$what'" >&2
            return 1
            ;;
        esac
    done
}

# ---------------------------------------------------------------- asserts

_koker_fail() {
    local what=$1 expect=$2 actual=$3
    _koker_log "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" \
        "#| FAIL: $what" \
        "#| expected: $expect"
    local line first=1
    while IFS= read -r line; do
        if ((first)); then
            _koker_log "#| actual:   $line"
            first=0
        else
            _koker_log "#|         > $line"
        fi
    done <<<"$actual"
    _koker_log "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
    return 1
}

# assert_match REGEX [MSG]: $output must match the bash regex REGEX.
assert_match() {
    [[ ${output-} =~ $1 ]] || _koker_fail "${2:-stdout does not match}" "=~ $1" "${output-}"
}

refute_match() {
    if [[ ${output-} =~ $1 ]]; then
        _koker_fail "${2:-stdout matches}" "!~ $1" "${output-}"
    fi
}

assert_stderr_match() {
    [[ ${stderr-} =~ $1 ]] || _koker_fail "${2:-stderr does not match}" "=~ $1" "${stderr-}"
}

refute_stderr_match() {
    if [[ ${stderr-} =~ $1 ]]; then
        _koker_fail "${2:-stderr matches}" "!~ $1" "${stderr-}"
    fi
}

assert_equal() {
    [[ $1 == "$2" ]] || _koker_fail "${3:-values differ}" "$1" "$2"
}
