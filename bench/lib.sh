# shellcheck shell=bash source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# Shared pieces of koker's benchmarks (bench/pull.sh, bench/run.sh); sourced, never run.
#
#   BENCH_TOP                the source tree (bench/..)
#   KOKER_BIN                where the koker tools are run from: bench_workdir copies
#                            $BENCH_TOP/bin/koker* there (or takes BENCH_KOKER_BIN), so a
#                            rebuild in the tree during a run changes nothing
#   bench_log TEXT...        progress on stderr: `bench: TEXT`
#   bench_die TEXT...        `bench: fatal: TEXT` on stderr, exit 1
#   bench_deps PKG...        apt-get the Debian packages that are missing (tests/install-deps.sh)
#   bench_workdir NAME       make $BENCH_WORK, a fresh temp dir that bench_cleanup removes
#   bench_on_exit FUNC       call FUNC at exit (newest first), even after a failure
#   bench_time LOG CMD...    run CMD, output in LOG; sets BENCH_NS to its wall time in ns and
#                            BENCH_CPU_NS to the CPU time (user + system) of CMD and of the
#                            descendants it waited for, in ns (1 ms resolution)
#   bench_median NS...       print the median (the mean of the middle two for an even count)
#   bench_median_of N LOG CMD...  bench_time CMD N times; print the median wall time in ns
#   bench_koker_image DIR STORE   a busybox root file system made in DIR, imported into the
#                            koker store STORE as bench/busybox; print the image ID
#   bench_runc_bundle DIR ROOTFS ARGS...  a runc bundle in DIR running ARGS on ROOTFS
#   bench_ms NS              print NS as milliseconds, e.g. 12.34
#   bench_machine            the markdown lines naming the machine, kernel and date
#   bench_umount_under DIR   unmount every mount point at or below DIR, deepest first
#   bench_podman DIR         set PODMAN to podman with its own store in DIR (runroot in /run)
#   bench_stats NAME NS...   set the globals med[NAME], min[NAME] and max[NAME]
#   bench_summary KEY VALUE  append `KEY VALUE` to $BENCH_SUMMARY if set (bench/all.sh reads it)
#   bench_cgroups_guard      at exit, remove the parent cgroups (koker, libpod_parent) that
#                            were not there before, if they are empty
#   bench_net_guard          at exit, undo what bridge networks leave on the host: the bench
#                            bridge (koker-net down), podman0 or cni-podman0, netavark's chains,
#                            /run/containers and /run/netns if new, and ip_forward's value
#   bench_podman_net DIR     export CONTAINERS_CONF: podman's own settings plus a default
#                            network on $BENCH_PODMAN_SUBNET with its config in DIR
#   smaps_kb PID FIELD       FIELD (Rss, Pss, Private_Dirty, Anonymous...) of smaps_rollup
#   status_kb PID FIELD      FIELD (VmRSS, RssAnon, RssFile, VmHWM...) of /proc/PID/status
#   bench_scratch SIZE       set BENCH_SCRATCH to where the stores go: a fresh ext4 file system
#                            of SIZE on a loop device, mounted under $BENCH_WORK, or, if
#                            BENCH_SCRATCH names a directory already, a temp dir in it;
#                            either goes at exit
#
# Networks: koker's bridge gets a bench-only name and subnet, and podman's default network
# gets the next /24 and run.sh's user-defined network the one after, so no bench touches the
# host's koker0 or podman0 addresses, and no packet leaves 127.0.0.0/8 and 10.198.0.0/22.
#
# Two of the suite's helper files are sourced too, with KOKER_TEST_SUITE_DIR set to
# $BENCH_WORK: tests/bats/helpers.servers.bash for koker_registry_start (pull.sh) and
# koker_suite_stop, and tests/bats/helpers.fixtures.bash for koker_make_rootfs and
# koker_skopeo (pull.sh).  The tests' own registry functions (helpers.registry.bash) are not.

BENCH_TOP=$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)
# The helpers look python3 up when sourced; on a fresh machine bench_deps installs it later.
KOKER_TEST_PYTHON=${KOKER_TEST_PYTHON:-/usr/bin/python3}
# shellcheck source=../tests/bats/helpers.servers.bash
source "$BENCH_TOP/tests/bats/helpers.servers.bash"
# shellcheck source=../tests/bats/helpers.fixtures.bash
source "$BENCH_TOP/tests/bats/helpers.fixtures.bash"

