#!/usr/bin/env bats
# koker-oci's cgroups as the host shows them: linux.cgroupsPath absolute, relative and in
# systemd's form, the files linux.resources writes, update, and delete taking it all away again,
# the parents it made included. Every group a test may make is removed in teardown.
load helpers
load helpers.oci

# The v1 controllers an OCI group may join here; the unified tree is "unified".
CONTROLLERS=(cpu cpuacct cpuset memory devices freezer blkio pids)

setup() {
    koker_setup
    requires root
    [[ -n $(v1_mount memory) && -n $(v1_mount pids) && -n $(v1_mount cpu) ]] ||
        skip "requires the v1 memory, pids and cpu controllers (a v1 or hybrid host)"
    oci_bundle
    oci_config '.process.args = ["sleep", "100"] | .process.terminal = false'
    # Names no other test or run uses, at the top of each hierarchy.
    TAG=kt62-$$-$BATS_TEST_NUMBER
}

teardown() {
    oci_delete_all
    koker_teardown
}

# v1_mount CONTROLLER: where the v1 hierarchy holding CONTROLLER is mounted (empty if none).
v1_mount() {
    awk -v c="$1" '{ for (i = 7; $i != "-"; i++) {}
        if ($(i + 1) == "cgroup" && index("," $(i + 3) ",", "," c ",")) { print $5; exit } }' \
        /proc/self/mountinfo
}

# mount_of CONTROLLER|unified: its hierarchy's mount point (empty if none).
mount_of() {
    if [[ $1 == unified ]]; then
        awk '{ for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "cgroup2") { print $5; exit } }' \
            /proc/self/mountinfo
    else
        v1_mount "$1"
    fi
}

# own_group CONTROLLER|unified: this shell's group there ("/" at the root), which koker-oci,
# its child, shares: where a relative cgroupsPath starts.
own_group() {
    awk -F: -v c="$1" '(c == "unified" && $1 == "0") || (c != "unified" && index("," $2 ",", "," c ",")) {
        print $3; exit }' /proc/self/cgroup
}

