#!/usr/bin/env bats
# Listing and scripting: labels, ps --filter, Go templates for ps, images and inspect, and
# koker-system df, prune, info and version, against real containers and images.
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() { koker_teardown; }

names() { # [koker-ps ARGS...]: the names listed, sorted, on one line
    koker-ps "$@" --format '{{.Names}}' | sort | tr '\n' ' ' | sed 's/ $//'
}

# An image built on one (one's layer and one more) with labels of its own, tagged child.
child_image() {
    local dir=$BATS_TEST_TMPDIR/child
    koker_skopeo copy -q "oci:$KOKER_TEST_FIXTURES/one:latest" "oci:$dir:latest"
    koker_umoci_unpack "$dir:latest" "$dir.work"
    echo child >"$dir.work/rootfs/child"
    umoci repack --image "$dir:latest" "$dir.work"
    umoci config --image "$dir:latest" --config.label tier=image --config.label app=img
    rm -rf "$dir.work"
    koker-pull -q --tag child "oci:$dir:latest"
}

@test "koker-run: -l and --label-file set Config.Labels over the image's labels" {
    child_image >/dev/null
    printf '# a comment\n\nf=from file\n' >"$BATS_TEST_TMPDIR/labels"
    run_koker 0 koker-run --network none --name lab -l app=mine -l bare -l a=1=2 \
        --label-file "$BATS_TEST_TMPDIR/labels" child true
    run_koker 0 koker-inspect -f '{{json .Config.Labels}}' lab
    assert_equal '{"a":"1=2","app":"mine","bare":"","f":"from file","tier":"image"}' "$output"
    run_koker 0 koker-inspect -f '{{index .Config.Labels "tier"}}|{{index .Config.Labels "none"}}|' lab
    assert_equal 'image||' "$output"
    run_koker 125 koker-run --network none -l =x one true
    assert_stderr_match "invalid label '?=x'?: the key is empty"
    run_koker 125 koker-run --network none --label-file "$BATS_TEST_TMPDIR/missing" one true
    assert_equal 1 "$(koker-ps -aq | wc -l)" "a refused run left a container behind"
}

@test "koker-ps: --filter status, name, id, label, exited, ancestor, as docker combines them" {
    child_image >/dev/null
    web=$(koker-run -d --network none --name web -l tier=front one sleep 60)
    koker-run -d --network none --name db -l tier=back one sleep 60 >/dev/null
    koker-run --network none --name done0 one true
    run_koker 3 koker-run --network none --name done3 -l tier=back one sh -c 'exit 3'
    koker-run --network none --name kid child true

    assert_equal "db web" "$(names)"
    assert_equal "db web" "$(names -f status=running)"
    # status implies -a, as in docker; two values of one key: either
    assert_equal "done0 done3 kid" "$(names -f status=exited)"
    assert_equal "db done0 done3 kid web" "$(names -f status=exited -f status=running)"
    assert_equal "" "$(names -f status=paused)"
    # name and id: regular expressions, with or without docker's leading /
    assert_equal "web" "$(names -a -f name=web)"
    assert_equal "db done0 done3" "$(names -a -f name=^d)"
    assert_equal "web" "$(names -a -f 'name=^/web$')"
    assert_equal "done0 done3" "$(names -a -f 'name=done[03]')"
    assert_equal "web" "$(names -a -f "id=${web:0:12}")"
    # label: every label filter must match; different keys must all match
    assert_equal "db done3 kid web" "$(names -a -f label=tier)" # kid: the image's label
    assert_equal "db done3" "$(names -a -f label=tier=back)"
    assert_equal "" "$(names -a -f label=tier=back -f label=tier=front)"
    assert_equal "db" "$(names -f label=tier=back -f status=running)"
    assert_equal "kid" "$(names -a -f label=app=img)"
    # exited=N: containers that ran and exited with N
    assert_equal "done3" "$(names -a -f exited=3)"
    assert_equal "done0 kid" "$(names -a -f exited=0)"
    assert_equal "done0 done3 kid" "$(names -a -f exited=0 -f exited=3)"
    # ancestor: by name, by ID, and an image built on it
    assert_equal "db done0 done3 kid web" "$(names -a -f ancestor=one)"
    one_id=$(koker-inspect -f '{{.Id}}' one)
    assert_equal "db done0 done3 kid web" "$(names -a -f "ancestor=${one_id:7:12}")"
    assert_equal "kid" "$(names -a -f ancestor=child)"
    assert_equal "" "$(names -a -f ancestor=nosuchimage)"
    assert_equal "kid" "$(names -a -f ancestor=one -f label=app)"
    # -q and the default table honour filters too
    assert_equal "${web:0:12}" "$(koker-ps -q -f name=web)"
    run_koker 0 koker-ps -f name=web
    assert_equal 2 "${#lines[@]}"
    assert_match "web$"
}

