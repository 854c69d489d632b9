#!/usr/bin/env bats
# koker-volume, and volumes, binds and tmpfs in koker-run (-v NAME:PATH, --mount, --tmpfs,
# the image's VOLUMEs): real containers, checked from the inside and in the store.
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() { koker_teardown; }

run_c() { # EXPECTED_RC ARGS... : a throwaway container without networking
    local rc=$1
    shift
    run_koker "$rc" koker-run --rm --network none "$@"
}

# vol_data NAME: the host directory that holds the volume's content.
vol_data() { printf '%s/volumes/%s/_data' "$KOKER_ROOT" "$1"; }

# image_with_volume TAG JSON PREPARE: an image of the fixture rootfs, changed by the function
# PREPARE (given the rootfs directory), with JSON merged into its config.
image_with_volume() {
    local tag=$1 config=$2 prepare=$3 dir=$BATS_TEST_TMPDIR/rootfs-$1
    rm -rf "$dir"
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$dir"
    "$prepare" "$dir"
    mkimage "$BATS_TEST_TMPDIR/img-$tag" latest --layer-dir "$dir" --config "$config" >/dev/null
    koker-pull -q --tag "$tag" "oci:$BATS_TEST_TMPDIR/img-$tag:latest" >/dev/null
}

@test "koker-volume: create, ls, inspect and rm as docker's" {
    run_koker 0 koker-volume create --label tier=db --label backup data1
    assert_equal data1 "$output"
    [ -d "$(vol_data data1)" ]
    run_koker 0 koker-volume create data1 # docker: an existing volume is no error
    assert_equal data1 "$output"
    run_koker 0 koker-volume create
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    random=$output
    run_koker 0 koker-volume ls
    assert_match "^DRIVER +VOLUME NAME"
    assert_match "local +data1"
    run_koker 0 koker-volume ls -q
    assert_equal "$(printf '%s\n' "$random" data1 | sort)" "$output"
    run_koker 0 koker-volume ls --format json
    assert_equal data1 "$(jq -r '.[] | select(.Name == "data1") | .Name' <<<"$output")"
    run_koker 0 koker-volume inspect data1
    assert_equal local "$(jq -r '.[0].Driver' <<<"$output")"
    assert_equal local "$(jq -r '.[0].Scope' <<<"$output")"
    assert_equal "$(vol_data data1)" "$(jq -r '.[0].Mountpoint' <<<"$output")"
    assert_equal db "$(jq -r '.[0].Labels.tier' <<<"$output")"
    assert_equal "" "$(jq -r '.[0].Labels.backup' <<<"$output")"
    [[ $(jq -r '.[0].CreatedAt' <<<"$output") =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T ]]
    run_koker 0 koker-volume rm data1 "$random"
    assert_equal "$(printf 'data1\n%s' "$random")" "$output"
    [ ! -e "$KOKER_ROOT/volumes/data1" ]
    run_koker 125 koker-volume rm data1
    assert_stderr_match "koker-volume: fatal: no such volume: data1"
    run_koker 0 koker-volume rm -f data1
    run_koker 125 koker-volume inspect data1
    assert_stderr_match "no such volume: data1"
}

@test "koker-volume: a name with a slash or .. is refused, the store unchanged" {
    for bad in a/b .. ../x ./x a "-x" "x y"; do
        run_koker 125 koker-volume create -- "$bad"
        assert_stderr_match "includes invalid characters for a local volume name"
        [ "$(printf '%s' "$stderr" | wc -l)" -le 1 ]
    done
    run_koker 125 koker-run --rm --network none -v a/b:/x one true
    assert_stderr_match "usage: invalid volume"
    run_koker 125 koker-run --rm --network none -v ..:/x one true
    assert_stderr_match "usage: invalid volume"
    run_koker 125 koker-run --rm --network none --mount type=volume,src=../etc,dst=/x one true
    assert_stderr_match "includes invalid characters for a local volume name"
    run_koker 0 koker-volume ls -q
    assert_equal "" "$output"
    run_koker 125 koker-volume frobnicate
    assert_stderr_match "usage: unknown command frobnicate"
}

