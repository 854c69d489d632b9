#!/usr/bin/env bats
# koker-cg: for real on this host's cgroups (root; the v1 files are checked where the host has
# v1 controllers, hybrid or v1), and on fake cgroup roots (KOKER_CGROUP_ROOT) shaped like a
# v1, a hybrid and a v2 host, where the exact files and values written are checked.
load helpers

# A group name no other test or run uses.
cg_name() {
    printf 'kt-%s-%s\n' "$BATS_TEST_NUMBER" "$$"
}

# v1_mount CONTROLLER: where the v1 hierarchy holding CONTROLLER is mounted (empty if none).
v1_mount() {
    awk -v c="$1" '{ for (i = 7; $i != "-"; i++) {}
        if ($(i + 1) == "cgroup" && index("," $(i + 3) ",", "," c ",")) { print $5; exit } }' \
        /proc/self/mountinfo
}

# The cgroup2 mount point (empty if none).
v2_mount() {
    awk '{ for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "cgroup2") { print $5; exit } }' \
        /proc/self/mountinfo
}

# requires_v1: skip unless the host has the v1 memory, cpu and pids controllers (v1 or hybrid).
requires_v1() {
    local c
    for c in memory cpu pids; do
        [[ -n $(v1_mount "$c") ]] || skip "requires the v1 $c controller (host is not v1/hybrid)"
    done
}

# cg_cleanup NAME: have teardown kill the processes of koker/NAME and remove it in every
# hierarchy. The unified tree is registered last, so it is undone first (cgroup.kill).
cg_cleanup() {
    local m
    while read -r m; do
        koker_cleanup_later cgroup "$m/koker/$1"
    done < <(awk '{ for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "cgroup") print $5 }' \
        /proc/self/mountinfo)
    m=$(v2_mount)
    if [[ -n $m ]]; then
        koker_cleanup_later cgroup "$m/koker/$1"
    fi
}

# fake_v2 DIR [CONTROLLERS]: a v2 root as the kernel shows it, with swap accounting
# (koker/memory.swap.max, as a non-root group with memory enabled has it).
fake_v2() {
    mkdir -p "$1/koker"
    printf '%s\n' "${2:-cpuset cpu io memory hugetlb pids rdma misc}" >"$1/cgroup.controllers"
    : >"$1/cgroup.subtree_control"
    : >"$1/koker/memory.swap.max"
}

# fake_v1 DIR: v1 hierarchies memory, cpu,cpuacct (plus the usual symlinks), pids, devices and
# freezer; the memory root has memory.memsw.limit_in_bytes (swap accounting on).
fake_v1() {
    mkdir -p "$1"/{memory,cpu,cpuacct,pids,devices,freezer,blkio}
    rmdir "$1/cpu" "$1/cpuacct"
    mkdir "$1/cpu,cpuacct"
    ln -s cpu,cpuacct "$1/cpu"
    ln -s cpu,cpuacct "$1/cpuacct"
    : >"$1/memory/memory.memsw.limit_in_bytes"
}

# The device rules koker writes on v1, in order (after devices.deny a).
DEVICE_RULES=('c *:* m' 'b *:* m' 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:7 rwm' 'c 1:8 rwm' 'c 1:9 rwm'
    'c 5:0 rwm' 'c 5:1 rwm' 'c 5:2 rwm' 'c 136:* rwm')

# ---------------------------------------------------------------- the real host

@test "koker-cg: mode matches the mount table (hybrid here)" {
    local want=v2
    if [[ -n $(v1_mount memory) ]]; then
        want=v1
        [[ -z $(v2_mount) ]] || want=hybrid
    fi
    [[ -n $(v1_mount memory)$(v2_mount) ]] || skip "no cgroups mounted"
    run_koker 0 koker-cg mode
    assert_equal "$want" "$output"
    run_koker 0 koker-cg -D mode
    assert_stderr_match "koker-cg: debug: cgroup v[12] hierarchy "
}

