#!/usr/bin/env bats
# Containers on user-defined networks (issue 19): run --network/--ip/--network-alias, the
# network's resolver (names and aliases by DNS), connect and disconnect, isolation between
# networks, many starts at once, kill -9. Every bridge a test makes is kn43<letter><test
# number>, every subnet lies in 10.212.0.0/16 (KOKER_NETWORK_POOL too). Names the resolver does
# not know go to KOKER_DNS_UPSTREAM, a loopback port where nothing listens: no query leaves
# the host. Traffic goes only between the host and namespaces the tests make.

# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v iptables >/dev/null || skip "requires iptables"
    export KOKER_NETWORK_POOL=10.212.0.0/16 KOKER_NETWORK_POOL_SIZE=24
    export KOKER_DNS_UPSTREAM=127.0.0.1:9
    N=$BATS_TEST_NUMBER
    BR_A=kn43a$N BR_B=kn43b$N BR_C=kn43c$N
    NET_A=10.212.$((N * 4)) NET_B=10.212.$((N * 4 + 1)) NET_C=10.212.$((N * 4 + 2))
    koker_cleanup_later link "$BR_A"
    koker_cleanup_later link "$BR_B"
    koker_cleanup_later link "$BR_C"
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() {
    if [[ -x $KOKER_BINDIR/koker-net && -d ${KOKER_ROOT:-/nonexistent} ]]; then
        timeout 60 "$KOKER_BINDIR/koker-ps" -a -q 2>/dev/null | xargs -r timeout 60 "$KOKER_BINDIR/koker-rm" -f >/dev/null 2>&1
        timeout 60 "$KOKER_BINDIR/koker-net" -q prune -f >/dev/null ||
            echo "# teardown: koker-net prune failed" >&2
    fi
    koker_teardown
    return 0
}

mknet() { # LETTER NAME [OPTION...]: network NAME on bridge kn43<LETTER><N>, subnet NET_<LETTER>
    local letter=$1 name=$2 subnet
    shift 2
    case $letter in
    a) subnet=$NET_A ;;
    b) subnet=$NET_B ;;
    c) subnet=$NET_C ;;
    esac
    koker-net create --subnet "$subnet.0/24" -o com.docker.network.bridge.name="kn43$letter$N" "$@" "$name" >/dev/null
}

state() { # CONTAINER JQ: a field of koker-inspect's object
    koker-inspect --type container "$1" | jq -r ".[0]$2"
}

# A container that stays up: prints its ID.
idle() { # NAME [RUN-OPTION...]
    local name=$1
    shift
    koker-run -d --name "$name" "$@" one sleep 300
}

# The resolver processes of this test's store (koker-net dns ...).
resolvers() {
    local pid
    for pid in $(pgrep -x koker-net 2>/dev/null); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--root $KOKER_ROOT dns" && echo "$pid"
    done
    return 0
}

wait_no_resolvers() {
    local _
    for _ in $(seq 50); do
        [[ -z $(resolvers) ]] && return 0
        sleep 0.1
    done
    _koker_fail "resolvers still run" "" "$(resolvers)"
}