@test "koker-run: a named volume outlives its container: a database-like workload" {
    run_c 0 -v db:/var/lib/db one sh -c 'echo row1 >> /var/lib/db/table; echo row2 >> /var/lib/db/table'
    [ -f "$(vol_data db)/table" ]
    run_koker 0 koker-volume ls -q
    assert_equal db "$output"
    # another container, another mount syntax, the same data; it appends in turn
    run_c 0 --mount type=volume,source=db,target=/data one sh -c 'cat /data/table; echo row3 >> /data/table'
    assert_equal "$(printf 'row1\nrow2')" "$output"
    id=$(koker-run -d --network none -v db:/srv one sleep 1000)
    run_koker 0 koker-exec "$id" cat /srv/table
    assert_equal "$(printf 'row1\nrow2\nrow3')" "$output"
    run_koker 0 koker-inspect "$id"
    assert_equal volume "$(jq -r '.[0].Mounts[0].Type' <<<"$output")"
    assert_equal db "$(jq -r '.[0].Mounts[0].Name' <<<"$output")"
    assert_equal /srv "$(jq -r '.[0].Mounts[0].Destination' <<<"$output")"
    assert_equal "$(vol_data db)" "$(jq -r '.[0].Mounts[0].Source' <<<"$output")"
    assert_equal local "$(jq -r '.[0].Mounts[0].Driver' <<<"$output")"
    assert_equal true "$(jq -r '.[0].Mounts[0].RW' <<<"$output")"
    # rm -v keeps a named volume (docker removes anonymous ones only)
    run_koker 0 koker-rm -f -v "$id"
    run_koker 0 koker-volume ls -q
    assert_equal db "$output"
}

@test "koker-run: :ro and readonly volumes refuse writes" {
    koker-volume create -q ro1 >/dev/null
    echo kept >"$(vol_data ro1)/f"
    run_c 1 -v ro1:/data:ro one sh -c 'cat /data/f; echo x > /data/f'
    assert_match kept
    assert_stderr_match "Read-only file system"
    run_c 1 --mount type=volume,src=ro1,dst=/data,readonly one sh -c 'echo x > /data/g'
    assert_stderr_match "Read-only file system"
    run_c 1 --mount type=volume,src=ro1,dst=/data,ro=true one sh -c 'echo x > /data/g'
    assert_stderr_match "Read-only file system"
    run_c 0 --mount type=volume,src=ro1,dst=/data,readonly=false one sh -c 'echo y > /data/g'
    assert_equal kept "$(cat "$(vol_data ro1)/f")"
    assert_equal y "$(cat "$(vol_data ro1)/g")"
}

@test "koker-volume rm: refused while a container uses the volume, running or stopped" {
    id=$(koker-run -d --network none -v busy:/data one sleep 1000)
    run_koker 125 koker-volume rm busy
    assert_stderr_match "^koker-volume: fatal: unable to remove volume busy: volume is in use - \[$id\]$"
    run_koker 0 koker-volume prune -f -a
    refute_match busy
    koker-stop -t 1 "$id" >/dev/null
    run_koker 125 koker-volume rm busy
    assert_stderr_match "volume is in use - \[$id\]"
    [ -d "$(vol_data busy)" ]
    koker-rm "$id" >/dev/null
    run_koker 0 koker-volume rm busy
    assert_equal busy "$output"
}