BENCH_WORK=
BENCH_EXIT_CMDS=()
export KOKER_BRIDGE=${KOKER_BRIDGE:-kbench0} KOKER_SUBNET=${KOKER_SUBNET:-10.198.0.0/24}
BENCH_PODMAN_SUBNET=${BENCH_PODMAN_SUBNET:-10.198.1.0/24}
# run.sh's user-defined network (koker-net create): the next /24, its bridge named too.
BENCH_USER_SUBNET=${BENCH_USER_SUBNET:-10.198.2.0/24} BENCH_USER_BRIDGE=${BENCH_USER_BRIDGE:-kbenchu0}

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
    # helpers.servers.bash keeps its servers' pids and logs here; koker_suite_stop kills
    # them and removes the dir (after the bench_on_exit steps have unmounted what they mounted).
    KOKER_TEST_SUITE_DIR=$BENCH_WORK
    export KOKER_TEST_SUITE_DIR
    : >"$BENCH_WORK/pids"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    bench_koker_bin
}

# A copy of the tools, checked to run: a build in the tree may be rewriting one right now.
bench_koker_bin() {
    local try
    if [[ -n ${BENCH_KOKER_BIN:-} ]]; then
        KOKER_BIN=$BENCH_KOKER_BIN
        return 0
    fi
    KOKER_BIN=$BENCH_WORK/bin
    for ((try = 1; ; try++)); do
        bench_copy_bin && break
        ((try < 30)) || bench_die "unable to copy working tools from $BENCH_TOP/bin (a build running?)"
        bench_log "$BENCH_TOP/bin changes under the copy (a build?); trying again in 2 s"
        sleep 2
    done
}

