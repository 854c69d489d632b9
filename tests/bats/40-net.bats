#!/usr/bin/env bats
# Bridge networking: koker-run's default network and koker-net. Each test has a bridge and a
# subnet of its own (kt40n<N>, 10.199.<N>.0/24 by default), so nothing meets a user's koker0, and ends with
# koker-net down. Traffic goes only to 127.0.0.1 and to the test's own subnet.

# Each test runs in a subshell of its own (Bats): a test changing KOKER_SUBNET changes only it.
# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v iptables >/dev/null || skip "requires iptables"
    # KOKER_TEST_NET_ID, KOKER_TEST_NET_OCTET and KOKER_TEST_PORT_BASE keep a second run on
    # the same host (another checkout) off this one's bridges, subnets and ports.
    export KOKER_BRIDGE=kt${KOKER_TEST_NET_ID:-}40n$BATS_TEST_NUMBER
    NET=10.${KOKER_TEST_NET_OCTET:-199}.$BATS_TEST_NUMBER
    export KOKER_SUBNET=$NET.0/24
    PORT=$((${KOKER_TEST_PORT_BASE:-40100} + BATS_TEST_NUMBER))
    FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() {
    if [ -f "$BATS_TEST_TMPDIR/holder" ]; then # a network namespace's holder (attach --ahead)
        kill "$(cat "$BATS_TEST_TMPDIR/holder")" 2>/dev/null || true
    fi
    koker_teardown # koker-rm -f of every container, then koker-net down
    if ip link delete "$KOKER_BRIDGE" 2>/dev/null; then
        echo "# teardown: bridge $KOKER_BRIDGE was left" >&2
    fi
    return 0
}

state() { # CONTAINER FIELD: a field of the container's record, as koker-inspect prints it
    koker-inspect --type container "$1" | jq -r ".[0].$2"
}

leases() { # the address files of the test's bridge
    find "$KOKER_ROOT/net/$KOKER_BRIDGE" -maxdepth 1 -name '*.*.*.*' -printf '%f\n' 2>/dev/null | sort
}

veths() { # the links plugged into the test's bridge
    ip -o link show master "$KOKER_BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1
}

container_rules() { # iptables rules of containers (koker:<id>) on the test's bridge
    iptables -w -t nat -S "KOKER-$KOKER_BRIDGE" 2>/dev/null | grep 'koker:' || true
}

# assert_nothing_left: no veth on the bridge, no address file, no container rule. The kernel
# deletes a veth pair with the container's network namespace, a moment after its exit.
assert_nothing_left() {
    assert_equal "" "$(veths_left "$KOKER_BRIDGE")" "veths left on $KOKER_BRIDGE"
    assert_equal "" "$(leases)" "address files left"
    assert_equal "" "$(container_rules)" "container rules left"
    assert_equal "" "$(find "$KOKER_ROOT/net/$KOKER_BRIDGE/ports" -type f 2>/dev/null)" \
        "port files left"
}

# fetch_inside URL: wget from a throwaway container, retrying while the server starts.
fetch_inside() {
    run_koker 0 koker-run --rm one sh -c \
        "for i in \$(seq 50); do timeout 3 wget -q -O- '$1' && exit 0; sleep 0.1; done; exit 1"
}

@test "koker-run: the default bridge network gives eth0 an address, a route, /etc/hosts and resolv.conf" {
    # hosts from /etc/hosts only: hostname -i must not ask the host's resolver (outside)
    echo "hosts: files" >"$BATS_TEST_TMPDIR/nsswitch.conf"
    run_koker 0 koker-run --rm --name addr-test -v "$BATS_TEST_TMPDIR/nsswitch.conf:/etc/nsswitch.conf:ro" one sh -c \
        'ip -4 -o addr show eth0; ip route; echo "hostname -i: $(hostname -i)"; cat /etc/hosts; cat /etc/resolv.conf; ls /sys/class/net'
    assert_match "inet $NET\.([0-9]+)/24 "
    ip=$NET.${BASH_REMATCH[1]}
    assert_match "default via $NET\.1 dev eth0"
    assert_match "hostname -i: $ip"
    assert_match "$ip"$'\t'"[0-9a-f]{12} addr-test"
    refute_match "nameserver 127\.0\.0\.53"
    assert_match $'\neth0\nlo$'
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
    [[ $(ip -d link show "$KOKER_BRIDGE") == *"alias koker subnet=$KOKER_SUBNET "* ]]
    assert_nothing_left
}