@test "koker-ps: bad filters are one-line usage errors" {
    for f in foo=bar nokey status=sleeping exited=x 'name=('; do
        run_koker 125 koker-ps --filter "$f"
        assert_equal 1 "${#stderr_lines[@]}" "$f"
        assert_equal "" "$output"
    done
    run_koker 125 koker-ps -f status=sleeping
    assert_stderr_match "invalid filter 'status=sleeping'"
    run_koker 125 koker-ps -f foo=bar
    assert_stderr_match "invalid filter 'foo'"
}

@test "koker-ps: --format Go templates: docker's fields, table headers, json, Label" {
    id=$(koker-run -d --network none --name tmpl -l tier=front -l app=web one sleep 60)
    run_koker 0 koker-ps --format '{{.ID}}|{{.Names}}|{{.Image}}|{{.State}}|{{.Command}}|{{.Labels}}|{{.Label "tier"}}|{{.Label "nope"}}|{{.Networks}}|{{.Ports}}|{{.Mounts}}'
    assert_equal "${id:0:12}|tmpl|one|running|\"sleep 60\"|app=web,tier=front|front||none||" "$output"
    run_koker 0 koker-ps --no-trunc --format '{{.ID}}'
    assert_equal "$id" "$output"
    run_koker 0 koker-ps --format '{{.Status}}#{{.RunningFor}}#{{.CreatedAt}}'
    assert_match '^Up [^#]+#[^#]+ ago#20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000 UTC$'
    # table: a header from the fields, columns aligned at the tabs
    run_koker 0 koker-ps --format 'table {{.Names}}\t{{.State}}\t{{.Label "com.example.app-name"}}'
    assert_equal "NAMES   STATE     APP NAME" "${lines[0]}"
    assert_equal "tmpl    running" "${lines[1]}"
    run_koker 0 koker-ps --format '{{json .}}'
    assert_equal tmpl "$(jq -r .Names <<<"$output")"
    assert_equal "app=web,tier=front" "$(jq -r .Labels <<<"$output")"
    run_koker 0 koker-ps --format '{{if eq .State "running"}}{{upper .Names}}{{end}}{{range split .Labels ","}} <{{.}}>{{end}}'
    assert_equal "TMPL <app=web> <tier=front>" "$output"
    # the formats of before keep working
    run_koker 0 koker-ps --format json
    assert_equal front "$(jq -r '.[0].Labels.tier' <<<"$output")"
    run_koker 0 koker-ps --format table
    assert_match '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES'
    # template errors: one line, 125, nothing on stdout
    for t in '{{.Nope}}' '{{.Names' '{{nosuch .Names}}' '{{if .Names}}x' '{{.Names "arg"}}'; do
        run_koker 125 koker-ps --format "$t"
        assert_equal 1 "${#stderr_lines[@]}" "$t"
        assert_equal "" "$output" "$t"
    done
    run_koker 125 koker-ps --format '{{.Nope}}'
    assert_stderr_match "^koker-ps: fatal: template: executing: can't evaluate field Nope"
    run_koker 125 koker-ps --format '{{.Names'
    assert_stderr_match "^koker-ps: usage: template parsing error: .*unclosed action"
}

