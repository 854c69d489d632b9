#!/usr/bin/env bats
# IPv6 (issue 19 point 3): network create --ipv6, a ULA /64 from the pool or --subnet,
# addresses usable at once, the default route, inspect's fields, --ip6, the default bridge's
# opt-in (koker-net up --ipv6), ports published on [::1] (the proxy) and on the host's IPv6
# addresses (ip6tables DNAT). Every bridge a test makes is kn<id>44<letter><test number>, every
# IPv4 subnet lies in 10.<octet>.0.0/16 (KOKER_TEST_NET_ID and KOKER_TEST_NET_OCTET, 220 by
# default; the default bridge's is 10.<octet>.<150 + N>.0/24), every IPv6 one in
# fd44:4b4f:<octet>::/48 (KOKER_NETWORK_POOL6 too), ports from KOKER_TEST_PORT_BASE + 440.
# Traffic goes only between the host and namespaces the tests make.

# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v iptables >/dev/null || skip "requires iptables"
    [[ -e /proc/net/if_inet6 ]] || skip "requires IPv6"
    N=$BATS_TEST_NUMBER
    O=${KOKER_TEST_NET_OCTET:-220}
    V6P=fd44:4b4f:$O # a /48, for this file's networks only
    export KOKER_NETWORK_POOL=10.$O.0.0/16 KOKER_NETWORK_POOL_SIZE=24
    export KOKER_NETWORK_POOL6=$V6P::/48
    export KOKER_DNS_UPSTREAM=127.0.0.1:9
    export KOKER_BRIDGE=kt${KOKER_TEST_NET_ID:-}44d$N KOKER_SUBNET=10.$O.$((150 + N)).0/24
    PORT=$((${KOKER_TEST_PORT_BASE:-40100} + 440 + 2 * N))
    BR_A=kn${KOKER_TEST_NET_ID:-}44a$N
    BR_B=kn${KOKER_TEST_NET_ID:-}44b$N
    koker_cleanup_later link "$KOKER_BRIDGE"
    koker_cleanup_later link "$BR_B"
    koker_cleanup_later link "$BR_A"
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

mknet() { # NAME [OPTION...]: network NAME on bridge BR_A, IPv4 subnet 10.<octet>.<N>.0/24
    local name=$1
    shift
    koker-net create --subnet "10.$O.$N.0/24" -o com.docker.network.bridge.name="$BR_A" "$@" "$name" >/dev/null
}

flunk() { # MESSAGE
    _koker_fail "$1" "" ""
}

state() { # CONTAINER JQ: a field of koker-inspect's object
    koker-inspect --type container "$1" | jq -r ".[0]$2"
}

@test "network create --ipv6: a /64 of the pool, the gateway on the bridge, inspect's IPAM; --subnet picks one" {
    mknet six --ipv6
    run_koker 0 koker-net inspect six
    assert_equal true "$(jq -r '.[0].EnableIPv6' <<<"$output")"
    subnet6=$(jq -r '.[0].IPAM.Config[1].Subnet' <<<"$output")
    gw6=$(jq -r '.[0].IPAM.Config[1].Gateway' <<<"$output")
    [[ $subnet6 == $V6P:*/64 ]] || flunk "subnet $subnet6 is not in the pool"
    assert_equal "${subnet6%/64}1" "$gw6"
    ip -6 addr show dev "$BR_A" | grep -q "inet6 $gw6/64" || flunk "no $gw6 on $BR_A"
    # another network gets another /64; an overlapping --subnet is refused
    koker-net create --subnet "10.$O.$((N + 100)).0/24" --ipv6 -o com.docker.network.bridge.name="$BR_B" other >/dev/null
    koker_cleanup_later link "$BR_B"
    other6=$(koker-net inspect other | jq -r '.[0].IPAM.Config[1].Subnet')
    [[ $other6 != "$subnet6" ]] || flunk "two networks on $subnet6"
    run_koker 125 koker-net create --ipv6 --subnet "$other6" -o com.docker.network.bridge.name="kn${KOKER_TEST_NET_ID:-}44c$N" third
    assert_stderr_match "overlaps"
    run_koker 0 koker-net rm other
    run_koker 0 koker-net create --ipv6 --subnet "$V6P:44::/64" \
        --subnet "10.$O.$((N + 100)).0/24" -o com.docker.network.bridge.name="$BR_B" other
    assert_equal "$V6P:44::/64" "$(koker-net inspect other | jq -r '.[0].IPAM.Config[1].Subnet')"
    run_koker 125 koker-net create --subnet "$V6P:45::/64" -o com.docker.network.bridge.name="kn${KOKER_TEST_NET_ID:-}44c$N" third
    assert_stderr_match "needs --ipv6"
    run_koker 0 koker-net rm other
    run_koker 0 koker-net rm six
    if ip link show "$BR_A" >/dev/null 2>&1; then flunk "bridge $BR_A is still there"; fi
}

