#!/usr/bin/env bats
# IPv6 on user-defined networks (issue 19 point 3): network create --ipv6, a ULA /64 from the
# pool or --subnet, addresses usable at once, the default route, inspect's fields. Every bridge
# a test makes is kn44<letter><test number>, every IPv4 subnet lies in 10.220.0.0/16 and every
# IPv6 one in fd44:4b4f:4b45::/48 (KOKER_NETWORK_POOL6 too). Traffic goes only between the host
# and namespaces the tests make.

# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v iptables >/dev/null || skip "requires iptables"
    [[ -e /proc/net/if_inet6 ]] || skip "requires IPv6"
    export KOKER_NETWORK_POOL=10.220.0.0/16 KOKER_NETWORK_POOL_SIZE=24
    export KOKER_NETWORK_POOL6=fd44:4b4f:4b45::/48
    export KOKER_DNS_UPSTREAM=127.0.0.1:9
    N=$BATS_TEST_NUMBER
    BR_A=kn44a$N
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

mknet() { # NAME [OPTION...]: network NAME on bridge kn44a<N>, IPv4 subnet 10.220.<N>.0/24
    local name=$1
    shift
    koker-net create --subnet "10.220.$N.0/24" -o com.docker.network.bridge.name="$BR_A" "$@" "$name" >/dev/null
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
    [[ $subnet6 == fd44:4b4f:4b45:*/64 ]] || flunk "subnet $subnet6 is not in the pool"
    assert_equal "${subnet6%/64}1" "$gw6"
    ip -6 addr show dev "$BR_A" | grep -q "inet6 $gw6/64" || flunk "no $gw6 on $BR_A"
    # another network gets another /64; an overlapping --subnet is refused
    koker-net create --subnet "10.220.$((N + 100)).0/24" --ipv6 -o com.docker.network.bridge.name="kn44b$N" other >/dev/null
    koker_cleanup_later link "kn44b$N"
    other6=$(koker-net inspect other | jq -r '.[0].IPAM.Config[1].Subnet')
    [[ $other6 != "$subnet6" ]] || flunk "two networks on $subnet6"
    run_koker 125 koker-net create --ipv6 --subnet "$other6" -o com.docker.network.bridge.name="kn44c$N" third
    assert_stderr_match "overlaps"
    run_koker 0 koker-net rm other
    run_koker 0 koker-net create --ipv6 --subnet fd44:4b4f:4b45:44::/64 \
        --subnet "10.220.$((N + 100)).0/24" -o com.docker.network.bridge.name="kn44b$N" other
    assert_equal fd44:4b4f:4b45:44::/64 "$(koker-net inspect other | jq -r '.[0].IPAM.Config[1].Subnet')"
    run_koker 125 koker-net create --subnet fd44:4b4f:4b45:45::/64 -o com.docker.network.bridge.name="kn44c$N" third
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
    [[ $web6 == fd44:4b4f:4b45:* && $client6 == fd44:4b4f:4b45:* && $web6 != "$client6" ]] ||
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
    koker-net create --subnet "10.220.$((N + 100)).0/24" --ipv6 -o com.docker.network.bridge.name="kn44b$N" other >/dev/null
    koker_cleanup_later link "kn44b$N"
    run_koker 0 koker-net rm six
    assert_equal "" "$(rules6_of "$BR_A")"
    [[ -n $(rules6_of "kn44b$N") ]] || flunk "the other network's rules went too"
    run_koker 0 koker-net rm other
    assert_equal "" "$(rules6_of "kn44b$N")"
    if ! ip -d link show type bridge | grep -q 'alias koker '; then
        assert_equal "$forward6" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "IPv6 forwarding restored"
    fi
}

@test "kill -9 of koker-net create --ipv6 mid-way leaves no IPv6 rule after prune" {
    command -v ip6tables >/dev/null || skip "requires ip6tables"
    local i
    for i in 1 2 3 4 5; do
        koker-net create --ipv6 --subnet "10.220.$N.0/24" -o com.docker.network.bridge.name="$BR_A" k$i >/dev/null 2>&1 &
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
    koker-net create --subnet "10.220.$((N + 100)).0/24" --ipv6 -o com.docker.network.bridge.name="kn44b$N" other >/dev/null
    koker_cleanup_later link "kn44b$N"
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