@test "koker-run: on a network without IPv6, eth0 has no IPv6 address and the bridge port no IPv6 at all" {
    [[ -e /proc/net/if_inet6 ]] || skip "requires IPv6"
    id=$(koker-run -d --network bridge one sleep 300)
    # docker: no IPv6 on an IPv4-only network's interface, so it floods no probe to the bridge
    run_koker 0 koker-exec "$id" ip -6 addr show dev eth0
    assert_equal "" "$output"
    port=$(ip -o link show master "$KOKER_BRIDGE" | awk -F': ' '{print $2}' | cut -d@ -f1)
    [[ $port == veth* ]]
    assert_equal 1 "$(cat "/proc/sys/net/ipv6/conf/$port/disable_ipv6")"
    run_koker 0 koker-rm -f "$id"
    assert_nothing_left
}

@test "koker-run: --network none has only lo; --network host has the host's links" {
    run_koker 0 koker-run --rm --network none one ls /sys/class/net
    assert_equal lo "$output"
    run_koker 0 koker-run --rm --network none one cat /etc/hosts
    refute_match "10\.199\."
    run_koker 0 koker-run --rm --network host one ls /sys/class/net
    assert_equal "$(ls /sys/class/net)" "$output"
    # neither made the bridge
    run ip link show "$KOKER_BRIDGE"
    [ "$status" -ne 0 ]
}

@test "koker-run: containers on the bridge reach each other over HTTP" {
    web server1 >/dev/null
    ip=$(state server1 NetworkSettings.IPAddress)
    [[ $ip =~ ^$NET\.[0-9]+$ ]]
    fetch_inside "http://$ip/"
    assert_equal "hello from server1" "$output"
    # the server's name is in its own /etc/hosts, with its address
    run_koker 0 koker-exec server1 cat /etc/hosts
    assert_match "$ip"$'\t'"[0-9a-f]{12} server1"
}

@test "koker-run: -p publishes a port to 127.0.0.1, the gateway and other containers; ps and inspect show it" {
    id=$(web pub -p "$PORT:80")
    fetch_host "http://127.0.0.1:$PORT/"
    assert_equal "hello from pub" "$output"
    fetch_host "http://$NET.1:$PORT/"
    assert_equal "hello from pub" "$output"
    # hairpin: another container through the host's published port
    fetch_inside "http://$NET.1:$PORT/"
    assert_equal "hello from pub" "$output"
    run_koker 0 koker-ps
    assert_match "0\.0\.0\.0:$PORT->80/tcp +pub"
    assert_equal "$PORT" "$(state pub 'NetworkSettings.Ports["80/tcp"][0].HostPort')"
    assert_equal 0.0.0.0 "$(state pub 'NetworkSettings.Ports["80/tcp"][0].HostIp')"
    [ "$(container_rules | grep -c "koker:$id")" -eq 1 ]
    # the host port is taken
    run_koker 125 koker-run --rm -p "$PORT:81" one true
    assert_stderr_match "port $PORT/tcp is already published by container ${id:0:12}"
    # an address and udp, in docker's form
    run_koker 0 koker-run -d --name pub2 -p "127.0.0.1:$((PORT + 100)):80/udp" one sleep 30
    run_koker 0 koker-ps
    assert_match "127\.0\.0\.1:$((PORT + 100))->80/udp +pub2"
    container_rules | grep -q -- "-d 127.0.0.1/32 -p udp"
    run_koker 0 koker-rm -f pub pub2
    assert_nothing_left
    run curl -sS --max-time 2 --noproxy '*' "http://127.0.0.1:$PORT/"
    [ "$status" -ne 0 ]
}

@test "koker-run: -p takes docker's forms and refuses what koker cannot do" {
    for bad in 80 1-2:80 0:80 80:70000 '::1:80:80' '[::1]:80' '[::1:80:80' 1.2.3:80:80 80:80/sctp; do
        run_koker 125 koker-run --rm -p "$bad" one true
        assert_stderr_match "usage: invalid port mapping"
    done
    run_koker 125 koker-run --rm --network none -p 8080:80 one true
    assert_stderr_match "needs the bridge network"
    KOKER_SUBNET=10.199.0.1/24 run_koker 125 koker-run --rm one true
    assert_stderr_match "host bits are set"
    KOKER_BRIDGE=much-too-long-name run_koker 125 koker-run --rm one true
    assert_stderr_match "invalid KOKER_BRIDGE"
    [ -z "$(koker-ps -a -q)" ]
}

