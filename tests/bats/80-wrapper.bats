#!/usr/bin/env bats
# bin/koker: verbs, aliases, pass-through of exit codes, -q, -D, the root message,
# completion and man-page lint.
load helpers

setup() {
    koker_setup
}

teardown() { koker_teardown; }

@test "koker: --version, --help and help for every group work for anyone" {
    run_koker 0 koker --version
    assert_match "^koker version [0-9]+\.[0-9]+\.[0-9]+$"
    run_koker 0 koker --help
    assert_match "container\|c +run \| exec \| ls"
    run_koker 0 koker help image
    assert_match "import"
    run_koker 0 koker container --help
    assert_match "kill"
    run_koker 0 koker help run
    assert_match "^Usage: koker-run"
    run_koker 125 koker bogus
    assert_stderr_match "unknown command: bogus"
    run_koker 125 koker --bogus
    run_koker 125 koker
    id nobody >/dev/null 2>&1 || skip "no user nobody"
    run su nobody -s /bin/sh -c "$KOKER_BINDIR/koker --version; $KOKER_BINDIR/koker run --help | head -1"
    assert_equal 0 "$status"
    assert_match "koker version"
    assert_match "Usage: koker-run"
}

@test "koker: a user who is not root reaches the tools (rootless, 46-rootless.bats)" {
    id nobody >/dev/null 2>&1 || skip "no user nobody"
    ! grep -q '^nobody:' /etc/subuid || skip "nobody has a range in /etc/subuid"
    run su nobody -s /bin/sh -c "$KOKER_BINDIR/koker pull -q koker/one"
    assert_equal 125 "$status"
    assert_match "no range for nobody in /etc/subuid"
}

@test "koker: image verbs, shortcuts and aliases reach the tools" {
    requires root
    run_koker 0 koker image pull -q "oci:$KOKER_TEST_FIXTURES/one:latest"
    id=$output
    run_koker 0 koker i import "$KOKER_TEST_FIXTURES/rootfs" mine:1
    run_koker 0 koker image ls
    assert_match "mine +1 "
    run_koker 0 koker images -q
    run_koker 0 koker image inspect mine:1
    assert_equal '["mine:1"]' "$(jq -c '.[0].RepoTags' <<<"$output")"
    run_koker 0 koker pull -q "oci:$KOKER_TEST_FIXTURES/one:latest"
    assert_equal "$id" "$output"
    run_koker 0 koker rmi mine:1
    run_koker 0 koker image rm "$id"
}

@test "koker: exit codes and signals pass through untouched" {
    requires root
    koker pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
    run_koker 0 koker run --rm --network none one true
    run_koker 3 koker run --rm --network none one sh -c 'exit 3'
    run_koker 127 koker run --rm --network none one nope
    run_koker 126 koker container run --rm --network none one /etc/passwd
    run_koker 125 koker c run --rm --network none no-such-image true
    koker run --rm --network none one sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done' &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    sleep 1
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal 9 "$rc"
}

@test "koker: -q leaves only data; -D traces clone, the overlay mount and pivot_root" {
    requires root
    run_koker 0 koker -q pull --tag one "oci:$KOKER_TEST_FIXTURES/one:latest"
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    [ -z "$stderr" ]
    run_koker 0 koker -q run --rm --network none one echo quiet
    assert_equal quiet "$output"
    [ -z "$stderr" ]
    run_koker 0 koker -D run --rm --network none one true
    assert_stderr_match "koker-run: debug: clone\(NEWNS\|NEWPID\|NEWUTS\|NEWIPC"
    # the store's init layer (mount points of the /etc files) on top of the image's layer
    assert_stderr_match "koker-run: debug: mount -t overlay -o lowerdir=\.\./init:[0-9a-f]{64}/diff,upperdir="
    assert_stderr_match "koker-run: debug: mount -t proc -o nosuid,nodev,noexec proc "
    assert_stderr_match "koker-run: debug: pivot_root \. \."
    assert_stderr_match "koker-run: debug: seccomp: "
    assert_stderr_match "koker-run: debug: execve true"
    # the child moves itself into each v1 group: no cgroup.procs write, no global lock
    assert_stderr_match "koker-run: debug: write /sys/fs/cgroup/[a-z]+/koker/[0-9a-f]{64}/tasks 0 "
    refute_stderr_match "cgroup.procs"
    run_koker 0 koker -D pull --tag one2 "oci:$KOKER_TEST_FIXTURES/one:latest"
    assert_stderr_match "koker-pull: debug: "
}

@test "koker: the bash completion loads and completes verbs and options" {
    command -v bash >/dev/null
    run bash -c "source '$KOKER_REPO/completions/koker.bash'
        COMP_WORDS=(koker con); COMP_CWORD=1; _koker; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(koker image ''); COMP_CWORD=2; _koker; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(koker run --det); COMP_CWORD=2; _koker; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(koker network dis); COMP_CWORD=2; _koker; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(koker run --network no); COMP_CWORD=3; _koker; echo \"\${COMPREPLY[*]}\"
        complete -p koker"
    assert_equal 0 "$status"
    assert_match "^container"
    assert_match "pull ls rm inspect import"
    assert_match "--detach"
    assert_match $'\ndisconnect\n'
    assert_match $'\nnone\n'
    assert_match "complete -F _koker koker"
}

@test "koker: every man page is lint-clean under mandoc -Tlint" {
    command -v mandoc >/dev/null || skip "mandoc is not installed"
    local page bad=""
    for page in "$KOKER_REPO"/man/*.[17]; do
        out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || bad+=" ${page##*/}"
        [ -z "$out" ] || { echo "$out"; bad+=" ${page##*/}"; }
    done
    [ -z "$bad" ] || { echo "not clean:$bad"; false; }
    [ -f "$KOKER_REPO/man/koker.1" ] && [ -f "$KOKER_REPO/man/koker.7" ]
}