@test "koker-ps and koker-inspect -f: ports and the address of a container on the bridge" {
    requires netns
    port=$((${KOKER_TEST_PORT_BASE:-40700} + BATS_TEST_NUMBER))
    id=$(koker-run -d --name pub -p "127.0.0.1:$port:80" one sleep 60)
    run_koker 0 koker-ps --format '{{.Ports}}|{{.Networks}}'
    assert_equal "127.0.0.1:$port->80/tcp|bridge" "$output"
    run_koker 0 koker-inspect -f '{{.NetworkSettings.IPAddress}}' pub
    assert_equal "$(koker-inspect pub | jq -r '.[0].NetworkSettings.IPAddress')" "$output"
    [[ $output == "${KOKER_SUBNET%.*.*}".* ]]
    run_koker 0 koker-inspect -f '{{range $p, $b := .NetworkSettings.Ports}}{{$p}}={{(index $b 0).HostPort}}{{end}}' "$id"
    assert_equal "80/tcp=$port" "$output"
}

@test "koker-inspect -f: fields, json, index, range over containers and images" {
    id=$(koker-run -d --network none --name insp -e GREETING=hi -l k=v one sleep 60)
    koker-run --network none --name other one true
    run_koker 0 koker-inspect -f '{{.State.Pid}}' insp
    assert_equal "$(koker-inspect insp | jq -r '.[0].State.Pid')" "$output"
    [ "$output" -gt 1 ]
    run_koker 0 koker-inspect --format '{{.Name}} {{.State.Status}} {{.State.Running}}' insp other
    assert_equal $'/insp running true\n/other exited false' "$output"
    run_koker 0 koker-inspect -f '{{json .Config}}' insp
    assert_equal "$(koker-inspect insp | jq -c '.[0].Config')" "$(jq -c . <<<"$output")"
    run_koker 0 koker-inspect -f '{{.Config.Env}}' insp
    assert_match '^\[PATH=.* GREETING=hi\]$'
    run_koker 0 koker-inspect -f '{{range .Config.Env}}{{println .}}{{end}}' insp
    assert_match $'\nGREETING=hi$'
    run_koker 0 koker-inspect -f '{{index .Config.Labels "k"}} {{.Config.Labels}} {{.NoSuchField}} {{len .Args}}' insp
    assert_equal "v map[k:v] <no value> 1" "$output"
    run_koker 0 koker-inspect -f '{{.Id}} {{index .RepoTags 0}}' one
    assert_match '^sha256:[0-9a-f]{64} ([a-z0-9./]*/)?one(:latest)?$'
    run_koker 0 koker-inspect -f json insp
    assert_equal "$id" "$(jq -r '.[0].Id' <<<"$output")"
    # a template that does not parse: usage; one that fails on an object: that object fails
    run_koker 125 koker-inspect -f '{{.State.Pid' insp
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match "template parsing error"
    run_koker 125 koker-inspect -f '{{.Name}}' insp nosuch
    assert_equal "/insp" "$output"
    assert_stderr_match "no such object: nosuch"
    run_koker 125 koker-inspect -f '{{index .Args 9}}' insp
    assert_stderr_match "index out of range"
}

@test "koker-images: --format Go templates and table headers" {
    id=$(koker-inspect -f '{{.Id}}' one)
    run_koker 0 koker-images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.Containers}}'
    assert_match "^([a-z./]*/)?one:latest ${id:7:12} [0-9.]+[kMG]?B N/A$"
    run_koker 0 koker-images --no-trunc --format '{{.ID}}'
    assert_equal "$id" "$output"
    run_koker 0 koker-images --format 'table {{.Repository}}\t{{.Tag}}\t{{.CreatedSince}}'
    assert_match '^REPOSITORY +TAG +CREATED'
    assert_equal 2 "${#lines[@]}"
    run_koker 0 koker-images --format '{{json .}}'
    assert_equal latest "$(jq -r .Tag <<<"$output")"
    run_koker 125 koker-images --format '{{.Nope}}'
    assert_stderr_match "can't evaluate field Nope"
    run_koker 0 koker-images --format json
    assert_equal "$id" "$(jq -r '.[0].Id' <<<"$output")"
}