@test "koker-run: 20 containers started at once get 20 distinct addresses" {
    local i
    for i in $(seq 20); do
        koker-run -d --name "c$i" one sleep 60 >"$BATS_TEST_TMPDIR/id.$i" 2>"$BATS_TEST_TMPDIR/err.$i" &
    done
    wait
    for i in $(seq 20); do
        [[ $(cat "$BATS_TEST_TMPDIR/id.$i") =~ ^[0-9a-f]{64}$ ]] || {
            cat "$BATS_TEST_TMPDIR/err.$i"
            false
        }
    done
    mapfile -t ids < <(cat "$BATS_TEST_TMPDIR"/id.*)
    addrs=$(koker-inspect --type container "${ids[@]}" | jq -r '.[].NetworkSettings.IPAddress' | sort -u)
    [ "$(grep -c "^$NET\.[0-9]*$" <<<"$addrs")" -eq 20 ]
    [ "$(leases | wc -l)" -eq 20 ]
    [ "$(veths | wc -l)" -eq 20 ]
    run_koker 0 koker-net ls --format json
    [ "$(jq length <<<"$output")" -eq 20 ]
    # exactly one NAT rule for the subnet, however many raced to set the bridge up
    [ "$(iptables -w -t nat -S POSTROUTING | grep -c -- "-s $KOKER_SUBNET ! -o $KOKER_BRIDGE")" -eq 1 ]
    koker-ps -q | xargs koker-rm -f >/dev/null
    assert_nothing_left
}

@test "koker-run: a full /29 is a clear error that leaves nothing behind" {
    export KOKER_SUBNET=$NET.0/29
    local i
    for i in 1 2 3 4 5; do
        run_koker 0 koker-run -d one sleep 60
    done
    [ "$(leases | wc -l)" -eq 5 ]
    run_koker 125 koker-run --rm --name sixth one true
    assert_stderr_match "no free address on bridge $KOKER_BRIDGE: all 5 addresses of $KOKER_SUBNET are in use"
    [ "$(koker-ps -a -q | wc -l)" -eq 5 ]
    [ ! -e "$KOKER_ROOT/names/sixth" ]
    [ "$(leases | wc -l)" -eq 5 ]
    [ "$(veths | wc -l)" -eq 5 ]
    # one going frees one address
    run_koker 0 koker-rm -f "$(koker-ps -q | head -n1)"
    run_koker 0 koker-run --rm one true
    koker-ps -q | xargs koker-rm -f >/dev/null
    assert_nothing_left
}

@test "koker-net: exactly one NAT rule and two FORWARD rules after many runs and racing first runs" {
    local i
    for i in 1 2 3 4 5 6; do
        koker-run --rm --name "r$i" one true &
    done
    wait
    for i in $(seq 10); do
        run_koker 0 koker-run --rm -p "$PORT:80" one true
    done
    run_koker 0 koker-net up
    [ "$(iptables -w -t nat -S POSTROUTING | grep -c -- "-s $KOKER_SUBNET ! -o $KOKER_BRIDGE .*-j MASQUERADE")" -eq 1 ]
    [ "$(iptables -w -t nat -S | grep -- "--comment koker " | grep -c -w -- "$KOKER_BRIDGE\|KOKER-$KOKER_BRIDGE")" -eq 5 ]
    [ "$(iptables -w -S FORWARD | grep -c -- "$KOKER_BRIDGE -m comment --comment koker -j ACCEPT")" -eq 2 ]
    assert_nothing_left
}

@test "koker-net: gc releases what kill -9 of the supervisor and container left; spares running ones" {
    id=$(koker-run -d -p "$PORT:80" one sleep 100)
    keep=$(koker-run -d one sleep 100)
    sup=$(state "$id" State.SupervisorPid)
    pid=$(state "$id" State.Pid)
    kill -9 "$sup"
    run_koker 0 koker-net gc
    assert_equal "" "$output" "gc released a running container"
    kill -9 "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ "$(leases | wc -l)" -eq 2 ]
    run_koker 0 koker-net gc
    assert_equal "$id" "$output"
    [ "$(leases | wc -l)" -eq 1 ]
    [ "$(container_rules | wc -l)" -eq 0 ]
    # a foreground koker-run killed with its container
    koker-run --name fg -p "$PORT:80" one sleep 100 &
    run_pid=$!
    for _ in $(seq 50); do [ "$(state fg State.Status 2>/dev/null)" = running ] && break; sleep 0.1; done
    cpid=$(state fg State.Pid)
    kill -9 "$run_pid" "$cpid"
    wait "$run_pid" || true
    run_koker 0 koker-net gc
    assert_equal "$(state fg Id)" "$output"
    run_koker 0 koker-rm -f "$keep" fg
    assert_nothing_left
}