@test "two containers on an --ipv6 network: addresses, the default route, ping -6 and wget over IPv6" {
    mknet six --ipv6
    koker-run -d --name web --network six one \
        sh -c 'echo "hello over v6" >/tmp/index.html; exec httpd -f -p 8080 -h /tmp' >/dev/null
    koker-run -d --name client --network six --cap-add NET_RAW one sleep 300 >/dev/null
    web6=$(state web .NetworkSettings.Networks.six.GlobalIPv6Address)
    client6=$(state client .NetworkSettings.Networks.six.GlobalIPv6Address)
    gw6=$(koker-net inspect six | jq -r '.[0].IPAM.Config[1].Gateway')
    [[ $web6 == $V6P:* && $client6 == $V6P:* && $web6 != "$client6" ]] ||
        flunk "addresses: web $web6, client $client6"
    assert_equal 64 "$(state web .NetworkSettings.Networks.six.GlobalIPv6PrefixLen)"
    assert_equal "$gw6" "$(state web .NetworkSettings.Networks.six.IPv6Gateway)"
    run_koker 0 koker-exec client ip -6 route show default
    assert_match "via $gw6"
    run_koker 0 koker-exec client ping -6 -c1 -W2 "$web6"
    run_koker 0 koker-exec client \
        sh -c "for i in \$(seq 50); do wget -q -O- 'http://[$web6]:8080/' && exit 0; sleep 0.1; done; exit 1"
    assert_equal "hello over v6" "$output"
    run_koker 0 koker-net inspect six
    assert_equal "$web6/64" "$(jq -r --arg id "$(state web .Id)" '.[0].Containers[$id].IPv6Address' <<<"$output")"
    koker-rm -f web client >/dev/null
    run_koker 0 koker-net rm six
}

rules6_of() { # BRIDGE: the IPv6 rules koker made for it, in every table
    { ip6tables -w -S; ip6tables -w -t nat -S; } | grep -w -e "$1" | grep -- '--comment koker' || true
}

@test "ip6tables: NAT66 masquerade, forwarding and isolation with the network, gone with it; IPv6 forwarding kept" {
    command -v ip6tables >/dev/null || skip "requires ip6tables"
    forward6=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
    mknet six --ipv6
    subnet6=$(koker-net inspect six | jq -r '.[0].IPAM.Config[1].Subnet')
    ip6tables -w -t nat -S POSTROUTING | grep -- "-s $subnet6" | grep -- "! -o $BR_A" | grep -q MASQUERADE ||
        flunk "no masquerade of $subnet6"
    ip6tables -w -S FORWARD | grep -- "-i $BR_A" | grep -q ACCEPT || flunk "no FORWARD accept for $BR_A"
    ip6tables -w -S KOKER-ISOLATION-STAGE-2 | grep -- "-o $BR_A" | grep -q DROP || flunk "no isolation for $BR_A"
    assert_equal 1 "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "IPv6 forwarding"
    # a second network's rules are its own: the first's rm leaves them
    koker-net create --subnet "10.$O.$((N + 100)).0/24" --ipv6 -o com.docker.network.bridge.name="$BR_B" other >/dev/null
    koker_cleanup_later link "$BR_B"
    run_koker 0 koker-net rm six
    assert_equal "" "$(rules6_of "$BR_A")"
    [[ -n $(rules6_of "$BR_B") ]] || flunk "the other network's rules went too"
    run_koker 0 koker-net rm other
    assert_equal "" "$(rules6_of "$BR_B")"
    if ! ip -d link show type bridge | grep -q 'alias koker '; then
        assert_equal "$forward6" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "IPv6 forwarding restored"
    fi
}