@test "koker-rm -v and koker-run --rm remove anonymous volumes, not named ones" {
    id=$(koker-run -d --network none -v /anon -v kept:/kept one sleep 1000)
    run koker-inspect "$id"
    anon=$(jq -r '.[0].Mounts[] | select(.Destination == "/anon") | .Name' <<<"$output")
    [[ $anon =~ ^[0-9a-f]{64}$ ]]
    run_koker 0 koker-volume inspect "$anon"
    assert_equal "" "$(jq -r '.[0].Labels["com.docker.volume.anonymous"]' <<<"$output")"
    run_koker 0 koker-rm -f -v "$id"
    run_koker 0 koker-volume ls -q
    assert_equal kept "$output"
    # --rm: the anonymous volume goes with the container
    run_c 0 -v /scratch one sh -c 'echo x > /scratch/f'
    run_koker 0 koker-volume ls -q
    assert_equal kept "$output"
    # and so does a detached one's, removed by its supervisor
    id=$(koker-run -d --rm --network none -v /scratch one true)
    for _ in $(seq 100); do
        [ -e "$KOKER_ROOT/containers/$id" ] || break
        sleep 0.1
    done
    [ ! -e "$KOKER_ROOT/containers/$id" ]
    run_koker 0 koker-volume ls -q
    assert_equal kept "$output"
    # without -v it stays, until prune
    id=$(koker-run -d --network none -v /anon2 one sleep 1000)
    koker-rm -f "$id" >/dev/null
    run_koker 0 koker-volume ls -q
    [ "$(wc -l <<<"$output")" -eq 2 ]
    run_koker 0 koker-volume prune -f
    assert_match "^Deleted Volumes:"
    assert_match "Total reclaimed space: "
    refute_match kept
    run_koker 0 koker-volume ls -q
    assert_equal kept "$output"
}

@test "koker-volume prune: anonymous ones unused only, named ones with --all, asks first" {
    koker-volume create -q named1 >/dev/null
    head -c 4096 /dev/urandom >"$(vol_data named1)/blob"
    id=$(koker-run -d --network none -v inuse:/x one sleep 1000)
    run_koker 0 koker-volume prune -f
    assert_equal "Total reclaimed space: 0B" "$output"
    # without -f it asks; anything but y keeps everything
    run_koker 0 koker-volume prune -a <<<"n"
    assert_stderr_match "WARNING! This will remove all local volumes not used by at least one container"
    [ -z "$output" ]
    run_koker 0 koker-volume prune -a <<<"y"
    assert_match "^Deleted Volumes:
named1

Total reclaimed space: 4\.1kB$"
    run_koker 0 koker-volume ls -q
    assert_equal inuse "$output"
    koker-rm -f "$id" >/dev/null
}

@test "koker system df counts volumes; system prune --volumes removes unused anonymous ones" {
    koker-volume create named2 >/dev/null
    head -c 4096 /dev/urandom >"$(vol_data named2)/blob"
    # an anonymous volume left behind by a container removed without -v
    id=$(koker-run -d --network none -v /anon one sleep 1000)
    anon=$(koker-inspect "$id" | jq -r '.[0].Mounts[0].Name')
    head -c 8192 /dev/urandom >"$(vol_data "$anon")/blob"
    used=$(koker-run -d --network none -v keep:/x one sleep 1000)
    run_koker 0 koker-system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
    assert_match "Local Volumes 3 2"
    koker-rm -f "$id" >/dev/null
    run_koker 0 koker-system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
    assert_match "Local Volumes 3 1"
    run_koker 0 koker-system prune -f --volumes
    assert_match "Deleted Volumes:
$anon
"
    run_koker 0 koker-volume ls -q
    assert_equal "keep named2" "${lines[*]}"
    koker-rm -f "$used" >/dev/null
}