# group_dir CONTROLLER|unified PATH [own]: PATH's directory in that hierarchy, from its root
# or, with own, under this shell's group.
group_dir() {
    local m base=/
    m=$(mount_of "$1")
    [[ $# -lt 3 ]] || base=$(own_group "$1")
    printf '%s%s/%s\n' "$m" "${base%/}" "${2#/}"
}

# group_dirs PATH [own]: PATH's directory in every hierarchy here.
group_dirs() {
    local c
    for c in "${CONTROLLERS[@]}" unified; do
        [[ -z $(mount_of "$c") ]] || group_dir "$c" "$@"
    done | sort -u
}

# watch_groups PATH [own]: have teardown remove PATH and each of its parents in every
# hierarchy, deepest first (and kill what is left in them).
watch_groups() {
    local prefix="" part d
    local -a parts
    IFS=/ read -ra parts <<<"${1#/}"
    for part in "${parts[@]}"; do
        prefix+=${prefix:+/}$part
        while read -r d; do
            koker_cleanup_later cgroup "$d"
        done < <(group_dirs "$prefix" "${@:2}")
    done
}

# assert_no_groups PATH [own]: PATH exists in no hierarchy.
assert_no_groups() {
    local d
    while read -r d; do
        [[ ! -e $d ]] || {
            echo "left behind: $d"
            return 1
        }
    done < <(group_dirs "$@")
}

pid_of() { "${OCI[@]}" state "$1" | jq -r .pid; }

# stop ID: kills its init and waits until the state says stopped.
stop() {
    "${OCI[@]}" kill "$1" KILL
    for _ in $(seq 50); do
        [[ $("${OCI[@]}" state "$1" | jq -r .status) == stopped ]] && return 0
        sleep 0.1
    done
    return 1
}

@test "koker-oci: an absolute cgroupsPath starts at each hierarchy's root; delete removes it and the parents it made" {
    local path=/$TAG/ctr pid
    watch_groups "$path"
    oci_config '.linux.cgroupsPath = $p
        | .linux.resources.memory = {"limit": 67108864, "reservation": 33554432,
            "swappiness": 10, "disableOOMKiller": true}
        | .linux.resources.cpu = {"shares": 512, "quota": 25000, "period": 100000}
        | .linux.resources.pids = {"limit": 42}
        | .linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229,
            "access": "rwm"}]' --arg p "$path"
    oci_detached create --bundle "$BUNDLE" a1
    pid=$(pid_of a1)
    assert_equal 67108864 "$(cat "$(group_dir memory "$path")/memory.limit_in_bytes")"
    assert_equal 33554432 "$(cat "$(group_dir memory "$path")/memory.soft_limit_in_bytes")"
    assert_equal 10 "$(cat "$(group_dir memory "$path")/memory.swappiness")"
    grep -qx 'oom_kill_disable 1' "$(group_dir memory "$path")/memory.oom_control"
    assert_equal 512 "$(cat "$(group_dir cpu "$path")/cpu.shares")"
    assert_equal 25000 "$(cat "$(group_dir cpu "$path")/cpu.cfs_quota_us")"
    assert_equal 42 "$(cat "$(group_dir pids "$path")/pids.max")"
    # The spec's device rules first, in their order (deny-all, then /dev/fuse), then runc's.
    assert_equal $'c 10:229 rwm\nc *:* m\nb *:* m\nc 1:3 rwm' \
        "$(head -4 "$(group_dir devices "$path")/devices.list")"
    # The init is in the group in every hierarchy it joined, the unified tree included.
    grep -qx "[0-9]*:memory:$path" "/proc/$pid/cgroup"
    grep -qx "[0-9]*:pids:$path" "/proc/$pid/cgroup"
    grep -qx "[0-9]*:cpu:$path" "/proc/$pid/cgroup"
    [[ -z $(mount_of unified) ]] || grep -qx "0::$path" "/proc/$pid/cgroup"
    # Without a value for them, the cpuset and blkio hierarchies are left out.
    [ ! -e "$(group_dir cpuset "$path")" ]
    run_koker 0 "${OCI[@]}" start a1
    run_koker 0 "${OCI[@]}" ps --format json a1
    assert_equal "[$pid]" "$output"
    stop a1
    run_koker 0 "${OCI[@]}" delete a1
    assert_no_groups "$TAG"
}

@test "koker-oci: a relative cgroupsPath, and none at all, sit under the caller's own group" {
    local rel=$TAG/ctr c want pid
    watch_groups "$rel" own
    watch_groups "$TAG-d" own
    oci_config '.linux.cgroupsPath = $p | .linux.resources.pids = {"limit": 7}' --arg p "$rel"
    oci_detached create --bundle "$BUNDLE" r1
    pid=$(pid_of r1)
    for c in memory pids devices; do
        want=$(own_group "$c")
        grep -qx "[0-9]*:$c:${want%/}/$rel" "/proc/$pid/cgroup" ||
            { echo "$c: $(grep ":$c:" "/proc/$pid/cgroup"), not ${want%/}/$rel"; false; }
    done
    assert_equal 7 "$(cat "$(group_dir pids "$rel" own)/pids.max")"
    # No cgroupsPath: the container's ID, relative (runc's default).
    oci_config 'del(.linux.cgroupsPath) | del(.linux.resources.pids)'
    oci_detached create --bundle "$BUNDLE" "$TAG-d"
    want=$(own_group memory)
    grep -qx "[0-9]*:memory:${want%/}/$TAG-d" "/proc/$(pid_of "$TAG-d")/cgroup"
    # delete --force of a running container: killed, then its groups and parents removed.
    run_koker 0 "${OCI[@]}" delete --force r1
    run_koker 0 "${OCI[@]}" delete --force "$TAG-d"
    assert_no_groups "$TAG" own
    assert_no_groups "$TAG-d" own
}