@test "kill -9 of koker-net create --ipv6 mid-way leaves no IPv6 rule after prune" {
    command -v ip6tables >/dev/null || skip "requires ip6tables"
    local i
    for i in 1 2 3 4 5; do
        koker-net create --ipv6 --subnet "10.$O.$N.0/24" -o com.docker.network.bridge.name="$BR_A" k$i >/dev/null 2>&1 &
        pid=$!
        sleep "0.0$((i * 3))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        run_koker 0 koker-net prune -f
        if ip link show "$BR_A" >/dev/null 2>&1; then flunk "bridge $BR_A is still there"; fi
        assert_equal "" "$(rules6_of "$BR_A")"
        assert_equal "" "$(find "$KOKER_ROOT/networks" -name '*.json')"
    done
}

@test "isolation over IPv6: containers on two --ipv6 networks do not reach each other" {
    mknet six --ipv6
    koker-net create --subnet "10.$O.$((N + 100)).0/24" --ipv6 -o com.docker.network.bridge.name="$BR_B" other >/dev/null
    koker_cleanup_later link "$BR_B"
    koker-run -d --name a1 --network six --cap-add NET_RAW one sleep 300 >/dev/null
    koker-run -d --name a2 --network six --cap-add NET_RAW one sleep 300 >/dev/null
    koker-run -d --name b1 --network other --cap-add NET_RAW one sleep 300 >/dev/null
    a2=$(state a2 .NetworkSettings.Networks.six.GlobalIPv6Address)
    b1=$(state b1 .NetworkSettings.Networks.other.GlobalIPv6Address)
    run_koker 0 koker-exec a1 ping -6 -c1 -W2 "$a2"
    run_koker 1 koker-exec a1 ping -6 -c1 -W1 "$b1"
    koker-rm -f a1 a2 b1 >/dev/null
    run_koker 0 koker-net rm six other
}