@test "koker-run: an image's VOLUME is an anonymous volume seeded from the image" {
    seed() {
        mkdir -p "$1/var/lib/db/sub"
        echo initial >"$1/var/lib/db/sub/file"
        ln -s sub/file "$1/var/lib/db/link"
        mkfifo "$1/var/lib/db/pipe"
        chown -R 1000:2000 "$1/var/lib/db"
        chmod 0750 "$1/var/lib/db"
        chmod 4755 "$1/var/lib/db/sub/file"
    }
    image_with_volume dbimg '{"Volumes": {"/var/lib/db": {}}, "Cmd": ["sleep", "1000"]}' seed
    id=$(koker-run -d --network none dbimg)
    run koker-inspect "$id"
    anon=$(jq -r '.[0].Mounts[0].Name' <<<"$output")
    assert_equal /var/lib/db "$(jq -r '.[0].Mounts[0].Destination' <<<"$output")"
    [[ $anon =~ ^[0-9a-f]{64}$ ]]
    data=$(vol_data "$anon")
    assert_equal initial "$(cat "$data/sub/file")"
    assert_equal "1000:2000 750" "$(stat -c '%u:%g %a' "$data")"
    assert_equal "1000:2000 4755" "$(stat -c '%u:%g %a' "$data/sub/file")"
    assert_equal sub/file "$(readlink "$data/link")"
    [ -p "$data/pipe" ]
    run_koker 0 koker-exec "$id" sh -c 'echo more >> /var/lib/db/sub/file; grep -c " /var/lib/db " /proc/mounts'
    assert_equal 1 "$output"
    # a named volume at the same path replaces it, seeded when empty, not when it holds data
    run_c 0 -v mine:/var/lib/db dbimg cat /var/lib/db/sub/file
    assert_equal initial "$output"
    echo changed >"$(vol_data mine)/sub/file"
    run_c 0 -v mine:/var/lib/db dbimg cat /var/lib/db/sub/file
    assert_equal changed "$output"
    run_c 0 --mount type=volume,src=nocp,dst=/var/lib/db,volume-nocopy dbimg ls -A /var/lib/db
    assert_equal "" "$output"
    # a bind there too: no anonymous volume made
    before=$(koker-volume ls -q | wc -l)
    mkdir "$BATS_TEST_TMPDIR/bind"
    run_c 0 -v "$BATS_TEST_TMPDIR/bind:/var/lib/db" dbimg ls -A /var/lib/db
    assert_equal "" "$output"
    assert_equal "$before" "$(koker-volume ls -q | wc -l)"
    koker-rm -f -v "$id" >/dev/null
    [ ! -e "$data" ]
}

# xattr_of FILE NAME: the attribute's value (hex for security.capability), or "none".
xattr_of() {
    "$KOKER_TEST_PYTHON" - "$1" "$2" <<'EOF'
import os, sys
try:
    v = os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False)
    print(v.hex() if sys.argv[2].startswith("security.") else v.decode())
except OSError:
    print("none")
EOF
}

@test "koker-run: the copy-up of a VOLUME keeps hard links, user.* and capability xattrs" {
    linked() {
        mkdir -p "$1/srv/db/sub"
        echo shared >"$1/srv/db/a"
        ln "$1/srv/db/a" "$1/srv/db/sub/b"
        echo noted >"$1/srv/db/c"
        echo tool >"$1/srv/db/ping"
        # user.note on a file and user.dir on the directory; cap_net_bind_service+ep on ping,
        # a VFS_CAP_REVISION_2 record as setcap(8) writes it
        "$KOKER_TEST_PYTHON" - "$1/srv/db" <<'EOF'
import os, struct, sys
d = sys.argv[1]
os.setxattr(d + "/c", "user.note", b"hello")
os.setxattr(d, "user.dir", b"top")
os.setxattr(d + "/ping", "security.capability", struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0))
EOF
    }
    image_with_volume linkimg '{"Volumes": {"/srv/db": {}}}' linked
    run_c 0 -v linkvol:/srv/db linkimg stat -c "%h %i" /srv/db/a /srv/db/sub/b
    read -r inside_a inside_b < <(awk '{print $2}' <<<"$output" | xargs)
    assert_equal "$inside_a" "$inside_b" # one inode inside the container too
    data=$(vol_data linkvol)
    assert_equal "2 2" "$(stat -c %h "$data/a" "$data/sub/b" | xargs)"
    assert_equal "$(stat -c %i "$data/a")" "$(stat -c %i "$data/sub/b")"
    assert_equal shared "$(cat "$data/sub/b")"
    assert_equal 1 "$(stat -c %h "$data/c")"
    assert_equal hello "$(xattr_of "$data/c" user.note)"
    assert_equal top "$(xattr_of "$data" user.dir)"
    assert_equal 0100000200040000000000000000000000000000 "$(xattr_of "$data/ping" security.capability)"
}