@test "koker-oci --systemd-cgroup: slice:prefix:name is the path systemd would give the scope, recorded for later calls" {
    local slice=kt62-$$.slice path=/kt62.slice/kt62-$$.slice/koker-s1.scope pid
    watch_groups "$path"
    oci_config '.linux.cgroupsPath = $p | .linux.resources.memory = {"limit": 33554432}' \
        --arg p "$slice:koker:s1"
    oci_detached --systemd-cgroup create --bundle "$BUNDLE" s1
    pid=$(pid_of s1)
    grep -qx "[0-9]*:memory:$path" "/proc/$pid/cgroup"
    assert_equal 33554432 "$(cat "$(group_dir memory "$path")/memory.limit_in_bytes")"
    # Later calls do not repeat --systemd-cgroup: they read what create recorded.
    run_koker 0 "${OCI[@]}" start s1
    run_koker 0 "${OCI[@]}" pause s1
    assert_equal FROZEN "$(cat "$(group_dir freezer "$path")/freezer.state")"
    run_koker 0 "${OCI[@]}" resume s1
    run_koker 0 "${OCI[@]}" kill --all s1 KILL
    for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    run_koker 0 "${OCI[@]}" delete s1
    assert_no_groups "/kt62.slice/kt62-$$.slice" # the slices made for it went with it
    # Not systemd's form: one line naming the path, and nothing made.
    oci_config '.linux.cgroupsPath = "/not/a/slice"'
    run_koker 1 "${OCI[@]}" --systemd-cgroup create --bundle "$BUNDLE" s2
    assert_stderr_match 'expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/not/a/slice" instead'
    assert_equal 1 "$(wc -l <<<"$stderr")"
    oci_config '.linux.cgroupsPath = "a--b.slice:p:n"'
    run_koker 1 "${OCI[@]}" --systemd-cgroup create --bundle "$BUNDLE" s3
    assert_stderr_match "invalid slice name: a--b.slice"
    run_koker 0 "${OCI[@]}" list -q
    assert_equal "" "$output"
}

@test "koker-oci update: flags, --resources FILE and -, a hierarchy joined later; runc's wording" {
    local path=/$TAG/u pid
    watch_groups "$path"
    oci_config '.linux.cgroupsPath = $p | .process.args = ["sh", "-c", "sleep 100 & sleep 100"]
        | .linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 10}' \
        --arg p "$path"
    oci_detached create --bundle "$BUNDLE" u1
    run_koker 0 "${OCI[@]}" start u1
    pid=$(pid_of u1)
    run_koker 0 "${OCI[@]}" update --memory 100m --pids-limit 20 u1
    assert_equal 104857600 "$(cat "$(group_dir memory "$path")/memory.limit_in_bytes")"
    assert_equal 20 "$(cat "$(group_dir pids "$path")/pids.max")"
    # No CPU value at create: the cpu hierarchy was left out; the update joins every process.
    [ ! -e "$(group_dir cpu "$path")" ]
    run_koker 0 "${OCI[@]}" update --cpu-quota 30000 --cpu-period 100000 u1
    assert_equal 30000 "$(cat "$(group_dir cpu "$path")/cpu.cfs_quota_us")"
    grep -qx "[0-9]*:cpu:$path" "/proc/$pid/cgroup"
    [ "$(wc -l <"$(group_dir cpu "$path")/cgroup.procs")" -ge 2 ]
    assert_equal running "$("${OCI[@]}" state u1 | jq -r .status)" # thawed again
    # containerd's way: JSON on stdin; podman's: a file.
    echo '{"memory": {"limit": 83886080}, "cpu": {"shares": 256}}' >"$BATS_TEST_TMPDIR/r.json"
    run_koker 0 "${OCI[@]}" update -r - u1 <"$BATS_TEST_TMPDIR/r.json"
    assert_equal 83886080 "$(cat "$(group_dir memory "$path")/memory.limit_in_bytes")"
    assert_equal 256 "$(cat "$(group_dir cpu "$path")/cpu.shares")"
    echo '{"pids": {"limit": 30}}' >"$BATS_TEST_TMPDIR/r.json"
    run_koker 0 "${OCI[@]}" update --resources "$BATS_TEST_TMPDIR/r.json" u1
    assert_equal 30 "$(cat "$(group_dir pids "$path")/pids.max")"
    run_koker 1 "${OCI[@]}" update --resources "$BATS_TEST_TMPDIR/nope.json" u1
    run_koker 1 "${OCI[@]}" update --memory 12q u1
    assert_stderr_match "invalid value for --memory: '12q'"
    run_koker 1 "${OCI[@]}" update --memory 100m nope
    assert_equal "koker-oci: fatal: container does not exist" "$stderr"
    stop u1
    run_koker 1 "${OCI[@]}" update --memory 100m u1
    assert_stderr_match "container not running"
    run_koker 0 "${OCI[@]}" delete u1
    assert_no_groups "$TAG" # the cpu group joined later too
}