@test "koker-system df: docker's table, counts, sizes and --format" {
    koker-run -d --network none --name up one sleep 60 >/dev/null
    koker-run --network none --name wrote one sh -c 'head -c 300000 /dev/zero >/big'
    run_koker 0 koker-system df
    assert_match '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE'
    assert_match $'\nImages +1 +1 +[0-9.]+[kMG]B +0B \\(0%\\)'
    assert_match $'\nContainers +2 +1 +3[0-9.]*kB +3[0-9.]*kB \\(1?[0-9]{2}%\\)'
    assert_match $'\nLocal Volumes +0 +0 +0B +0B'
    assert_match $'\nBuild Cache +0 +0 +0B +0B'
    run_koker 0 koker-system df --format '{{.Type}}={{.TotalCount}}/{{.Active}}'
    assert_equal $'Images=1/1\nContainers=2/1\nLocal Volumes=0/0\nBuild Cache=0/0' "$output"
    run_koker 0 koker-system df --format json
    assert_equal 2 "$(jq -r '.[1].TotalCount' <<<"$output")"
    run_koker 125 koker-system df --format '{{.Nope}}'
    assert_stderr_match "can't evaluate field Nope"
}

@test "koker-system prune: asks without -f, removes only stopped containers and unused images" {
    child_image >/dev/null
    keep=$(koker-run -d --network none --name keep one sleep 60)
    koker-run --network none --name gone1 one true
    koker-run --network none --name gone2 child sh -c 'echo data >/file'
    gone1=$(koker-inspect -f '{{.Id}}' gone1)
    child=$(koker-inspect -f '{{.Id}}' child)
    # child's tag moves away: it is dangling, but gone2 still uses it
    koker-pull -q --tag child "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null

    # no terminal, no -f: refused, nothing removed
    run_koker 125 koker-system prune </dev/null
    assert_stderr_match "give -f"
    assert_equal 3 "$(koker-ps -aq | wc -l)"

    run_koker 0 koker-system prune -f
    assert_match "^Deleted Containers:"$'\n'
    assert_match "$gone1"
    assert_match "Deleted Images:"$'\n'"deleted: $child"
    assert_match $'\n'"Total reclaimed space: [0-9.]+[kMG]?B$"
    assert_equal "keep" "$(names -a)"
    assert_equal running "$(koker-inspect -f '{{.State.Status}}' keep)"
    run_koker 125 koker-inspect --type image "$child"
    [ -n "$(koker-images -q)" ]

    # -a: every image no container uses; one stays for keep
    koker-pull -q --tag spare "oci:$BATS_TEST_TMPDIR/child:latest" >/dev/null
    run_koker 0 koker-system prune -a -f --volumes
    assert_match "untagged: [a-z./]*spare"
    assert_match "deleted: $child"
    run_koker 0 koker-images --format '{{.Repository}}:{{.Tag}}'
    refute_match spare
    assert_match one
    assert_equal running "$(koker-inspect -f '{{.State.Status}}' "$keep")"

    # nothing left to remove
    run_koker 0 koker-system prune -af
    assert_equal "Total reclaimed space: 0B" "$output"
}

@test "koker-system info and version: docker's fields, --format, the wrapper's verbs" {
    koker-run -d --network none one sleep 60 >/dev/null
    koker-run --network none one true
    run_koker 0 koker-system info
    assert_match $'\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n'
    assert_match $'\n Server Version: 0.1.0\n'
    assert_match $'\n Storage Driver: overlay2\n  Backing Filesystem: [a-z]+\n'
    assert_match $'\n Cgroup Driver: cgroupfs\n Cgroup Version: [12]\n'
    assert_match $'\n Kernel Version: '"$(uname -r)"$'\n'
    assert_match $'\n Architecture: '"$(uname -m)"$'\n'
    assert_match $'\n CPUs: '"$(getconf _NPROCESSORS_ONLN)"$'\n'
    assert_match $'\n Total Memory: [0-9.]+[KMGT]iB\n'
    assert_match $'\n Docker Root Dir: '"$KOKER_ROOT"$'\n'
    assert_match $'\n Operating System: .+\n OSType: linux\n'
    run_koker 0 koker-system info --format '{{.ContainersRunning}}/{{.ContainersStopped}} {{.Images}} {{.DockerRootDir}} {{.OSType}}'
    assert_equal "1/1 1 $KOKER_ROOT linux" "$output"
    run_koker 0 koker-system info --format '{{json .}}'
    assert_equal 0.1.0 "$(jq -r .ServerVersion <<<"$output")"
    run_koker 125 koker-system info --format '{{.Nope}}'
    assert_equal 1 "${#stderr_lines[@]}"

    run_koker 0 koker-system version
    assert_match $'^Client:\n Version: +0.1.0\n OS/Arch: +linux/[a-z0-9]+\n'
    assert_match $'\nServer: koker \\(no daemon\\)\n Engine:\n  Version: +0.1.0\n'
    run_koker 0 koker-system version --format '{{.Client.Version}} {{.Server.Version}} {{.Server.Os}}'
    assert_equal "0.1.0 0.1.0 linux" "$output"

    # the wrapper: info, version, system ...; --version unchanged
    run_koker 0 koker info --format '{{.ServerVersion}}'
    assert_equal 0.1.0 "$output"
    run_koker 0 koker version --format '{{.Client.Version}}'
    assert_equal 0.1.0 "$output"
    run_koker 0 koker system df --format '{{.Type}}'
    assert_equal "Images" "${lines[0]}"
    run_koker 0 koker --version
    assert_equal "koker version 0.1.0" "$output"
}