@test "--ip6 on run and network connect: honoured; refused outside the subnet, on the gateway, when taken, without IPv6" {
    mknet six --ipv6 --subnet "$V6P:$N::/64"
    run_koker 0 koker-run -d --name a --network six --ip6 "$V6P:$N::99" --cap-add NET_RAW one sleep 300
    assert_equal "$V6P:$N::99" "$(state a .NetworkSettings.Networks.six.GlobalIPv6Address)"
    assert_equal "$V6P:$N::99" "$(state a .NetworkSettings.Networks.six.IPAMConfig.IPv6Address)"
    run_koker 0 koker-exec a ip -6 addr show dev eth0
    assert_match "inet6 $V6P:$N::99/64"
    # taken, outside the subnet, the gateway, the subnet's own address: refused, nothing left
    run_koker 125 koker-run --rm --network six --ip6 "$V6P:$N::99" one true
    assert_stderr_match "address $V6P:$N::99 is already in use"
    run_koker 125 koker-run --rm --network six --ip6 fd86::5 one true
    assert_stderr_match "invalid address fd86::5: it does not belong"
    run_koker 125 koker-run --rm --network six --ip6 "$V6P:$N::1" one true
    assert_stderr_match "does not belong.*gateway"
    run_koker 125 koker-run --rm --network six --ip6 "$V6P:$N::" one true
    run_koker 125 koker-run --rm --ip6 "$V6P:$N::5" one true
    assert_stderr_match "user defined networks only"
    run_koker 125 koker-run --rm --network six --ip6 not-an-address one true
    assert_stderr_match "invalid IPv6 address"
    # an IPv4 address whose derived IPv6 one (offset 0x99) another's --ip6 holds is skipped
    # by the pool and refused when asked for
    run_koker 125 koker-run --rm --network six --ip "10.$O.$N.153" one true
    assert_stderr_match "$V6P:$N::99"
    # the default address stays the IPv4 one's offset
    run_koker 0 koker-run -d --name b --network six --ip "10.$O.$N.7" one sleep 300
    assert_equal "$V6P:$N::7" "$(state b .NetworkSettings.Networks.six.GlobalIPv6Address)"
    run_koker 0 koker-exec a ping -6 -c1 -W2 "$V6P:$N::7"
    # a network without IPv6
    koker-net create --subnet "10.$O.$((N + 100)).0/24" -o com.docker.network.bridge.name="$BR_B" four >/dev/null
    run_koker 125 koker-run --rm --network four --ip6 "$V6P:$N::5" one true
    assert_stderr_match "no IPv6 subnet"
    # network connect --ip6, on a second IPv6 network
    run_koker 0 koker-net rm four
    koker-net create --subnet "10.$O.$((N + 100)).0/24" --ipv6 --subnet "$V6P:$((N + 100))::/64" \
        -o com.docker.network.bridge.name="$BR_B" other >/dev/null
    run_koker 125 koker-net connect --ip6 "$V6P:$N::42" other b
    assert_stderr_match "does not belong"
    run_koker 0 koker-net connect --ip6 "$V6P:$((N + 100))::42" other b
    assert_equal "$V6P:$((N + 100))::42" "$(state b .NetworkSettings.Networks.other.GlobalIPv6Address)"
    run_koker 0 koker-exec b ip -6 addr show dev eth1
    assert_match "$V6P:$((N + 100))::42/64"
    koker-rm -f a b >/dev/null
    # released with the container: the address is free again
    run_koker 0 koker-run --rm --network six --ip6 "$V6P:$N::99" one true
    run_koker 0 koker-net rm six other
}

@test "the default bridge: no IPv6 unless koker-net up --ipv6; then an address and a way to the gateway; --ipv6=false turns it off" {
    run_koker 0 koker-run -d --name plain one sleep 300
    assert_equal "" "$(state plain .NetworkSettings.GlobalIPv6Address)"
    assert_equal "10.$O.$((150 + N))" "$(state plain .NetworkSettings.IPAddress | cut -d. -f1-3)"
    run_koker 0 koker-exec plain ip -6 addr show scope global
    assert_equal "" "$output"
    assert_equal false "$(koker-net inspect bridge | jq -r '.[0].EnableIPv6')"
    # turning it on while a container is on the bridge is refused
    run_koker 125 koker-net up --ipv6 --subnet "$V6P:ff$N::/64"
    assert_stderr_match "stop them"
    koker-rm -f plain >/dev/null
    run_koker 0 koker-net up --ipv6 --subnet "$V6P:ff$N::/64"
    assert_equal true "$(koker-net inspect bridge | jq -r '.[0].EnableIPv6')"
    assert_equal "$V6P:ff$N::/64" "$(koker-net inspect bridge | jq -r '.[0].IPAM.Config[1].Subnet')"
    ip -6 addr show dev "$KOKER_BRIDGE" | grep -q "inet6 $V6P:ff$N::1/64" || flunk "no gateway address"
    # kept in the store: a bridge removed and made again by the next run has it
    run_koker 0 koker-net down
    run_koker 0 koker-run -d --name six --cap-add NET_RAW one sleep 300
    addr=$(state six .NetworkSettings.GlobalIPv6Address)
    [[ $addr == "$V6P:ff$N::"* ]] || flunk "address $addr"
    assert_equal "$(state six .NetworkSettings.Networks.bridge.GlobalIPv6Address)" "$addr"
    assert_equal "10.$O.$((150 + N))" "$(state six .NetworkSettings.IPAddress | cut -d. -f1-3)"
    run_koker 0 koker-exec six ping -6 -c1 -W2 "$V6P:ff$N::1"
    run_koker 0 koker-exec six ip -6 route show default
    assert_match "via $V6P:ff$N::1"
    # a user network does not get the bridge's /64
    mknet net6 --ipv6
    [[ $(koker-net inspect net6 | jq -r '.[0].IPAM.Config[1].Subnet') != "$V6P:ff$N::/64" ]] || flunk "same /64"
    run_koker 0 koker-net rm net6
    koker-rm -f six >/dev/null
    run_koker 0 koker-net up --ipv6=false
    assert_equal false "$(koker-net inspect bridge | jq -r '.[0].EnableIPv6')"
    assert_equal "" "$(rules6_of "$KOKER_BRIDGE")"
    run_koker 0 koker-run -d --name again one sleep 300
    assert_equal "" "$(state again .NetworkSettings.GlobalIPv6Address)"
    koker-rm -f again >/dev/null
}