bench_copy_bin() {
    local f
    rm -rf "$KOKER_BIN"
    mkdir -p "$KOKER_BIN"
    cp -p "$BENCH_TOP"/bin/koker* "$KOKER_BIN/" 2>/dev/null || return 1
    [[ -x $KOKER_BIN/koker-run ]] || return 1
    for f in "$KOKER_BIN"/koker-*; do
        "$f" --version >/dev/null 2>&1 || return 1
        # Not rewritten since the copy began.
        [[ $BENCH_TOP/bin/${f##*/} -nt $f ]] && return 1
    done
    return 0
}

# EPOCHREALTIME is a builtin (no fork), so only CMD's own fork, exec and wait are timed.  The
# CPU time comes from the builtin `times` (getrusage of the children) before and after, read
# with builtins only: a subshell would count as a child too.
bench_time() {
    local log=$1 t0 t1 c0
    shift
    times >"$BENCH_WORK/.times"
    t0=${EPOCHREALTIME/[.,]/}
    if ! "$@" >"$log" 2>&1 </dev/null; then
        local cmd="$*"
        ((${#cmd} <= 300)) || cmd="${cmd:0:300}..."
        bench_log "failed: $cmd"
        cat "$log" >&2
        return 1
    fi
    t1=${EPOCHREALTIME/[.,]/}
    bench_children_cpu
    c0=$BENCH_CHILDREN_MS
    times >"$BENCH_WORK/.times"
    bench_children_cpu
    # shellcheck disable=SC2034 # the results, read by the caller
    BENCH_NS=$(((t1 - t0) * 1000)) BENCH_CPU_NS=$(((BENCH_CHILDREN_MS - c0) * 1000000))
}

bench_median_of() {
    local n=$1 log=$2 i
    shift 2
    local -a s=()
    for ((i = 0; i < n; i++)); do
        bench_time "$log" "$@" || return 1
        s+=("$BENCH_NS")
    done
    bench_median "${s[@]}"
}

bench_koker_image() {
    local rootfs=$1 store=$2
    bench_log "busybox root filesystem in $rootfs"
    koker_make_rootfs "$rootfs"
    "$KOKER_BIN/koker-pull" -q --root "$store" --tag bench/busybox "dir:$rootfs"
}

# The bundle's config.json is `runc spec`'s, running ARGS with no terminal on ROOTFS, which
# every run shares read-only.
bench_runc_bundle() {
    local dir=$1 rootfs=$2
    shift 2
    mkdir -p "$dir"
    (cd "$dir" && runc spec)
    jq --arg root "$rootfs" --args '.process.terminal = false | .process.args = $ARGS.positional
        | .root.path = $root' "$@" <"$dir/config.json" >"$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

# BENCH_CHILDREN_MS: the children's user + system time in ms, from the second line of the
# output of `times` (0m1.234s 0m0.567s) in $BENCH_WORK/.times.
bench_children_cpu() {
    local line re='^([0-9]+)m([0-9]+)[.,]([0-9]+)s ([0-9]+)m([0-9]+)[.,]([0-9]+)s$'
    { read -r line && read -r line; } <"$BENCH_WORK/.times"
    BENCH_CHILDREN_MS=0
    [[ $line =~ $re ]] || return 0
    local tm=("${BASH_REMATCH[@]}")
    BENCH_CHILDREN_MS=$(((10#${tm[1]} + 10#${tm[4]}) * 60000 + (10#${tm[2]} + 10#${tm[5]}) * 1000 + 10#${tm[3]} + 10#${tm[6]}))
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

# How long moving a process into a cgroup takes here, which sets much of koker-run's and
# koker-exec's time on cgroup v1.  The writer of cgroup.procs takes cgroup_threadgroup_rwsem
# for writing, and percpu_down_write() waits for an RCU grace period (rcu_sync_enter) unless
# another writer did moments ago: several ms on a busy VM.  The cgroup mount option
# favordynmods avoids that wait; on Linux 6.18, once it has been on, the kernel keeps
# per-threadgroup rwsems until reboot, even after it is turned off again (it logs "per
# threadgroup rwsem mechanism can't be disabled"), so the mount options alone do not tell.
# This times the write itself: a `sleep` moved into an empty cgroup and back, 7 times 0.1 s
# apart, and prints the median with what it means.
bench_cgroup_attach() {
    local h cg pid i t0 t1 s=() m
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then h=/sys/fs/cgroup; else h=/sys/fs/cgroup/pids; fi
    cg=$h/koker-bench-probe.$$
    mkdir "$cg" 2>/dev/null || { echo "cgroup attach time: not measured"; return 0; }
    sleep 30 &
    pid=$!
    for ((i = 0; i < 7; i++)); do
        sleep 0.1
        t0=${EPOCHREALTIME/[.,]/}
        echo "$pid" >"$cg/cgroup.procs"
        t1=${EPOCHREALTIME/[.,]/}
        echo "$pid" >"$h/cgroup.procs"
        s+=($(((t1 - t0) * 1000)))
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rmdir "$cg"
    m=$(bench_median "${s[@]}")
    printf 'a write to cgroup.procs takes %s ms (median of 7), ' "$(bench_ms "$m")"
    if ((m > 1000000)); then
        echo 'so it waits for an RCU grace period (no favordynmods)'
    else
        echo 'so it waits for no RCU grace period (favordynmods is or was on since boot)'
    fi
}

# Under bench/all.sh (BENCH_ALL=1) only the lines that differ between the parts.
bench_machine() {
    local model
    if [[ -n ${BENCH_ALL:-} ]]; then
        printf -- '- stores on: %s\n' "$BENCH_SCRATCH_WHAT"
        printf -- '- finished: %s; load average then: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
            "$(cut -d ' ' -f 1-3 /proc/loadavg)"
        return 0
    fi
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    printf -- '- machine: %s CPUs, %s, %s MiB RAM\n' "$(nproc)" "${model:-unknown CPU}" \
        "$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))"
    printf -- '- kernel: %s %s; cgroups: %s; %s\n' "$(uname -s)" "$(uname -r)" \
        "$(if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then echo v2; else echo 'v1 (hybrid)'; fi)" \
        "$(bench_cgroup_attach)"
    printf -- '- stores on: %s\n' "$BENCH_SCRATCH_WHAT"
    printf -- '- date: %s; load average at the end: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        "$(cut -d ' ' -f 1-3 /proc/loadavg)"
}

declare -gA med=() min=() max=()
# shellcheck disable=SC2034 # the results, read by the scripts
bench_stats() {
    local name=$1
    shift
    med[$name]=$(bench_median "$@")
    min[$name]=$(printf '%s\n' "$@" | sort -n | head -n 1)
    max[$name]=$(printf '%s\n' "$@" | sort -n | tail -n 1)
}

# For each tool: the stats of its wall-time samples and the median of its CPU samples, both
# recorded in the summary under PREFIX.TOOL. Reads the caller's samples[] and cpus[], writes
# med[], min[], max[] and cpu[] (bash's dynamic scoping).
bench_tool_stats() {
    local prefix=$1 tool
    shift
    for tool in "$@"; do
        # shellcheck disable=SC2086,SC2154 # the samples are words; the arrays are the caller's
        bench_stats "$tool" ${samples[$tool]}
        # shellcheck disable=SC2086,SC2154,SC2004 # the caller's associative arrays
        cpu[$tool]=$(bench_median ${cpus[$tool]})
        bench_summary "$prefix.$tool" "${med[$tool]}"
        bench_summary "$prefix.$tool.cpu" "${cpu[$tool]}"
    done
}

bench_summary() {
    [[ -n ${BENCH_SUMMARY:-} ]] || return 0
    printf '%s %s\n' "$1" "$2" >>"$BENCH_SUMMARY"
}

# bench_data FILE LINE...: append LINEs to $BENCH_DATA/FILE, the raw samples bench/charts.sh
# draws (bench/all.sh sets BENCH_DATA; a part run alone keeps none).
bench_data() {
    [[ -n ${BENCH_DATA:-} ]] || return 0
    local file=$BENCH_DATA/$1
    shift
    printf '%s\n' "$@" >>"$file"
}

smaps_kb() {
    awk -v f="$2:" '$1 == f { print $2; found = 1 } END { exit !found }' "/proc/$1/smaps_rollup"
}

status_kb() {
    awk -v f="$2:" '$1 == f { print $2; found = 1 } END { exit !found }' "/proc/$1/status"
}

# ---------------------------------------------------------------- host state guards

BENCH_CGROUP_NEW=()
bench_cgroups_guard() {
    local h p
    for h in /sys/fs/cgroup/* /sys/fs/cgroup; do
        [[ -d $h ]] || continue
        for p in koker libpod_parent; do
            [[ -d $h/$p ]] || BENCH_CGROUP_NEW+=("$h/$p")
        done
    done
    bench_on_exit bench_remove_cgroups
}

# rmdir only: a container that someone else started meanwhile keeps its cgroup.
bench_remove_cgroups() {
    local d
    for d in "${BENCH_CGROUP_NEW[@]}"; do
        # Depth first: podman leaves libpod_parent/conmon too.
        [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

# chains TABLE: the user-defined iptables chains of TABLE, one a line.
bench_chains() {
    iptables -w -t "$1" -S 2>/dev/null | awk '$1 == "-N" { print $2 }'
}

BENCH_NET_GUARDED=
declare -gA BENCH_NET_CHAINS=()
bench_net_guard() {
    [[ -z $BENCH_NET_GUARDED ]] || return 0
    BENCH_NET_GUARDED=1
    BENCH_NET_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
    BENCH_NET_CHAINS[filter]=$(bench_chains filter)
    BENCH_NET_CHAINS[nat]=$(bench_chains nat)
    BENCH_NET_HAD_PODMAN0='' BENCH_NET_HAD_RUNC='' BENCH_NET_HAD_NETNS=''
    # netavark names podman's bridge podman0, the CNI plugins cni-podman0.
    if ip link show podman0 >/dev/null 2>&1 || ip link show cni-podman0 >/dev/null 2>&1; then
        BENCH_NET_HAD_PODMAN0=1
    fi
    if [[ -e /run/containers ]]; then BENCH_NET_HAD_RUNC=1; fi
    if [[ -e /run/netns ]]; then BENCH_NET_HAD_NETNS=1; fi
    bench_on_exit bench_net_restore
}

# KOKER_NET_STORE names the store whose koker-net state is taken down.
bench_net_restore() {
    local t c rule
    # run.sh's user-defined network, its resolver and its rules
    if [[ -n ${KOKER_NET_STORE:-} && -x $KOKER_BIN/koker-net ]]; then
        "$KOKER_BIN/koker-net" -q --root "$KOKER_NET_STORE" rm -f bench >/dev/null ||
            bench_log "koker-net rm bench failed; $BENCH_USER_BRIDGE left"
    fi
    if [[ -n ${KOKER_NET_STORE:-} && -x $KOKER_BIN/koker-net ]] && ip link show "$KOKER_BRIDGE" >/dev/null 2>&1; then
        "$KOKER_BIN/koker-net" -q --root "$KOKER_NET_STORE" down ||
            bench_log "koker-net down failed; $KOKER_BRIDGE left"
    fi
    # netavark removes podman0 with its last container, but not its chains (nor CNI its
    # CNI-* chains); CNI keeps its cni-podman0.
    if [[ -z $BENCH_NET_HAD_PODMAN0 ]]; then
        ip link del podman0 2>/dev/null
        ip link del cni-podman0 2>/dev/null
    fi
    for t in filter nat; do
        for c in $(bench_chains "$t" | grep -E '^(NETAVARK|CNI-)'); do
            grep -qxF "$c" <<<"${BENCH_NET_CHAINS[$t]}" && continue
            # The jumps to it first (rules as `iptables -S` quotes them), then the chain.
            iptables -w -t "$t" -S 2>/dev/null | grep -E -- "-j $c( |\$)" | grep -v -- "^-A $c " |
                while read -r rule; do
                    eval "iptables -w -t $t -D ${rule#-A }" 2>/dev/null
                done
            iptables -w -t "$t" -F "$c" 2>/dev/null
        done
        for c in $(bench_chains "$t" | grep -E '^(NETAVARK|CNI-)'); do
            grep -qxF "$c" <<<"${BENCH_NET_CHAINS[$t]}" || iptables -w -t "$t" -X "$c" 2>/dev/null
        done
    done
    # netavark keeps its address leases in /run/containers/networks whatever podman's runroot.
    [[ -n $BENCH_NET_HAD_RUNC ]] || rm -rf --one-file-system /run/containers
    # podman mounts /run/netns on itself (shared propagation) before it adds a namespace.
    if [[ -z $BENCH_NET_HAD_NETNS ]]; then
        umount /run/netns 2>/dev/null
        rmdir /run/netns 2>/dev/null
    fi
    # netavark and koker-net both turn forwarding on.
    [[ $(cat /proc/sys/net/ipv4/ip_forward) == "$BENCH_NET_FORWARD" ]] ||
        echo "$BENCH_NET_FORWARD" >/proc/sys/net/ipv4/ip_forward
    return 0
}

# podman 4 reads CONTAINERS_CONF alone when it is set, so the system file is copied with the
# network settings added to its [network] table.
bench_podman_net() {
    local dir=$1 conf=$1/containers.conf sys=/usr/share/containers/containers.conf
    mkdir -p "$dir/networks"
    {
        [[ -f $sys ]] && grep -v '^[[:space:]]*#' "$sys"
        [[ -f $sys ]] && grep -q '^\[network\]' "$sys" || printf '[network]\n'
    } | awk -v subnet="$BENCH_PODMAN_SUBNET" -v dir="$dir/networks" '
        { print }
        $0 == "[network]" { printf "default_subnet = \"%s\"\nnetwork_config_dir = \"%s\"\n", subnet, dir }
    ' >"$conf"
    export CONTAINERS_CONF=$conf
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
    # Root podman makes its SHM lock file once and never removes it: gone if the bench made it.
    if [[ -n ${BENCH_MADE_PODMAN_LOCK:-} ]] && ! pgrep -x podman >/dev/null; then
        rm -f /dev/shm/libpod_lock
    fi
}

# podman refuses a runroot path longer than 50 characters, so runroots live in
# /run/koker-bench.XXXXXX/NAME, NAME being DIR's base name.  cgroupfs and the file events
# backend: no systemd here.
bench_podman() {
    local dir=$1
    bench_net_guard # any podman command makes /run/containers/networks
    if [[ -z ${BENCH_PODMAN_RUN:-} ]]; then
        BENCH_PODMAN_RUN=$(mktemp -d /run/koker-bench.XXXXXX)
        [[ -e /dev/shm/libpod_lock ]] || BENCH_MADE_PODMAN_LOCK=1
    fi
    # shellcheck disable=SC2034 # the result, used by the caller
    PODMAN=(podman --root "$dir/root" --runroot "$BENCH_PODMAN_RUN/${dir##*/}" --tmpdir "$dir/tmp"
        --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
}