@test "koker-cg: create writes the limits and device rules into the host's files, -D logs each" {
    requires root
    requires_v1
    local n mem cpu pids dev
    n=$(cg_name)
    cg_cleanup "$n"
    mem=$(v1_mount memory) cpu=$(v1_mount cpu) pids=$(v1_mount pids) dev=$(v1_mount devices)
    run_koker 0 koker-cg -D create "$n" --memory 512m --swap 64 --cpus 0.5 --pids 20
    [ -z "$output" ]
    assert_stderr_match "koker-cg: debug: mkdir $mem/koker/$n"
    assert_stderr_match "koker-cg: debug: write $mem/koker/$n/memory.limit_in_bytes 536870912"
    assert_stderr_match "koker-cg: debug: write $cpu/koker/$n/cpu.cfs_quota_us 50000"
    assert_equal 536870912 "$(cat "$mem/koker/$n/memory.limit_in_bytes")"
    if [[ -f $mem/memory.memsw.limit_in_bytes ]]; then
        assert_equal $((536870912 + 64 * 1048576)) "$(cat "$mem/koker/$n/memory.memsw.limit_in_bytes")"
    fi
    assert_equal 50000 "$(cat "$cpu/koker/$n/cpu.cfs_quota_us")"
    assert_equal 100000 "$(cat "$cpu/koker/$n/cpu.cfs_period_us")"
    assert_equal 20 "$(cat "$pids/koker/$n/pids.max")"
    if [[ -n $dev ]]; then
        assert_equal "$(printf '%s\n' "${DEVICE_RULES[@]}")" "$(cat "$dev/koker/$n/devices.list")"
    fi
    if [[ -n $(v2_mount) ]]; then
        [ -d "$(v2_mount)/koker/$n" ]
    fi
    run_koker 0 koker-cg exists "$n"
    run_koker 0 koker-cg ls
    grep -qx -- "$n" <<<"$output" || { echo "$n not listed"; false; }
    run_koker 125 koker-cg create "$n"
    assert_stderr_match "already exists"
    run_koker 0 koker-cg -D rm "$n"
    assert_stderr_match "koker-cg: debug: rmdir $mem/koker/$n"
    [ ! -e "$mem/koker/$n" ] && [ ! -e "$pids/koker/$n" ]
    run_koker 1 koker-cg exists "$n"
    [ -z "$output" ] && [ -z "$stderr" ]
}

@test "koker-cg: set changes the limits; memsw stays above memory whichever way it moves" {
    requires root
    requires_v1
    local n mem cpu pids
    n=$(cg_name)
    cg_cleanup "$n"
    mem=$(v1_mount memory) cpu=$(v1_mount cpu) pids=$(v1_mount pids)
    run_koker 0 koker-cg create "$n" --mem 64
    run_koker 0 koker-cg set "$n" --memory 1g --cpus 1.5 --pids 5
    assert_equal 1073741824 "$(cat "$mem/koker/$n/memory.limit_in_bytes")"
    assert_equal 150000 "$(cat "$cpu/koker/$n/cpu.cfs_quota_us")"
    assert_equal 5 "$(cat "$pids/koker/$n/pids.max")"
    if [[ -f $mem/memory.memsw.limit_in_bytes ]]; then
        # no --swap: as much swap as memory (docker's default)
        assert_equal 2147483648 "$(cat "$mem/koker/$n/memory.memsw.limit_in_bytes")"
        run_koker 0 koker-cg set "$n" --mem 32 --swap 0
        assert_equal 33554432 "$(cat "$mem/koker/$n/memory.limit_in_bytes")"
        assert_equal 33554432 "$(cat "$mem/koker/$n/memory.memsw.limit_in_bytes")"
    fi
    run_koker 125 koker-cg set "$n"
    assert_stderr_match "usage: set needs a limit"
    run_koker 125 koker-cg set "kt-none-$$" --pids 3
    assert_stderr_match "fatal: no such cgroup: kt-none-$$"
    run_koker 0 koker-cg rm "$n"
}