@test "run --network NAME: an address on the network, --ip, --hostname, inspect's Networks; released on stop and rm" {
    mknet a front
    # the bridge has a MAC of its own, which ports coming and going do not change (else the
    # containers' ARP caches would keep a stale gateway)
    mac=$(cat "/sys/class/net/$BR_A/address")
    id=$(idle web1 --network front --hostname webhost)
    ip=$(state web1 .NetworkSettings.Networks.front.IPAddress)
    [[ $ip =~ ^$NET_A\.[0-9]+$ ]]
    assert_equal "$ip" "$(state web1 .NetworkSettings.IPAddress)"
    assert_equal "front $NET_A.1 24" "$(state web1 '| "\(.HostConfig.NetworkMode) \(.NetworkSettings.Networks.front.Gateway) \(.NetworkSettings.Networks.front.IPPrefixLen)"')"
    assert_equal "$(net_id=$(koker-net inspect front | jq -r '.[0].Id'); echo "$net_id")" "$(state web1 .NetworkSettings.Networks.front.NetworkID)"
    [[ $(state web1 .NetworkSettings.Networks.front.MacAddress) =~ ^02:42: ]]
    run_koker 0 koker-exec web1 sh -c 'hostname; ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf'
    assert_match "^webhost"
    assert_match "inet $ip/24"
    assert_match "default via $NET_A.1 dev eth0"
    assert_match "nameserver $NET_A.1"
    # the network's inspect lists it
    assert_equal "$ip/24" "$(koker-net inspect front | jq -r ".[0].Containers[\"$id\"].IPv4Address")"

    # --ip, and an address taken or outside the subnet is refused
    idle web2 --network front --ip "$NET_A.77" >/dev/null
    assert_equal "$NET_A.77" "$(state web2 .NetworkSettings.Networks.front.IPAddress)"
    assert_equal "$NET_A.77" "$(state web2 .NetworkSettings.Networks.front.IPAMConfig.IPv4Address)"
    run_koker 125 koker-run --rm --network front --ip "$NET_A.77" one true
    assert_stderr_match "$NET_A.77 is already in use"
    run_koker 125 koker-run --rm --network front --ip 10.9.9.9 one true
    run_koker 125 koker-run --rm --ip "$NET_A.78" one true
    assert_stderr_match "user defined networks only"
    run_koker 125 koker-run --rm --network nosuch one true
    assert_stderr_match "network nosuch not found"
    run_koker 125 koker-run --rm --network front --network host one true
    assert_stderr_match "conflicting options"

    # stop releases the address; start takes one again; rm leaves nothing
    koker-stop -t 1 web2 >/dev/null
    [[ ! -e $KOKER_ROOT/net/$BR_A/$NET_A.77 ]]
    koker-start web2 >/dev/null
    assert_equal "$NET_A.77" "$(state web2 .NetworkSettings.Networks.front.IPAddress)"
    assert_equal "$mac" "$(cat "/sys/class/net/$BR_A/address")"
    koker-rm -f web1 web2 >/dev/null
    assert_equal "$mac" "$(cat "/sys/class/net/$BR_A/address")"
    assert_equal "" "$(find "$KOKER_ROOT/net/$BR_A" -maxdepth 1 -name '*.*.*.*')"
    assert_equal "" "$(veths_left "$BR_A")"
    # the default bridge network keeps its shape
    idle plain >/dev/null
    assert_equal bridge "$(state plain .HostConfig.NetworkMode)"
    [[ $(state plain .NetworkSettings.Networks.bridge.IPAddress) == "$(state plain .NetworkSettings.IPAddress)" ]]
}

@test "run --network a --network b: eth0 and eth1, one on each" {
    mknet a one-net
    mknet b two-net
    idle both --network one-net --network two-net >/dev/null
    run_koker 0 koker-exec both sh -c 'ip -4 -o addr show; ip route'
    assert_match "eth0 +inet $NET_A\.[0-9]+/24"
    assert_match "eth1 +inet $NET_B\.[0-9]+/24"
    assert_match "default via $NET_A.1 dev eth0"
    assert_equal "one-net two-net" "$(state both '.NetworkSettings.Networks | keys_unsorted | join(" ")')"
    assert_equal "one-net,two-net" "$(koker-ps --filter name=both --format '{{.Networks}}')"
    koker-stop -t 1 both >/dev/null
    assert_equal "" "$(find "$KOKER_ROOT/net/$BR_A" "$KOKER_ROOT/net/$BR_B" -maxdepth 1 -name '*.*.*.*')"
}

@test "the network's resolver: names and aliases both ways, a later container found, other names not from the table" {
    mknet a app
    mknet b other
    # NET_RAW: busybox ping, as root, opens a raw socket
    idle db --network app --network-alias database --cap-add NET_RAW >/dev/null
    idle stranger --network other >/dev/null
    db_ip=$(state db .NetworkSettings.Networks.app.IPAddress)
    idle web --network app --cap-add NET_RAW >/dev/null
    web_ip=$(state web .NetworkSettings.Networks.app.IPAddress)
    # web finds db by name and alias, at the gateway and through resolv.conf
    run_koker 0 koker-exec web nslookup db "$NET_A.1"
    assert_match "Address:? +$db_ip"
    run_koker 0 koker-exec web nslookup database
    assert_match "Address:? +$db_ip"
    run_koker 0 koker-exec web ping -c1 -W2 db
    assert_match "1 packets received"
    # db, started first, finds web, started later
    run_koker 0 koker-exec db nslookup web
    assert_match "Address:? +$web_ip"
    run_koker 0 koker-exec db ping -c1 -W2 web
    # a container of another network is not in app's table (the query goes upstream, where
    # nothing answers)
    run_koker 1 koker-exec web nslookup stranger "$NET_A.1"
    refute_match "$NET_B\."
    # from the host: the table of app alone
    run busybox nslookup db "$NET_A.1"
    assert_match "Address:? +$db_ip"
    run busybox nslookup stranger "$NET_A.1"
    assert_equal 1 "$status"
}