@test "koker-oci: a bad cgroupsPath, an unmounted controller or a failed write make nothing" {
    watch_groups "$TAG/x"
    watch_groups "$TAG/busy"
    oci_config '.linux.cgroupsPath = "../escape"'
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" e1
    assert_equal "koker-oci: fatal: invalid cgroupsPath '../escape': '..' is not allowed" "$stderr"
    oci_config '.linux.cgroupsPath = "/"'
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" e1
    assert_stderr_match "names the root of the hierarchy"
    # A value for a controller not mounted is refused as runc refuses it, before any mkdir.
    if [[ -z $(v1_mount net_cls) ]]; then
        oci_config '.linux.cgroupsPath = $p | .linux.resources.network = {"classID": 255}' \
            --arg p "/$TAG/x"
        run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" e2
        assert_stderr_match "unable to set the network class ID of cgroup /$TAG/x: no net_cls controller is mounted"
        assert_no_groups "$TAG"
    fi
    # A write the kernel refuses after the groups were made: they go again, parents too.
    oci_config 'del(.linux.resources.network) | .linux.cgroupsPath = $p
        | .linux.resources.cpu = {"cpus": "4096"}' --arg p "/$TAG/x"
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" e3
    assert_stderr_match "unable to write 4096 to .*/$TAG/x/cpuset.cpus"
    assert_no_groups "$TAG"
    # A group with processes of its own is someone else's.
    mkdir -p "$(group_dir pids "$TAG/busy")"
    sleep 100 &
    koker_cleanup_later pid $!
    echo $! >"$(group_dir pids "$TAG/busy")/cgroup.procs"
    oci_config 'del(.linux.resources.cpu) | .linux.cgroupsPath = $p' --arg p "/$TAG/busy"
    run_koker 1 "${OCI[@]}" create --bundle "$BUNDLE" e4
    assert_stderr_match "unable to create cgroup /$TAG/busy: .*/$TAG/busy exists and has processes"
    [ ! -e "$(group_dir memory "$TAG")" ]
    run_koker 0 "${OCI[@]}" list -q
    assert_equal "" "$output"
}

@test "koker-oci delete --force: a create killed halfway leaves its cgroup record, and delete finds it" {
    local path=/$TAG/k pid
    watch_groups "$path"
    oci_config '.linux.cgroupsPath = $p' --arg p "$path"
    oci_detached create --bundle "$BUNDLE" h1
    pid=$(pid_of h1)
    # What a create killed before it wrote state.json leaves: the groups, their record, and
    # an init that dies on its own.
    kill -KILL "$pid"
    rm "$BATS_TEST_TMPDIR/oci/h1/state.json"
    run_koker 1 "${OCI[@]}" state h1
    assert_stderr_match "container does not exist"
    [ -d "$(group_dir memory "$path")" ]
    run_koker 0 "${OCI[@]}" delete --force h1
    assert_no_groups "$TAG"
    [ ! -e "$BATS_TEST_TMPDIR/oci/h1" ]
}
