#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/rootless.sh: start to exit of `true` with `--network none`, rootless, koker-run against
# podman run (issue 20 point 9), both run by a bench user this script makes (useradd, a range
# in /etc/subuid and /etc/subgid) and removes at exit.  Markdown tables on stdout, progress on
# stderr.  See bench/README.md.
#
#   BENCH_RUNS=20             timed runs per tool, after BENCH_WARMUP=3 untimed ones
#   BENCH_ROOTLESS_SUBID=500000   the first subordinate id of the bench user's 65536
#   BENCH_KEEP=1              keep the temp dir (logs)
#
# The runs are timed by one bash loop running as the user, so that runuser and its PAM
# session are paid once, not in every sample; the tools take turns run by run.

# `make bench` may run this with sh; the rest needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=targets.sh
source "${BASH_SOURCE[0]%/*}/targets.sh"

RUNS=${BENCH_RUNS:-20}
WARMUP=${BENCH_WARMUP:-3}
SUBID=${BENCH_ROOTLESS_SUBID:-500000}
SUBID_COUNT=65536
TOOLS=(true koker podman)

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $WARMUP =~ ^[0-9]+$ ]] || bench_die "BENCH_WARMUP must be a number, not '$WARMUP'"
[[ $SUBID =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_ROOTLESS_SUBID must be a number, not '$SUBID'"

# podman as the user, rootless on this kind of host: no systemd user session, so cgroupfs
# (with cgroup v1 a rootless podman makes no cgroup at all) and events in a file.  Its
# default storage driver here is vfs (a copy of the image per container); overlay (the
# kernel's, in the user namespace, as koker's) is asked for, so both stack layers alike.
# podman load names the archive's bench/busybox docker.io/bench/busybox; --pull never keeps
# it from looking anywhere.
PODMAN=(podman --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
PODMAN_RUN=("${PODMAN[@]}" run --rm --pull never --network none
    --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 docker.io/bench/busybox:latest true)

# ---------------------------------------------------------------- the bench user

# The user's name is noted before useradd, so that remove_user undoes whatever was made.
make_user() {
    BUSER=kokerbench$$
    echo "$BUSER" >"$BENCH_WORK/user"
    bench_on_exit remove_user
    useradd -m -s /bin/sh "$BUSER"
    # useradd may give a range of its own choosing (login.defs SUB_UID_MIN): the bench's instead.
    sed -i "/^$BUSER:/d" /etc/subuid /etc/subgid
    echo "$BUSER:$SUBID:$SUBID_COUNT" >>/etc/subuid
    echo "$BUSER:$SUBID:$SUBID_COUNT" >>/etc/subgid
    BHOME=$(getent passwd "$BUSER" | cut -d: -f6)
    BUID=$(id -u "$BUSER")
    # XDG_RUNTIME_DIR as a login would have it, private to the user (podman's pause process
    # and koker's live state go there).
    BXDG=$BENCH_WORK/xdg
    install -d -m 0700 -o "$BUSER" -g "$BUSER" "$BXDG"
}

# Its processes (podman's pause process, any container left), its home (both stores), its
# ranges, koker's fallback runtime directory, and podman's lock file in /dev/shm (libpod's
# SHM lock, made per uid outside the runtime directory, which podman never removes).  Mounts
# are in the user's own namespaces, which end with its processes.
remove_user() {
    local u
    [[ -f $BENCH_WORK/user ]] || return 0
    u=$(cat "$BENCH_WORK/user")
    if id "$u" >/dev/null 2>&1; then
        local uid
        uid=$(id -u "$u")
        pkill -KILL -u "$u" 2>/dev/null || true
        # and what runs as its subordinate ids (pkill takes no range)
        ps -e -o pid= -o uid= | awk -v a="$SUBID" -v b="$((SUBID + SUBID_COUNT - 1))" \
            '$2 >= a && $2 <= b { print $1 }' | xargs -r kill -KILL 2>/dev/null || true
        sleep 0.2
        userdel -r "$u" 2>/dev/null || userdel "$u" 2>/dev/null || true
        rm -rf "/home/${u:?}" "/tmp/koker-${uid:?}" "/dev/shm/libpod_rootless_lock_${uid:?}"
    fi
    sed -i "/^$u:/d" /etc/subuid /etc/subgid
}

# as_user CMD...: CMD as the bench user, with a clean environment of its own.
as_user() {
    runuser -u "$BUSER" -- env -i HOME="$BHOME" XDG_RUNTIME_DIR="$BXDG" \
        PATH="$KOKER_BIN:/usr/sbin:/usr/bin:/sbin:/bin" KOKER_REGISTRY_MIRROR=http://127.0.0.1:9 "$@"
}

# ---------------------------------------------------------------- set-up

# The same image for both: a busybox root file system saved by a root koker into an archive
# that each loads as the user (koker-load, podman load).
setup() {
    local store=$BENCH_WORK/root-store
    bench_koker_image "$BENCH_WORK/rootfs" "$store" >/dev/null
    "$KOKER_BIN/koker-save" --root "$store" -o "$BENCH_WORK/busybox.tar" bench/busybox
    chmod 0644 "$BENCH_WORK/busybox.tar"
    make_user
    bench_log "user $BUSER (uid $BUID, subordinate ids $SUBID-$((SUBID + SUBID_COUNT - 1)))"
    as_user koker-load -q -i "$BENCH_WORK/busybox.tar" >/dev/null ||
        bench_die "koker-load as $BUSER failed"
    as_user "${PODMAN[@]}" load -q -i "$BENCH_WORK/busybox.tar" >"$BENCH_WORK/podman-load.log" 2>&1 ||
        bench_die "podman load as $BUSER failed: $(tail -n 1 "$BENCH_WORK/podman-load.log")"
    as_user koker-run --rm --network none bench/busybox true ||
        bench_die "koker-run as $BUSER failed"
    as_user "${PODMAN_RUN[@]}" || bench_die "podman run as $BUSER failed"
    read -r PODMAN_RT PODMAN_DRIVER < <(as_user "${PODMAN[@]}" info \
        --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' 2>/dev/null) || true
    # The stores are in the user's home.
    BENCH_SCRATCH_WHAT="the bench user's home, $(df --output=fstype "$BHOME" | tail -n 1)"
    OVERLAY=$(as_user koker-system info 2>/dev/null | sed -n "s/^ *Overlay: *//p" | head -n 1)
}

# ---------------------------------------------------------------- the runs

# The loop the user runs: WARMUP untimed rounds, then RUNS timed ones, each running every
# tool once in turn; one line "TOOL NS" per timed run.  EPOCHREALTIME is a builtin, so only
# the command's own fork, exec and wait are timed.
measure() {
    local script=$BENCH_WORK/loop.sh
    cat >"$script" <<'EOF'
set -u
runs=$1 warmup=$2
shift 2
podman_run=("$@")
one() {
    case $1 in
        true) /bin/true ;;
        koker) koker-run --rm --network none bench/busybox true ;;
        podman) "${podman_run[@]}" ;;
    esac
}
for ((i = 0; i < warmup + runs; i++)); do
    for tool in true koker podman; do
        t0=${EPOCHREALTIME/[.,]/}
        one "$tool" >/dev/null 2>>"$XDG_RUNTIME_DIR/loop.err" </dev/null || { echo "failed $tool"; exit 1; }
        t1=${EPOCHREALTIME/[.,]/}
        ((i < warmup)) || echo "$tool $(((t1 - t0) * 1000))"
    done
done
EOF
    chmod 0644 "$script"
    bench_log "$WARMUP + $RUNS rounds of: true, koker-run, podman run (as $BUSER)"
    if ! as_user bash "$script" "$RUNS" "$WARMUP" "${PODMAN_RUN[@]}" >"$BENCH_WORK/samples"; then
        tail -n 5 "$BXDG/loop.err" >&2 || true
        bench_die "the timed loop failed: $(tail -n 1 "$BENCH_WORK/samples")"
    fi
    local tool ns
    for tool in "${TOOLS[@]}"; do
        mapfile -t ns < <(awk -v t="$tool" '$1 == t { print $2 }' "$BENCH_WORK/samples")
        bench_stats "$tool" "${ns[@]}"
        bench_summary "rootless.$tool" "${med[$tool]}"
    done
}

# ---------------------------------------------------------------- report

# shellcheck disable=SC2016 # backquotes are markdown code spans here, not expansions
report() {
    local ratio verdict
    ratio=$(awk -v a="${med[koker]}" -v b="${med[podman]}" 'BEGIN { printf "%.3f", a / b }')
    if awk -v r="$ratio" -v t="$TARGET_ROOTLESS_PODMAN" 'BEGIN { exit !(r <= t) }'; then
        verdict=met
    else
        verdict="**MISSED**"
    fi
    printf '## Rootless: start to exit of `true`, `--network none`\n\n'
    printf -- '- both run by a bench user (uid %s, subordinate ids %s-%s from /etc/subuid and /etc/subgid), made for the run and removed after it; the same busybox image, loaded by each from one archive\n' \
        "$BUID" "$SUBID" "$((SUBID + SUBID_COUNT - 1))"
    printf -- '- koker-run: `koker-run --rm --network none bench/busybox true`, rootless (a user namespace through newuidmap/newgidmap, %s, no cgroup on this host)\n' \
        "${OVERLAY:-overlay}"
    printf -- '- podman %s: `%s` (rootless: its own user namespace and pause process, %s, %s)\n' \
        "$(podman --version | awk '{print $3}')" "${PODMAN_RUN[*]}" "${PODMAN_RT:-?}" "${PODMAN_DRIVER:-?}"
    printf -- '- one bash loop as the user times every run (runuser once); %s untimed rounds, then %s rounds of: true, koker-run, podman run\n' \
        "$WARMUP" "$RUNS"
    bench_machine
    printf '\n| command, as the user | median | min | max | koker-run / it |\n'
    printf '|---|---:|---:|---:|---:|\n'
    printf '| /bin/true (timer and fork+exec floor) | %s ms | %s ms | %s ms | |\n' \
        "$(bench_ms "${med[true]}")" "$(bench_ms "${min[true]}")" "$(bench_ms "${max[true]}")"
    printf '| koker-run, rootless | %s ms | %s ms | %s ms | |\n' \
        "$(bench_ms "${med[koker]}")" "$(bench_ms "${min[koker]}")" "$(bench_ms "${max[koker]}")"
    printf '| podman run, rootless | %s ms | %s ms | %s ms | %s (target ≤ %s: %s) |\n' \
        "$(bench_ms "${med[podman]}")" "$(bench_ms "${min[podman]}")" "$(bench_ms "${max[podman]}")" \
        "$ratio" "$TARGET_ROOTLESS_PODMAN" "$verdict"
}

main() {
    [[ $(id -u) == 0 ]] || bench_die "run as root: the bench makes its own user"
    bench_deps podman uidmap busybox-static
    bench_workdir rootless
    setup
    measure
    report
}

main "$@"