@test "the resolver: one per network, back at the next start when killed, gone with the last container and at prune" {
    mknet a life
    idle first --network life >/dev/null
    pids=$(resolvers)
    assert_equal 1 "$(wc -w <<<"$pids")"
    idle second --network life >/dev/null
    assert_equal "$pids" "$(resolvers)"
    kill -9 "$pids"
    wait_no_resolvers
    run_koker 1 koker-exec first nslookup second
    # the next start brings it back, and it knows the containers started before
    idle third --network life >/dev/null
    assert_equal 1 "$(resolvers | wc -w)"
    run_koker 0 koker-exec third nslookup first
    # killed again: koker-net gc brings it back too
    kill -9 "$(resolvers)"
    wait_no_resolvers
    run_koker 0 koker-net gc
    assert_equal 1 "$(resolvers | wc -w)"
    run_koker 0 koker-exec first nslookup second
    # it ends with the network's last container
    koker-rm -f first second third >/dev/null
    wait_no_resolvers
    # and network rm stops one that still runs
    idle again --network life >/dev/null
    assert_equal 1 "$(resolvers | wc -w)"
    koker-rm -f again >/dev/null
    run_koker 0 koker-net rm life
    assert_equal "" "$(resolvers)"
}

@test "connect and disconnect a running container: eth1 comes and goes, with its name on the network" {
    mknet a first-net
    mknet b second-net
    # NET_RAW: busybox ping, as root, opens a raw socket
    idle hopper --network first-net --cap-add NET_RAW >/dev/null
    idle target --network second-net --network-alias tgt >/dev/null
    target_ip=$(state target '.NetworkSettings.Networks["second-net"].IPAddress')
    run_koker 1 koker-exec hopper ping -c1 -W1 "$target_ip"
    run_koker 0 koker-net connect --ip "$NET_B.99" --alias hop second-net hopper
    run_koker 0 koker-exec hopper ip -4 -o addr show eth1
    assert_match "inet $NET_B.99/24"
    assert_equal "$NET_B.99 hop" "$(state hopper '.NetworkSettings.Networks["second-net"] | "\(.IPAddress) \(.Aliases | join(","))"')"
    run_koker 0 koker-exec hopper ping -c1 -W2 tgt
    run_koker 0 koker-exec target nslookup hop
    assert_match "Address:? +$NET_B.99"
    # twice is refused; the wrapper has the verb too
    run_koker 125 koker-net connect second-net hopper
    assert_stderr_match "already exists in network second-net"
    run_koker 0 koker network disconnect second-net hopper
    run_koker 0 koker-exec hopper ls /sys/class/net
    assert_equal $'eth0\nlo' "$output"
    [[ ! -e $KOKER_ROOT/net/$BR_B/$NET_B.99 ]]
    assert_equal null "$(state hopper '.NetworkSettings.Networks["second-net"]')"
    run_koker 1 koker-exec hopper ping -c1 -W1 "$target_ip"
    run_koker 125 koker-net disconnect second-net hopper
    assert_stderr_match "not connected to network second-net"
    run_koker 125 koker-net connect nosuch hopper
    assert_stderr_match "network nosuch not found"
    # a stopped container joins at its next start
    koker-stop -t 1 hopper >/dev/null
    run_koker 0 koker network connect second-net hopper
    koker-start hopper >/dev/null
    run_koker 0 koker-exec hopper ip -4 -o addr show eth1
    assert_match "inet $NET_B\.[0-9]+/24"
}

