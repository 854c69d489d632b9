#!/usr/bin/env bats
# Restart policies with no daemon: the supervisor restarts, stop ends it, ps shows it,
# start --all-restartable after a reboot (issue 16 point 3).
load helpers

setup() {
    koker_setup
    requires root
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() { koker_teardown; }

inspect() { # CONTAINER JQ-PATH
    koker-inspect --type container "$1" | jq -r ".[0]$2"
}

wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
    local n=$(($1 * 10))
    shift
    while ((n-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    echo "timed out waiting for: $*"
    return 1
}

status_is() { [ "$(inspect "$1" .State.Status)" = "$2" ]; }
restarts_at_least() { [ "$(inspect "$1" .RestartCount)" -ge "$2" ]; }

@test "--restart on-failure:3 with a failing command: started exactly 4 times, then exited" {
    run_koker 0 koker-run -d --name of3 --network none --restart on-failure:3 one \
        sh -c 'echo run; exit 2'
    wait_for 15 status_is of3 exited
    # the back-off: 100 + 200 + 400 ms at least
    assert_equal 3 "$(inspect of3 .RestartCount)"
    assert_equal 2 "$(inspect of3 .State.ExitCode)"
    assert_equal on-failure "$(inspect of3 .HostConfig.RestartPolicy.Name)"
    assert_equal 3 "$(inspect of3 .HostConfig.RestartPolicy.MaximumRetryCount)"
    run_koker 0 koker-logs of3
    assert_equal $'run\nrun\nrun\nrun' "$output"
    # it stays exited: the supervisor is gone, nothing held
    sleep 1
    assert_equal exited "$(inspect of3 .State.Status)"
    id=$(inspect of3 .Id)
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    assert_equal 0 "$(grep -c "$id/bundle/rootfs" /proc/self/mountinfo || true)"
}

@test "--restart on-failure: a command that succeeds is not restarted" {
    koker-run -d --name ok --network none --restart on-failure one true >/dev/null
    wait_for 5 status_is ok exited
    sleep 0.5
    assert_equal 0 "$(inspect ok .RestartCount)"
    assert_equal exited "$(inspect ok .State.Status)"
}

@test "--restart always: restarted with a fresh process and address until stop ends it; ps shows Restarting" {
    koker-run -d --name al --restart always one sh -c 'sleep 0.3; exit 1' >/dev/null
    pid1=$(inspect al .State.Pid)
    wait_for 10 restarts_at_least al 2
    saw=0
    for _ in $(seq 100); do
        run_koker 0 koker-ps
        if [[ $output =~ Restarting\ \(1\) ]]; then
            saw=1
            break
        fi
        sleep 0.05
    done
    assert_equal 1 "$saw" "ps never showed Restarting (1)"
    wait_for 10 status_is al running
    [ "$(inspect al .State.Pid)" != "$pid1" ]
    [[ $(inspect al .NetworkSettings.IPAddress) =~ ^"${KOKER_SUBNET%.*.*}." ]]
    run_koker 0 koker-stop al
    assert_equal exited "$(inspect al .State.Status)"
    count=$(inspect al .RestartCount)
    sleep 1.5
    assert_equal exited "$(inspect al .State.Status)"
    assert_equal "$count" "$(inspect al .RestartCount)"
    assert_equal true "$(inspect al .HasBeenManuallyStopped)"
    id=$(inspect al .Id)
    assert_equal 0 "$(koker-cg ls | grep -c "$id" || true)"
    assert_equal 0 "$(grep -c "$id/bundle/rootfs" /proc/self/mountinfo || true)"
    # start clears the mark: the policy holds again
    run_koker 0 koker-start al
    assert_equal false "$(inspect al .HasBeenManuallyStopped)"
    wait_for 10 restarts_at_least al $((count + 1))
    run_koker 0 koker-rm -f al
}

@test "--restart always: stop during the back-off ends it too; rm -f of a restarting one" {
    koker-run -d --name bo --network none --restart always one false >/dev/null
    wait_for 10 restarts_at_least bo 4
    run_koker 0 koker-stop bo
    sleep 1
    assert_equal exited "$(inspect bo .State.Status)"
    koker-run -d --name bo2 --network none --restart always one false >/dev/null
    wait_for 10 restarts_at_least bo2 3
    run_koker 0 koker-rm -f bo2
    run_koker 125 koker-inspect bo2
}

@test "a foreground run --restart on-failure:2 relays every run and returns the last code" {
    run_koker 4 koker-run --network none --restart on-failure:2 one sh -c 'echo try; exit 4'
    assert_equal $'try\ntry\ntry' "$output"
}

@test "start --all-restartable: what a reboot would bring back" {
    # always (even stopped), unless-stopped not stopped, on-failure failed; not the others
    koker-create --name c-always --network none --restart always one sleep 30 >/dev/null
    koker-run -d --name r-always --network none --restart always one sleep 30 >/dev/null
    koker-run -d --name r-unless --network none --restart unless-stopped one sleep 30 >/dev/null
    koker-run -d --name s-unless --network none --restart unless-stopped one sleep 30 >/dev/null
    koker-run -d --name s-always --network none --restart always one sleep 30 >/dev/null
    koker-run -d --name f-onfail --network none --restart on-failure:1 one sh -c 'exit 3' >/dev/null
    koker-run -d --name no-policy --network none one sleep 30 >/dev/null
    koker-stop -t 0 s-unless s-always >/dev/null
    wait_for 10 status_is f-onfail exited
    # A reboot: every process gone, supervisors first.
    for c in r-always r-unless no-policy; do
        kill -9 "$(inspect $c .State.SupervisorPid)" "$(inspect $c .State.Pid)"
    done
    sleep 0.3
    run_koker 0 koker-start --all-restartable
    started=$(sort <<<"$output" | tr '\n' ' ')
    assert_equal "f-onfail r-always r-unless s-always " "$started"
    for c in r-always r-unless s-always; do
        assert_equal running "$(inspect $c .State.Status)"
    done
    assert_equal exited "$(inspect no-policy .State.Status)"
    assert_equal exited "$(inspect s-unless .State.Status)"
    assert_equal created "$(inspect c-always .State.Status)"
}

@test "the systemd unit calls start --all-restartable" {
    unit=$KOKER_REPO/contrib/koker-restart.service
    grep -q '^ExecStart=.*koker-start --all-restartable' "$unit"
    grep -q '^Type=oneshot' "$unit"
    if command -v systemd-analyze >/dev/null; then
        run systemd-analyze verify "$unit"
        refute_match 'error'
    fi
}