@test "koker-run: an image's VOLUME that is a symlink to /etc never seeds the host's files" {
    to_etc() {
        echo image-only >"$1/etc/marker"
        ln -s /etc "$1/data"
        ln -s ../../../../../../etc "$1/data2"
    }
    image_with_volume evil '{"Volumes": {"/data": {}, "/data2": {}}}' to_etc
    [ -e /etc/os-release ] # what must not be copied
    run_c 0 -v seeded:/data -v seeded2:/data2 evil true
    for v in seeded seeded2; do
        [ -f "$(vol_data $v)/marker" ]
        [ -f "$(vol_data $v)/passwd" ]
        [ ! -e "$(vol_data $v)/os-release" ]
        [ ! -e "$(vol_data $v)/shadow" ]
    done
    [ ! -e /etc/marker ]
}

@test "koker-run: --tmpfs and --mount type=tmpfs with size and mode" {
    run_c 0 --tmpfs /t:size=1m,mode=1770 one sh -c 'stat -c %a /t; df -k /t | tail -n 1'
    assert_match "^1770"
    assert_match "tmpfs +1024 "
    run_c 1 --tmpfs /t:size=64k one sh -c 'head -c 131072 /dev/zero > /t/big'
    assert_stderr_match "No space left on device|I/O error"
    run_c 0 --mount type=tmpfs,dst=/m,tmpfs-size=2m,tmpfs-mode=700 one sh -c 'stat -c %a /m; df -k /m | tail -n 1'
    assert_match "^700"
    assert_match "tmpfs +2048 "
    run_c 1 --tmpfs /t:ro one sh -c 'touch /t/x'
    assert_stderr_match "Read-only file system"
    # docker's defaults: noexec, nosuid, nodev
    run_c 0 --tmpfs /t one grep " /t " /proc/mounts
    assert_match "nosuid,nodev,noexec"
    id=$(koker-run -d --network none --tmpfs /t:size=1m one sleep 1000)
    run_koker 0 koker-inspect "$id"
    assert_equal tmpfs "$(jq -r '.[0].Mounts[0].Type' <<<"$output")"
    assert_equal size=1m "$(jq -r '.[0].HostConfig.Tmpfs["/t"]' <<<"$output")"
}