running() { # PID: alive and not a zombie (init here may be slow to reap)
    [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" | cut -c1) != Z ]]
}

proxy_pid() { # CONTAINER NETWORK-BRIDGE: the pid its [::1] proxy recorded, if any
    local id
    id=$(state "$1" .Id)
    cut -d' ' -f1 "$KOKER_ROOT/net/$2/proxy-$id" 2>/dev/null || true
}

fetch() { # URL: the body, after up to 5 s for the server to start
    local _
    for _ in $(seq 50); do
        curl -gsf --max-time 2 "$1" && return 0
        sleep 0.1
    done
    return 1
}

@test "-p on an --ipv6 network: [::1] through the proxy, the host's IPv6 address by DNAT, IPv4 as before; all gone with the container" {
    command -v ip6tables >/dev/null || skip "requires ip6tables"
    mknet six --ipv6
    gw6=$(koker-net inspect six | jq -r '.[0].IPAM.Config[1].Gateway')
    koker-run -d --name web --network six -p "$PORT:8080" one \
        sh -c 'echo "hello from web" >/tmp/index.html; exec httpd -f -p 8080 -h /tmp' >/dev/null
    id=$(state web .Id)
    output=$(fetch "http://[::1]:$PORT/") || flunk "no answer on http://[::1]:$PORT/"
    assert_equal "hello from web" "$output"
    output=$(fetch "http://127.0.0.1:$PORT/") || flunk "no answer on http://127.0.0.1:$PORT/"
    assert_equal "hello from web" "$output"
    # a host IPv6 address that is not ::1 (the bridge's): ip6tables DNAT
    output=$(fetch "http://[$gw6]:$PORT/") || flunk "no answer on http://[$gw6]:$PORT/"
    assert_equal "hello from web" "$output"
    ip6tables -w -t nat -S "KOKER-$BR_A" | grep -q "koker:$id" || flunk "no ip6tables DNAT rule"
    pid=$(proxy_pid web "$BR_A")
    running "$pid" || flunk "no proxy recorded"
    assert_equal 1 "$(pgrep -f "^koker-net proxy .*proxy-$id" | wc -l)"
    # -p [::1]:PORT:80: ::1 only
    koker-run -d --name lo6 --network six -p "[::1]:$((PORT + 1)):8080" one \
        sh -c 'echo "hello from lo6" >/tmp/index.html; exec httpd -f -p 8080 -h /tmp' >/dev/null
    output=$(fetch "http://[::1]:$((PORT + 1))/") || flunk "no answer on http://[::1]:$((PORT + 1))/"
    assert_equal "hello from lo6" "$output"
    if curl -gsf --max-time 2 "http://127.0.0.1:$((PORT + 1))/"; then flunk "http://127.0.0.1:$((PORT + 1))/ answers"; fi
    run_koker 0 koker-port lo6 8080
    assert_equal "[::1]:$((PORT + 1))" "$output"
    # stopped: the proxy, its record and the rules go; the port is free
    run_koker 0 koker-stop -t 1 web
    if running "$pid"; then flunk "proxy $pid still runs"; fi
    [[ ! -e $KOKER_ROOT/net/$BR_A/proxy-$id ]] || flunk "proxy record left"
    if ip6tables -w -t nat -S "KOKER-$BR_A" | grep -q "koker:$id"; then flunk "ip6tables rule left"; fi
    if curl -gsf --max-time 2 "http://[::1]:$PORT/"; then flunk "http://[::1]:$PORT/ answers"; fi
    # started again: served again
    run_koker 0 koker-start web
    output=$(fetch "http://[::1]:$PORT/") || flunk "no answer on http://[::1]:$PORT/"
    koker-rm -f web lo6 >/dev/null
    assert_equal "" "$(pgrep -f "^koker-net proxy" | xargs -r ps -o args= -p | grep "$KOKER_ROOT" || true)"
    run_koker 0 koker-net rm six
    assert_equal "" "$(rules6_of "$BR_A")"
}

@test "kill -9 of koker-run: no proxy, rule or lease left after network prune, nor after the next start" {
    command -v ip6tables >/dev/null || skip "requires ip6tables"
    mknet six --ipv6
    koker-run --name fg --network six -p "$PORT:8080" one sleep 300 >/dev/null 2>&1 &
    runpid=$!
    koker_cleanup_later pid "$runpid"
    for _ in $(seq 50); do
        [[ $(state fg .State.Status 2>/dev/null) == running ]] && [[ -n $(proxy_pid fg "$BR_A") ]] && break
        sleep 0.1
    done
    id=$(state fg .Id)
    pid=$(proxy_pid fg "$BR_A")
    [[ -n $pid ]] || flunk "no proxy"
    cpid=$(state fg .State.Pid)
    kill -9 "$runpid"
    # the container keeps running without its koker-run a moment, or not: either way prune
    # leaves nothing of it
    kill -9 "$cpid" 2>/dev/null || true
    run_koker 0 koker-net prune -f
    for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then flunk "proxy $pid still runs"; fi
    assert_equal "" "$(rules6_of "$BR_A")"
    if ip6tables -w -t nat -S 2>/dev/null | grep -q "koker:$id"; then flunk "rule left"; fi
    assert_equal "" "$(find "$KOKER_ROOT/net" -name 'proxy-*' 2>/dev/null)"
    # the next start on the same port, after another kill -9 (network still there)
    mknet six --ipv6
    koker-run --name fg2 --network six -p "$PORT:8080" one sleep 300 >/dev/null 2>&1 &
    runpid=$!
    koker_cleanup_later pid "$runpid"
    for _ in $(seq 50); do
        [[ -n $(proxy_pid fg2 "$BR_A") ]] && break
        sleep 0.1
    done
    pid=$(proxy_pid fg2 "$BR_A")
    [[ -n $pid ]] || flunk "no proxy"
    cpid=$(state fg2 .State.Pid)
    kill -9 "$runpid"
    for _ in $(seq 50); do running "$cpid" || break; sleep 0.1; done
    run_koker 0 koker-run -d --name web --network six -p "$PORT:8080" one \
        sh -c 'echo "hello again" >/tmp/index.html; exec httpd -f -p 8080 -h /tmp'
    output=$(fetch "http://[::1]:$PORT/") || flunk "no answer on http://[::1]:$PORT/"
    assert_equal "hello again" "$output"
    if [[ $(proxy_pid web "$BR_A") == "$pid" ]] || running "$pid"; then
        flunk "the killed run's proxy $pid is still there"
    fi
    koker-rm -f fg2 web >/dev/null
    run_koker 0 koker-net rm six
    assert_equal "" "$(rules6_of "$BR_A")"
}
