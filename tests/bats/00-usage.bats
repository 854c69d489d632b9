#!/usr/bin/env bats
# Every tool: --help, --version, a bad flag, and its man page naming every option.
load helpers

tools() {
    local t
    for t in "$KOKER_REPO"/src/koker-*.cpp; do
        t=${t##*/}
        printf '%s\n' "${t%.cpp}"
    done
}

@test "usage: every tool prints help on stdout and exits 0" {
    local t
    for t in $(tools); do
        run_koker 0 "$t" --help
        assert_match "^Usage: $t" "$t --help"
        [ -z "$stderr" ]
    done
}

@test "usage: every tool prints its version" {
    local t
    for t in $(tools); do
        run_koker 0 "$t" --version
        # the first line; koker-oci adds the spec's version on a second, as runc does
        [[ ${output%%$'\n'*} =~ ^$t\ version\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    done
}

@test "usage: a bad flag exits 125 with one usage line on stderr" {
    local t
    for t in $(tools); do
        [ "$t" != koker-oci ] || continue # runc's command line: exit 1 (60-oci.bats)
        run_koker 125 "$t" --no-such-flag
        assert_stderr_match "^$t: usage: invalid option: --no-such-flag"
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
        [ -z "$output" ]
    done
}

@test "usage: every option in a tool's --help appears in its man page" {
    local t opt missing=""
    for t in $(tools); do
        [ -f "$KOKER_REPO/man/$t.1" ] || { missing+=" $t.1(no page)"; continue; }
        run_koker 0 "$t" --help
        for opt in $(printf '%s\n' "$output" | grep -oE -- '(^|[ ,])--?[a-zA-Z][-a-zA-Z]*' | tr -d ' ,' | sort -u); do
            # mdoc writes options as ".Fl -root" / "Fl q"
            grep -qE -- "Fl ${opt#-}([^a-zA-Z-]|$)" "$KOKER_REPO/man/$t.1" || missing+=" $t:$opt"
        done
    done
    [ -z "$missing" ] || { echo "not in man pages:$missing"; false; }
}

@test "usage: a missing operand is a usage error" {
    run_koker 125 koker-pull
    assert_stderr_match "^koker-pull: usage: SOURCE is missing"
    run_koker 125 koker-rmi
    assert_stderr_match "usage: IMAGE is missing"
    run_koker 125 koker-pull a b
    assert_stderr_match "usage: too many arguments"
}