@test "koker-net: attach, ls and detach a running container; down refuses while one is attached" {
    run_koker 0 koker-net up
    [[ $(ip -d link show "$KOKER_BRIDGE") =~ alias\ koker\ subnet=$KOKER_SUBNET\ forward=[01]\  ]]
    # a second bridge on an overlapping subnet would break routing for both
    KOKER_BRIDGE=${KOKER_BRIDGE}x KOKER_SUBNET=${NET%.*}.0.0/16 run_koker 125 koker-net up
    assert_stderr_match "overlaps $KOKER_SUBNET of bridge $KOKER_BRIDGE"
    run ip link show "${KOKER_BRIDGE}x"
    [ "$status" -ne 0 ]
    koker-run -d --name att --network none one sleep 60 >/dev/null
    pid=$(state att State.Pid)
    run_koker 0 koker-net attach att "$pid" -p "$PORT:80"
    ip=$output
    [[ $ip =~ ^$NET\.[0-9]+$ ]]
    [[ $(nsenter -t "$pid" -n ip -4 -o addr show eth0) == *"inet $ip/24 "* ]]
    [[ $(nsenter -t "$pid" -n ip route) == *"default via $NET.1 dev eth0"* ]]
    assert_equal "0 2147483647" "$(nsenter -t "$pid" -n cat /proc/sys/net/ipv4/ping_group_range | tr -s '\t ' '  ')"
    assert_equal "$ip" "$(state att NetworkSettings.IPAddress)"
    run_koker 0 koker-net ls
    assert_match "att +$ip +veth[0-9a-f]{11} +0\.0\.0\.0:$PORT->80/tcp"
    run_koker 125 koker-net attach att "$pid"
    assert_stderr_match "attached already"
    run_koker 125 koker-net down
    assert_stderr_match "bridge $KOKER_BRIDGE still serves 1 container"
    ip link show "$KOKER_BRIDGE" >/dev/null
    run_koker 0 koker-net detach att
    assert_equal "" "$(state att NetworkSettings.IPAddress)"
    run nsenter -t "$pid" -n ip link show eth0
    [ "$status" -ne 0 ]
    assert_nothing_left
    run_koker 0 koker-net down
    run ip link show "$KOKER_BRIDGE"
    [ "$status" -ne 0 ]
    assert_equal "$FORWARD_BEFORE" "$(cat /proc/sys/net/ipv4/ip_forward)"
    assert_equal "" "$(iptables-save -t nat 2>/dev/null | grep -- "$KOKER_BRIDGE" || true)"
    assert_equal "" "$(iptables-save -t filter 2>/dev/null | grep -- "$KOKER_BRIDGE" || true)"
    # nothing to do is fine
    run_koker 0 koker-net down
}

@test "koker-net: usage errors; --rm leaves no veth, address or rule behind" {
    run_koker 125 koker-net
    assert_stderr_match "usage: COMMAND is missing"
    run_koker 125 koker-net frobnicate
    assert_stderr_match "usage: unknown command"
    run_koker 125 koker-net ls -p 80:80
    assert_stderr_match "usage: --publish applies to attach only"
    run_koker 125 koker-net attach
    assert_stderr_match "usage: CONTAINER is missing"
    run_koker 125 koker-net attach nosuch 1
    assert_stderr_match "no such container"
    run_koker 0 koker-run --rm -p "$PORT:80" one true
    assert_nothing_left
    run_koker 0 koker-net ls
    assert_equal "CONTAINER ID   NAME   ADDRESS   VETH   PORTS" "$output"
}

@test "koker-net attach --ahead: plugs the namespace it is given for the record on stdin; the end of the input before the PID undoes it" {
    run_koker 125 koker-net attach --ahead some-id -
    assert_stderr_match "usage: attach --ahead takes no operands or ports"
    run_koker 0 koker-create --name ahead one true
    local id=$output rec=$KOKER_ROOT/containers/$output/config.json
    # The network namespace koker-run would have made: a process's own, killed in teardown.
    unshare -n sleep 60 &
    echo $! >"$BATS_TEST_TMPDIR/holder"
    local holder=$!
    input() { printf '%s\n' "$(stat -c %s "$rec")"; cat "$rec"; printf '/proc/%s/ns/net\n' "$holder"; }
    # Given no PID after the namespace: koker-run went away. What it made is undone.
    run_koker 0 koker-net attach --ahead < <(input)
    local size=${output%%$'\n'*} back=${output#*$'\n'}
    assert_equal "$size" "${#back}"
    local ip
    ip=$(jq -r '.. | .IPAddress? // empty' <<<"$back" | head -n1)
    [[ $ip =~ ^$NET\.[0-9]+$ ]]
    assert_equal "$id" "$(jq -r .Id <<<"$back")"
    run nsenter -t "$holder" -n ip link show eth0
    [ "$status" -ne 0 ]
    assert_nothing_left
    # With the PID: the namespace keeps its eth0 and address; the record is left to koker-run.
    run_koker 0 koker-net attach --ahead < <(input; echo "$holder")
    [[ $(nsenter -t "$holder" -n ip -4 -o addr show eth0) == *"inet $NET."*"/24 "* ]]
    assert_equal "" "$(state ahead NetworkSettings.IPAddress)"
    kill "$holder"
    wait "$holder" || true
    run_koker 0 koker-net gc
    run_koker 0 koker-rm ahead
    assert_nothing_left
}