@test "koker-system: bad usage is one line and 125, and changes nothing" {
    koker-run --network none --name stays one true
    for args in "" "bogus" "df extra" "df -a" "info -f" "prune --format x" "version --volumes"; do
        # shellcheck disable=SC2086 # the words are the arguments
        run_koker 125 koker-system $args
        assert_equal 1 "${#stderr_lines[@]}" "koker-system $args"
    done
    assert_equal stays "$(names -a)"
}

@test "koker-system prune: kill -9 at any point leaves the store consistent; prune again finishes" {
    keep=$(koker-run -d --network none --name keep one sleep 60)
    for delay in 0.02 0.1 0.3; do
        for i in 1 2 3 4; do koker-run --network none one sh -c "echo $i >/f"; done
        koker-pull -q --tag "spare$i" "oci:$KOKER_TEST_FIXTURES/three:latest" >/dev/null
        koker-system prune -af >/dev/null 2>&1 &
        pid=$!
        koker_cleanup_later pid "$pid"
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        # every record left reads, every image left inspects, nothing is mounted for them (nor
        # for keep, whose root is mounted in its own mount namespace only)
        run_koker 0 koker-ps -a --format '{{.Names}} {{.State}}'
        assert_equal "" "$stderr"
        run_koker 0 koker-images --format '{{.ID}}'
        for img in "${lines[@]}"; do koker-inspect --type image "$img" >/dev/null; done
        assert_equal 0 "$(grep -c " $KOKER_ROOT/" /proc/self/mountinfo || true)" "no root is mounted on the host"
    done
    run_koker 0 koker-system prune -af
    assert_match "Total reclaimed space:"
    assert_equal "keep running" "$(koker-ps -a --format '{{.Names}} {{.State}}')"
    assert_equal 1 "$(koker-images -q | wc -l)"
    assert_equal running "$(koker-inspect -f '{{.State.Status}}' "$keep")"
}

@test "koker-system prune: on a terminal it asks, and only y removes" {
    command -v script >/dev/null || skip "requires script(1)"
    koker-run --network none --name stopped one true
    run bash -c "printf 'n\n' | script -qec '$KOKER_BINDIR/koker-system prune' /dev/null"
    assert_match "Are you sure you want to continue\\? \\[y/N\\]"
    assert_match "system prune has been cancelled"
    assert_equal stopped "$(names -a)"
    run bash -c "printf 'y\n' | script -qec '$KOKER_BINDIR/koker-system prune' /dev/null"
    assert_match "Deleted Containers:"
    assert_equal "" "$(names -a)"
}

@test "koker version works for anyone; koker info for a user with no subuid range names the line" {
    id nobody >/dev/null 2>&1 || skip "no user nobody"
    ! grep -q '^nobody:' /etc/subuid || skip "nobody has a range in /etc/subuid"
    run su nobody -s /bin/sh -c "$KOKER_BINDIR/koker version --format '{{.Client.Version}}'"
    assert_equal 0 "$status"
    assert_equal 0.1.0 "$output"
    run su nobody -s /bin/sh -c "$KOKER_BINDIR/koker info"
    assert_equal 125 "$status"
    assert_match "no range for nobody in /etc/subuid: add a line such as nobody:100000:65536"
}