@test "koker-cg: exec joins the group in every hierarchy, then execs the command" {
    requires root
    local n
    n=$(cg_name)
    cg_cleanup "$n"
    run_koker 0 koker-cg exec "$n" --pids 50 -- cat /proc/self/cgroup
    local line count=0
    for line in "${lines[@]}"; do
        # v1 hierarchies koker does not use (blkio, cpuset, name=systemd) stay where they were
        case $line in
        *:memory:* | *:cpu:* | *:cpuacct:* | *:cpu,cpuacct:* | *:pids:* | *:devices:* | *:freezer:* | 0::*)
            [[ $line == *:/koker/$n ]] || { echo "not in the group: $line"; false; }
            count=$((count + 1))
            ;;
        esac
    done
    ((count >= 1))
    # the command's status passes through; 127 and 126 as everywhere in koker
    run_koker 7 koker-cg exec "$n" sh -c 'exit 7'
    run_koker 127 koker-cg exec "$n" -- /nonexistent/cmd
    assert_stderr_match "unable to exec /nonexistent/cmd: No such file or directory"
    printf 'data\n' >"$BATS_TEST_TMPDIR/plain"
    chmod 644 "$BATS_TEST_TMPDIR/plain"
    run_koker 126 koker-cg exec "$n" -- "$BATS_TEST_TMPDIR/plain"
    assert_stderr_match "Permission denied"
    run_koker 0 koker-cg rm "$n"
}

@test "koker-cg: exec under --memory 16m is OOM-killed (137) and stats counts the kill" {
    requires root
    local n
    n=$(cg_name)
    cg_cleanup "$n"
    # tail keeps the whole of a file without newlines in memory
    run_koker 137 koker-cg exec "$n" --memory 16m -- tail /dev/zero
    run_koker 0 koker-cg stats "$n" --format json
    assert_equal 16777216 "$(jq -r .MemoryLimit <<<"$output")"
    (($(jq -r .OOMKills <<<"$output") >= 1))
    run_koker 0 koker-cg stats "$n"
    assert_match "^NAME +MEM USAGE / LIMIT +MEM % +CPU TIME +PIDS +PIDS LIMIT +OOM KILLS"
    assert_match "$n +[0-9.]+[KMG]?i?B / 16MiB +[0-9.]+% +[0-9.]+s +0 +unlimited +[1-9][0-9]*$"
    run_koker 0 koker-cg rm "$n"
}

