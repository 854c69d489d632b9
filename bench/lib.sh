# shellcheck shell=bash source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# Shared pieces of koker's benchmarks (bench/pull.sh, bench/run.sh); sourced, never run.
#
#   BENCH_TOP                the source tree (bench/..); tools come from $BENCH_TOP/bin
#   bench_log TEXT...        progress on stderr: `bench: TEXT`
#   bench_die TEXT...        `bench: fatal: TEXT` on stderr, exit 1
#   bench_deps PKG...        apt-get the Debian packages that are missing (tests/install-deps.sh)
#   bench_workdir NAME       make $BENCH_WORK, a fresh temp dir that bench_cleanup removes
#   bench_on_exit FUNC       call FUNC at exit (newest first), even after a failure
#   bench_time LOG CMD...    run CMD, output in LOG; sets BENCH_NS to its wall time in ns
#   bench_median NS...       print the median (the mean of the middle two for an even count)
#   bench_ms NS              print NS as milliseconds, e.g. 12.34
#   bench_machine            the markdown lines naming the machine, kernel and date
#   bench_umount_under DIR   unmount every mount point at or below DIR, deepest first
#   bench_podman DIR         set PODMAN to podman with its own store in DIR (runroot in /run)
#   bench_scratch SIZE       set BENCH_SCRATCH to where the stores go: a fresh ext4 file system
#                            of SIZE on a loop device, mounted under $BENCH_WORK, or, if
#                            BENCH_SCRATCH names a directory already, a temp dir in it;
#                            either goes at exit
#
# The suite's registry helpers (tests/bats/helpers.registry.bash) are sourced too, so
# koker_registry_start, koker_make_rootfs and friends work with KOKER_TEST_SUITE_DIR set to
# $BENCH_WORK.

BENCH_TOP=$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)
# The helpers look python3 up when sourced; on a fresh machine bench_deps installs it later.
KOKER_TEST_PYTHON=${KOKER_TEST_PYTHON:-/usr/bin/python3}
# shellcheck source=../tests/bats/helpers.registry.bash
source "$BENCH_TOP/tests/bats/helpers.registry.bash"

BENCH_WORK=
BENCH_EXIT_CMDS=()

bench_log() {
    printf 'bench: %s\n' "$*" >&2
}

bench_die() {
    printf 'bench: fatal: %s\n' "$*" >&2
    exit 1
}

bench_deps() {
    sh "$BENCH_TOP/tests/install-deps.sh" "$@" || bench_die "unable to install $*"
}