@test "koker-run: bad -v, --mount and --tmpfs are one-line usage errors (125) that touch nothing" {
    bad() {
        local pattern=$1
        shift
        run_koker 125 koker-run --rm --network none "$@" one true
        assert_stderr_match "$pattern"
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    }
    bad "invalid argument \"target=/x\" for --mount: type is required" --mount target=/x
    bad "for --mount: target is required" --mount type=volume,src=v1
    bad "unexpected key 'foo' in 'foo=bar'" --mount type=volume,dst=/x,foo=bar
    bad "invalid field 'bogus' must be a key=value pair" --mount type=volume,dst=/x,bogus
    bad "invalid value for readonly: maybe" --mount type=volume,dst=/x,readonly=maybe
    bad "invalid value for tmpfs-mode: 9" --mount type=tmpfs,dst=/x,tmpfs-mode=9
    bad "cannot mix 'tmpfs-\*' options with mount type 'volume'" --mount type=volume,dst=/x,tmpfs-size=1m
    bad "cannot mix 'volume-\*' options with mount type 'bind'" --mount type=bind,src=/tmp,dst=/x,volume-nocopy
    bad "mount type unknown: nfs" --mount type=nfs,dst=/x
    bad "field Source must not be specified for a tmpfs" --mount type=tmpfs,src=x,dst=/x
    bad "the destination can't be '/'" --mount type=volume,dst=/
    bad "must be an absolute path" --mount type=volume,dst=rel
    bad "paths may not hold \.\." --mount type=volume,dst=/a/../b
    bad "Duplicate mount point: /x" -v v1:/x --tmpfs /x
    bad "invalid --tmpfs rel" --tmpfs rel
    bad "unknown or invalid tmpfs option \"?bogus" --tmpfs /t:bogus
    bad "unknown or invalid tmpfs option \"?size=lots" --tmpfs /t:size=lots
    bad "invalid volume \"?v1:/x:rx" -v v1:/x:rx
    # found only at run time, still before anything is made
    run_koker 125 koker-run --rm --network none --mount "type=bind,src=$BATS_TEST_TMPDIR/nope,dst=/x" one true
    assert_stderr_match "bind source path does not exist: $BATS_TEST_TMPDIR/nope"
    [ ! -e "$BATS_TEST_TMPDIR/nope" ]
    run_koker 0 koker-volume ls -q
    assert_equal "" "$output"
    run_koker 0 koker-ps -a -q
    assert_equal "" "$output"
}

@test "koker-volume: what a killed tool left half made is never listed, and is wiped" {
    koker-volume create -q v1 >/dev/null
    mkdir -p "$KOKER_ROOT/volumes/.new-0123456789abcdef/_data" "$KOKER_ROOT/volumes/.rm-fedcba9876543210"
    run_koker 0 koker-volume ls -q
    assert_equal v1 "$output"
    koker-volume create -q v2 >/dev/null
    [ ! -e "$KOKER_ROOT/volumes/.new-0123456789abcdef" ]
    [ ! -e "$KOKER_ROOT/volumes/.rm-fedcba9876543210" ]
    # a claim of a container whose directory is gone does not hold the volume
    touch "$KOKER_ROOT/volumes/v1/users/$(printf 'a%.0s' {1..64})"
    run_koker 0 koker-volume rm v1
}

@test "koker-run killed -9 after taking a volume: the volume is free, the store consistent" {
    for at in "uses volume killvol" "copy-up"; do
        fifo=$BATS_TEST_TMPDIR/trace
        rm -f "$fifo"
        mkfifo "$fifo"
        koker-run -D --network none -v killvol:/etc one true 2>"$fifo" &
        pid=$!
        echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
        while read -r line; do
            if [[ $line == *"$at"* ]]; then
                kill -9 "$pid"
                break
            fi
        done <"$fifo"
        wait "$pid" || true
        run_koker 0 koker-volume ls -q
        assert_equal killvol "$output"
        # the half-made container's claim does not hold it
        run_koker 0 koker-volume rm killvol
    done
    run_c 0 -v killvol:/etc one cat /etc/group
    assert_match "^root:x:0:"
}

@test "koker-run: containers created at once with one new volume all start, filled once" {
    seed_many() {
        mkdir -p "$1/srv/data"
        for i in $(seq 50); do echo "$i" >"$1/srv/data/f$i"; done
    }
    image_with_volume many '{"Volumes": {"/srv/data": {}}}' seed_many
    pids=()
    for i in $(seq 6); do
        koker-run --rm --network none -v shared:/srv/data many cat /srv/data/f50 \
            >"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" &
        pids+=("$!")
        echo "$!" >>"$BATS_TEST_TMPDIR/pids"
    done
    for i in $(seq 6); do
        wait "${pids[$((i - 1))]}" || { cat "$BATS_TEST_TMPDIR/err$i"; false; }
        assert_equal 50 "$(cat "$BATS_TEST_TMPDIR/out$i")"
    done
    assert_equal 50 "$(find "$(vol_data shared)" -type f | wc -l)"
}