@test "koker-cg: --pids 20 stops a fork bomb; rm refuses the group, rm -f kills and removes it" {
    requires root
    local n pids
    n=$(cg_name)
    cg_cleanup "$n"
    # The shell forks sleeps until fork fails (EAGAIN from the pids controller), then dies.
    # shellcheck disable=SC2016 # expanded by the inner shell
    run_koker '?' koker-cg exec "$n" --pids 20 -- sh -c \
        'i=0; while [ $i -lt 100 ]; do sleep 300 </dev/null >/dev/null 2>&1 & i=$((i + 1)); done; wait'
    [ "$status" -ne 0 ]
    assert_stderr_match "[Ff]ork"
    run_koker 0 koker-cg stats "$n" --format json
    assert_equal 20 "$(jq -r .PidsLimit <<<"$output")"
    local current
    current=$(jq -r .Pids <<<"$output")
    ((current >= 1 && current <= 20))
    pids=$(v1_mount pids)
    if [[ -n $pids ]]; then
        assert_equal 20 "$(cat "$pids/koker/$n/pids.max")"
        [[ $(cat "$pids/koker/$n/pids.events") =~ max\ [1-9] ]]
    fi
    local -a members
    mapfile -t members < <(jq -r '.Paths[0]' <<<"$output" | xargs -I{} cat {}/cgroup.procs)
    ((${#members[@]} == current))
    run_koker 125 koker-cg rm "$n"
    assert_stderr_match "unable to remove cgroup $n: it has processes"
    run_koker 0 koker-cg exists "$n"
    run_koker 0 koker-cg -D rm -f "$n"
    run_koker 1 koker-cg exists "$n"
    local p state
    for p in "${members[@]}"; do
        state=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null || true)
        [[ -z $state || $state == Z ]] || { echo "process $p survived ($state)"; false; }
    done
}

@test "koker-cg: add moves a running process in; stats reports it; rm -f kills it" {
    requires root
    local n pid
    n=$(cg_name)
    cg_cleanup "$n"
    sleep 300 &
    pid=$!
    koker_cleanup_later pid "$pid"
    run_koker 0 koker-cg create "$n" --memory 64m --pids 10
    run_koker 0 koker-cg add "$n" "$pid"
    grep -qx "0::/koker/$n\|[0-9]*:memory:/koker/$n" "/proc/$pid/cgroup"
    run_koker 0 koker-cg stats "$n" --format json
    assert_equal 1 "$(jq -r .Pids <<<"$output")"
    assert_equal 10 "$(jq -r .PidsLimit <<<"$output")"
    assert_equal 67108864 "$(jq -r .MemoryLimit <<<"$output")"
    assert_equal "$(koker-cg mode)" "$(jq -r .Mode <<<"$output")"
    [[ $(jq -r .CPUTimeNs <<<"$output") =~ ^[0-9]+$ ]]
    run_koker 125 koker-cg add "$n" 0
    run_koker 125 koker-cg add "$n" abc
    run_koker 0 koker-cg rm -f "$n"
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    run -0 wait "$pid" || true
    run ! kill -0 "$pid"
}

# shellcheck disable=SC2154 # stderr_lines: set by run_koker (Bats' run)
@test "koker-cg: bad values and names exit 125 with one line, and make nothing" {
    local n v
    n=$(cg_name)
    for v in "--memory -1" "--memory 0" "--memory 12q" "-m 1.5x" "--mem 0" "--mem 1" \
        "--mem 12m" "--swap 64" "--memory 64m --swap -1" "--cpus 0" "--cpus 1000" "--cpus -1" \
        "--cpus abc" "--pids -3" "--pids abc" "--pids 0" "--pids 99999999"; do
        # shellcheck disable=SC2086 # an option and its value
        run_koker 125 koker-cg create "$n" $v
        assert_equal 1 "${#stderr_lines[@]}" "one line for $v"
        assert_stderr_match "^koker-cg: usage: invalid"
        [ -z "$output" ]
    done
    run_koker 125 koker-cg create "$n" --cpus 1000
    assert_stderr_match "range of CPUs is from 0.01 to [0-9]+\.00, as there are only [0-9]+ CPUs available"
    for v in a/b .. ../x a..b -x '' "$(printf 'x%.0s' {1..129})"; do
        run_koker 125 koker-cg create -- "$v"
        assert_equal 1 "${#stderr_lines[@]}"
        assert_stderr_match "^koker-cg: fatal: invalid cgroup name"
        run_koker 125 koker-cg exists -- "$v"
    done
    run_koker 1 koker-cg exists "$n"
}

@test "koker-cg: usage errors exit 125" {
    run_koker 125 koker-cg
    assert_stderr_match "^koker-cg: usage: COMMAND is missing"
    run_koker 125 koker-cg frobnicate
    assert_stderr_match "usage: unknown command: frobnicate"
    run_koker 125 koker-cg create
    assert_stderr_match "usage: NAME is missing"
    run_koker 125 koker-cg create a b
    assert_stderr_match "usage: too many arguments"
    run_koker 125 koker-cg stats x --pids 3
    assert_stderr_match "usage: limits apply to create, set and exec only"
    run_koker 125 koker-cg create x -f
    assert_stderr_match "usage: -f applies to rm only"
    run_koker 125 koker-cg stats x --format yaml
    assert_stderr_match "usage: --format takes table or json"
    run_koker 125 koker-cg exec x
    assert_stderr_match "usage: CMD is missing"
    run_koker 125 koker-cg add x
    assert_stderr_match "usage: PID is missing"
    run_koker 125 koker-cg mode extra
}

# ---------------------------------------------------------------- fake roots

@test "koker-cg: fake roots are read by their shape, not from the mount table" {
    local r=$BATS_TEST_TMPDIR
    fake_v1 "$r/v1"
    fake_v1 "$r/hybrid"
    mkdir "$r/hybrid/unified"
    : >"$r/hybrid/unified/cgroup.controllers"
    fake_v2 "$r/v2"
    mkdir "$r/empty"
    KOKER_CGROUP_ROOT=$r/v1 run_koker 0 koker-cg mode
    assert_equal v1 "$output"
    KOKER_CGROUP_ROOT=$r/hybrid run_koker 0 koker-cg mode
    assert_equal hybrid "$output"
    KOKER_CGROUP_ROOT=$r/v2 run_koker 0 koker-cg -D mode
    assert_equal v2 "$output"
    assert_stderr_match "debug: cgroup v2 hierarchy $r/v2 \(memory,pids,cpu\)"
    KOKER_CGROUP_ROOT=$r/empty run_koker 125 koker-cg mode
    assert_stderr_match "no cgroup hierarchy in $r/empty"
    KOKER_CGROUP_ROOT=$r/nope run_koker 125 koker-cg mode
}

@test "koker-cg: v2 fake root: memory.max, memory.swap.max, cpu.max, pids.max and +memory +pids +cpu" {
    local r=$BATS_TEST_TMPDIR/v2 g
    fake_v2 "$r"
    g=$r/koker/t1
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg -D create t1 --memory 512m --swap 100 --cpus 0.5 --pids 20
    assert_equal "+memory +pids +cpu" "$(cat "$r/cgroup.subtree_control")"
    assert_equal "+memory +pids +cpu" "$(cat "$r/koker/cgroup.subtree_control")"
    assert_equal 536870912 "$(cat "$g/memory.max")"
    assert_equal 104857600 "$(cat "$g/memory.swap.max")"
    assert_equal "50000 100000" "$(cat "$g/cpu.max")"
    assert_equal 20 "$(cat "$g/pids.max")"
    assert_equal "cpu.max memory.max memory.swap.max pids.max" "$(cd "$g" && echo *)"
    assert_stderr_match "debug: write $r/cgroup.subtree_control \+memory \+pids \+cpu"
    assert_stderr_match "debug: no device rules for $g: cgroup v2 needs an eBPF program"
    # no --swap: as much swap as memory; the parents are not written twice
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg -D create t2 --mem 64
    assert_equal 67108864 "$(cat "$r/koker/t2/memory.swap.max")"
    refute_stderr_match "subtree_control"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg set t1 --cpus 2 --pids 7 --mem 100 --swap 0
    assert_equal "200000 100000" "$(cat "$g/cpu.max")"
    assert_equal 7 "$(cat "$g/pids.max")"
    assert_equal 104857600 "$(cat "$g/memory.max")"
    assert_equal 0 "$(cat "$g/memory.swap.max")"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg ls
    assert_equal "t1"$'\n'"t2" "$output"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg ls --format json
    assert_equal '["t1","t2"]' "$output"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg rm t1 t2
    [ ! -e "$g" ] && [ ! -e "$r/koker/t2" ]
}

@test "koker-cg: v2 fake root: no swap accounting warns on --swap; a missing controller is refused" {
    local r=$BATS_TEST_TMPDIR/v2
    fake_v2 "$r" "memory io"
    rm "$r/koker/memory.swap.max"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg create t1 --memory 64m --swap 10
    assert_stderr_match "warning: your kernel does not support swap limit capabilities"
    [ ! -e "$r/koker/t1/memory.swap.max" ]
    assert_equal "+memory" "$(cat "$r/cgroup.subtree_control")"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg create t2 --memory 64m
    [ -z "$stderr" ]
    KOKER_CGROUP_ROOT=$r run_koker 125 koker-cg create t3 --pids 5
    assert_stderr_match "fatal: unable to limit the processes of cgroup t3: no pids controller"
    [ ! -e "$r/koker/t3" ]
    KOKER_CGROUP_ROOT=$r run_koker 125 koker-cg set t1 --cpus 1
    assert_stderr_match "no cpu controller"
}

@test "koker-cg: v1 fake root: memory, memsw = memory + swap, CFS quota, pids and device rules" {
    local r=$BATS_TEST_TMPDIR/v1
    fake_v1 "$r"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg -D create t1 --memory 512m --swap 100 --cpus 0.5 --pids 20
    assert_equal 536870912 "$(cat "$r/memory/koker/t1/memory.limit_in_bytes")"
    assert_equal $((536870912 + 104857600)) "$(cat "$r/memory/koker/t1/memory.memsw.limit_in_bytes")"
    assert_equal 50000 "$(cat "$r/cpu,cpuacct/koker/t1/cpu.cfs_quota_us")"
    assert_equal 100000 "$(cat "$r/cpu,cpuacct/koker/t1/cpu.cfs_period_us")"
    assert_equal 20 "$(cat "$r/pids/koker/t1/pids.max")"
    [ -d "$r/freezer/koker/t1" ]
    [ ! -e "$r/blkio/koker" ] # a hierarchy koker does not use
    # devices: deny everything, then allow the standard nodes, in this order
    local want line
    want="write $r/devices/koker/t1/devices.deny a"
    for line in "${DEVICE_RULES[@]}"; do
        want+=$'\n'"write $r/devices/koker/t1/devices.allow $line"
    done
    assert_equal "$want" "$(grep -o 'write [^ ]*/devices\.[a-z]* .*' <<<"$stderr")"
    assert_equal "c 136:* rwm" "$(cat "$r/devices/koker/t1/devices.allow")"
    # growing: memsw first; shrinking: memory first (memsw >= memory after every write)
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg -D set t1 --memory 1g
    assert_equal "memory.memsw.limit_in_bytes 2147483648"$'\n'"memory.limit_in_bytes 1073741824" \
        "$(grep -o 'memory\.[a-z_.]* [0-9]*$' <<<"$stderr")"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg -D set t1 --mem 64 --swap 0
    assert_equal "memory.limit_in_bytes 67108864"$'\n'"memory.memsw.limit_in_bytes 67108864" \
        "$(grep -o 'memory\.[a-z_.]* [0-9]*$' <<<"$stderr")"
    # without swap accounting: --swap is a warning, memory is still limited
    rm "$r/memory/memory.memsw.limit_in_bytes"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg set t1 --mem 128 --swap 10
    assert_stderr_match "warning: your kernel does not support swap limit capabilities"
    assert_equal 134217728 "$(cat "$r/memory/koker/t1/memory.limit_in_bytes")"
    assert_equal 67108864 "$(cat "$r/memory/koker/t1/memory.memsw.limit_in_bytes")"
}

@test "koker-cg: hybrid fake root: the unified tree holds the group and its processes too" {
    local r=$BATS_TEST_TMPDIR/hy h
    fake_v1 "$r"
    mkdir "$r/unified"
    : >"$r/unified/cgroup.controllers"
    : >"$r/unified/cgroup.subtree_control"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg create t1 --pids 5
    [ -d "$r/unified/koker/t1" ]
    [ -z "$(cat "$r/unified/cgroup.subtree_control")" ] # no controllers there to enable
    [ ! -e "$r/unified/koker/t1/pids.max" ]
    assert_equal 5 "$(cat "$r/pids/koker/t1/pids.max")"
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg add t1 4242
    for h in cpu,cpuacct devices freezer memory pids unified; do
        assert_equal 4242 "$(cat "$r/$h/koker/t1/cgroup.procs")" "$h/cgroup.procs"
    done
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg stats t1 --format json
    assert_equal hybrid "$(jq -r .Mode <<<"$output")"
    assert_equal 6 "$(jq '.Paths | length' <<<"$output")"
    KOKER_CGROUP_ROOT=$r run_koker 125 koker-cg rm t1
    assert_stderr_match "it has processes"
    # a fake root never signals: 4242 is not a process of this group
    KOKER_CGROUP_ROOT=$r run_koker 0 koker-cg -D rm -f t1
    assert_stderr_match "fake cgroup root: no process of cgroup t1 is signalled"
    refute_stderr_match "kill\("
    [ ! -e "$r/unified/koker/t1" ] && [ ! -e "$r/memory/koker/t1" ]
    KOKER_CGROUP_ROOT=$r run_koker 1 koker-cg exists t1
}

@test "koker-cg: create rolls back the directories it made when a step fails" {
    local r=$BATS_TEST_TMPDIR/v1
    fake_v1 "$r"
    mkdir -p "$r/memory/koker/t1" # exists in one hierarchy: refused before anything is made
    KOKER_CGROUP_ROOT=$r run_koker 125 koker-cg create t1
    assert_stderr_match "fatal: unable to create cgroup t1: $r/memory/koker/t1 already exists"
    [ ! -e "$r/pids/koker" ]
    rmdir "$r/memory/koker/t1"
    : >"$r/pids/koker" # a file where the pids parent should be: mkdir fails halfway
    KOKER_CGROUP_ROOT=$r run_koker 125 koker-cg -D create t1 --memory 64m
    assert_stderr_match "unable to create cgroup $r/pids/koker"
    assert_stderr_match "debug: rmdir $r/memory/koker/t1"
    local h
    for h in cpu,cpuacct devices freezer memory; do
        [ ! -e "$r/$h/koker/t1" ] || { echo "$h/koker/t1 left behind"; false; }
    done
}