# Every cleanup step runs even when an earlier one fails; the exit status is kept.
bench_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    set +eu # clean up as much as possible, whatever state the failure left
    for ((i = ${#BENCH_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
        "${BENCH_EXIT_CMDS[i]}"
    done
    remove_podman_runroots # last: a `podman rm` above would make them again
    if [[ -n ${KOKER_TEST_SUITE_DIR:-} ]]; then
        KOKER_TEST_KEEP=${BENCH_KEEP:-} koker_suite_stop
    fi
    exit "$rc"
}

bench_on_exit() {
    BENCH_EXIT_CMDS+=("$1")
}

bench_workdir() {
    BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/koker-bench-$1.XXXXXX")
    chmod 0755 "$BENCH_WORK"
    # helpers.registry.bash keeps its servers' pids and logs here; koker_suite_stop kills
    # them and removes the dir (after the bench_on_exit steps have unmounted what they mounted).
    KOKER_TEST_SUITE_DIR=$BENCH_WORK
    export KOKER_TEST_SUITE_DIR
    : >"$BENCH_WORK/pids"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# EPOCHREALTIME is a builtin (no fork), so only CMD's own fork, exec and wait are timed.
bench_time() {
    local log=$1 t0 t1
    shift
    t0=${EPOCHREALTIME/[.,]/}
    if ! "$@" >"$log" 2>&1 </dev/null; then
        bench_log "failed: $*"
        cat "$log" >&2
        return 1
    fi
    t1=${EPOCHREALTIME/[.,]/}
    # shellcheck disable=SC2034 # the result, read by the caller
    BENCH_NS=$(((t1 - t0) * 1000))
}

bench_median() {
    local -a s
    mapfile -t s < <(printf '%s\n' "$@" | sort -n)
    local n=${#s[@]}
    ((n > 0)) || bench_die "bench_median: no samples"
    if ((n % 2)); then
        printf '%s\n' "${s[n / 2]}"
    else
        printf '%s\n' $(((s[n / 2 - 1] + s[n / 2]) / 2))
    fi
}

bench_ms() {
    local us=$((($1 + 5000) / 10000))
    printf '%d.%02d\n' $((us / 100)) $((us % 100))
}

bench_machine() {
    local model
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    printf -- '- machine: %s CPUs, %s, %s MiB RAM\n' "$(nproc)" "${model:-unknown CPU}" \
        "$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))"
    printf -- '- kernel: %s %s; cgroups: %s\n' "$(uname -s)" "$(uname -r)" \
        "$(if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then echo v2; else echo 'v1 (hybrid)'; fi)"
    printf -- '- stores on: %s\n' "$BENCH_SCRATCH_WHAT"
    printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
}

bench_umount_under() {
    local dir=$1 mp
    [[ -d $dir ]] || return 0
    dir=$(realpath "$dir")
    findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r |
        while read -r mp; do
            umount -l "$mp" 2>/dev/null || true
        done
}

bench_umount_scratch() {
    local mp
    [[ -n ${BENCH_SCRATCH_MNT:-} ]] || return 0
    findmnt -rn -o TARGET | awk -v d="$BENCH_SCRATCH_MNT" 'index($0, d "/") == 1' | sort -r |
        while read -r mp; do
            umount -l "$mp" 2>/dev/null || true
        done
    # Not lazy unless it must be: a plain umount frees the loop device before it returns.
    umount "$BENCH_SCRATCH_MNT" 2>/dev/null || umount -l "$BENCH_SCRATCH_MNT" 2>/dev/null || true
}

bench_remove_scratch() {
    bench_umount_under "$BENCH_SCRATCH"
    rm -rf --one-file-system "$BENCH_SCRATCH"
}

# A fresh file system for the stores: every run creates and deletes thousands of files, and
# on a file system without a journal ext4 then skips "recently deleted" inodes for minutes
# (recently_deleted() in fs/ext4/ialloc.c), so later runs would time the allocator, not the
# tool. A journalled ext4 made here has neither that history nor that behaviour.
bench_scratch() {
    if [[ -n ${BENCH_SCRATCH:-} ]]; then
        mkdir -p "$BENCH_SCRATCH"
        BENCH_SCRATCH_WHAT="$(realpath "$BENCH_SCRATCH") ($(findmnt -n -o FSTYPE -T "$BENCH_SCRATCH"), set by BENCH_SCRATCH)"
        BENCH_SCRATCH=$(mktemp -d "$(realpath "$BENCH_SCRATCH")/koker-bench.XXXXXX")
        bench_on_exit bench_remove_scratch
        return 0
    fi
    BENCH_SCRATCH_MNT=$BENCH_WORK/scratch
    mkdir -p "$BENCH_SCRATCH_MNT"
    truncate -s "$1" "$BENCH_WORK/scratch.img"
    mkfs.ext4 -q -F "$BENCH_WORK/scratch.img"
    bench_on_exit bench_umount_scratch
    mount -o loop "$BENCH_WORK/scratch.img" "$BENCH_SCRATCH_MNT"
    BENCH_SCRATCH=$BENCH_SCRATCH_MNT
    BENCH_SCRATCH_WHAT="a fresh $1 ext4 (mkfs.ext4 defaults, journal) on a loop device, file in $(findmnt -n -o FSTYPE -T "$BENCH_WORK") $BENCH_WORK"
}

remove_podman_runroots() {
    [[ -n ${BENCH_PODMAN_RUN:-} ]] || return 0
    bench_umount_under "$BENCH_PODMAN_RUN"
    rm -rf --one-file-system "$BENCH_PODMAN_RUN"
}

# podman refuses a runroot path longer than 50 characters, so runroots live in
# /run/koker-bench.XXXXXX/NAME, NAME being DIR's base name.  cgroupfs and the file events
# backend: no systemd here.
bench_podman() {
    local dir=$1
    if [[ -z ${BENCH_PODMAN_RUN:-} ]]; then
        BENCH_PODMAN_RUN=$(mktemp -d /run/koker-bench.XXXXXX)
    fi
    # shellcheck disable=SC2034 # the result, used by the caller
    PODMAN=(podman --root "$dir/root" --runroot "$BENCH_PODMAN_RUN/${dir##*/}" --tmpdir "$dir/tmp"
        --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
}