@test "isolation: two networks do not reach each other; a container on both reaches both" {
    mknet a left
    mknet b right
    idle l1 --network left --cap-add NET_RAW >/dev/null
    idle r1 --network right --cap-add NET_RAW >/dev/null
    idle both --network left --network right --cap-add NET_RAW >/dev/null
    l_ip=$(state l1 .NetworkSettings.Networks.left.IPAddress)
    r_ip=$(state r1 .NetworkSettings.Networks.right.IPAddress)
    run_koker 1 koker-exec l1 ping -c1 -W1 "$r_ip"
    run_koker 1 koker-exec r1 ping -c1 -W1 "$l_ip"
    run_koker 0 koker-exec both ping -c1 -W2 "$l_ip"
    run_koker 0 koker-exec both ping -c1 -W2 "$r_ip"
    # both finds each by name; l1 does not find r1
    run_koker 0 koker-exec both ping -c1 -W2 r1
    run_koker 1 koker-exec l1 nslookup r1
    # the rules go with the networks, the chains with the last
    koker-rm -f l1 r1 both >/dev/null
    run_koker 0 koker-net rm left right
    assert_equal "" "$({ iptables -w -S; iptables -w -t nat -S; } | grep -w -e "$BR_A" -e "$BR_B")"
}

@test "20 containers started at once get distinct addresses; rm of a network in use is refused" {
    local i
    mknet a crowd
    for i in $(seq 20); do
        koker-run -d --name "c$i" --network crowd one sleep 300 >/dev/null 2>"$BATS_TEST_TMPDIR/err$i" &
    done
    wait
    cat "$BATS_TEST_TMPDIR"/err*
    ips=$(for i in $(seq 20); do state "c$i" .NetworkSettings.Networks.crowd.IPAddress; done)
    assert_equal 20 "$(sort -u <<<"$ips" | grep -c "^$NET_A\.")"
    assert_equal 20 "$(koker-net inspect crowd | jq '.[0].Containers | length')"
    run_koker 125 koker-net rm crowd
    assert_stderr_match "has active endpoints"
    run_koker 0 koker-net prune -f
    [[ -f $KOKER_ROOT/networks/crowd.json ]]
    koker-ps -a -q | xargs koker-rm -f >/dev/null
    run_koker 0 koker-net rm crowd
    assert_equal "" "$(resolvers)"
}

@test "kill -9 of koker-run while it starts, or of a running one and its container: prune leaves nothing" {
    local i pid
    mknet a fragile
    for i in 1 2 3 4 5 6; do
        koker-run --name "k$i" --network fragile one sleep 300 >/dev/null 2>&1 &
        pid=$!
        sleep "0.0$((i * 3))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
    done
    # one that got to run: its koker-run and its container killed
    koker-run --name alive --network fragile one sleep 300 >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 50); do
        [[ $(state alive .State.Running 2>/dev/null) == true ]] && break
        sleep 0.1
    done
    cpid=$(state alive .State.Pid)
    kill -9 "$pid" "$cpid"
    wait "$pid" || true
    # a koker-run killed before it saved its record left a directory, a cgroup and a mount
    # that ps does not list: the ps below removes them
    ids=$(ls "$KOKER_ROOT/containers")
    koker-ps -a -q | xargs -r koker-rm -f >/dev/null
    assert_equal "" "$(ls "$KOKER_ROOT/containers")"
    for id in $ids; do
        assert_equal "" "$(ls -d /sys/fs/cgroup/*/koker/"$id" 2>/dev/null)" "cgroup of $id left"
    done
    assert_equal "" "$(grep -F "$KOKER_ROOT/containers" /proc/self/mountinfo)"
    run_koker 0 koker-net prune -f
    assert_match fragile
    assert_equal "" "$(ip -o link show master "$BR_A" 2>/dev/null)"
    [[ ! -e $KOKER_ROOT/net/$BR_A ]]
    assert_equal "" "$({ iptables -w -S; iptables -w -t nat -S; } | grep -w "$BR_A")"
    wait_no_resolvers
}

@test "README's example: a busybox httpd and a client that reaches it by name" {
    koker network create app >/dev/null
    koker_cleanup_later link "$(koker-net inspect app | jq -r '.[0].Options["com.docker.network.bridge.name"]')"
    koker run -d --name web --network app one \
        sh -c 'echo "hello from web" >/tmp/index.html; exec httpd -f -p 80 -h /tmp' >/dev/null
    run_koker 0 koker run --rm --network app one \
        sh -c 'for i in $(seq 50); do wget -q -O- http://web/ && exit 0; sleep 0.1; done; exit 1'
    assert_equal "hello from web" "$output"
    run_koker 0 koker rm -f web
    run_koker 0 koker network rm app
}
