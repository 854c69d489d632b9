#!/usr/bin/env bats
# User-defined networks (issue 19): koker-net create/networks/inspect/rm/prune and the
# wrapper's `koker network`. Every bridge a test makes is named kn19<letter><test number>,
# every subnet comes from 10.186.0.0/15 (the automatic pool too: KOKER_NETWORK_POOL), so
# nothing meets another checkout's networks. Traffic goes only between the host and
# namespaces the tests make.

# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v iptables >/dev/null || skip "requires iptables"
    export KOKER_NETWORK_POOL=10.186.0.0/15 KOKER_NETWORK_POOL_SIZE=24
    N=$BATS_TEST_NUMBER
    BR_A=kn19a$N BR_B=kn19b$N
    koker_cleanup_later link "$BR_A"
    koker_cleanup_later link "$BR_B"
}

teardown() {
    if [[ -x $KOKER_BINDIR/koker-net && -d ${KOKER_ROOT:-/nonexistent}/networks ]]; then
        timeout 60 "$KOKER_BINDIR/koker-ps" -a -q 2>/dev/null | xargs -r timeout 60 "$KOKER_BINDIR/koker-rm" -f >/dev/null 2>&1
        timeout 60 "$KOKER_BINDIR/koker-net" -q prune -f >/dev/null ||
            echo "# teardown: koker-net prune failed" >&2
    fi
    koker_teardown
    return 0
}

# The rules koker made that name bridge $1, in iptables -S form (nat and filter).
rules_of() {
    { iptables -w -t nat -S; iptables -w -S; } | grep -w -e "$1" -e "KOKER-$1" | grep -- '--comment koker' || true
}

assert_no_link() {
    if ip link show "$1" >/dev/null 2>&1; then
        _koker_fail "link $1 is still there" "" "$(ip -o link show "$1")"
    fi
}

net_field() { # NETWORK JQ: a field of koker-net inspect
    koker-net inspect "$1" | jq -r ".[0]$2"
}

@test "create, ls, inspect and rm a network: its bridge, address and rules come and go" {
    run_koker 0 koker-net create --subnet "10.186.$N.0/24" --label app=web -o com.docker.network.bridge.name="$BR_A" front
    [[ ${lines[0]} =~ ^[0-9a-f]{64}$ ]]
    id=${lines[0]}
    # docker creates the bridge at network create
    ip -o -4 addr show dev "$BR_A" | grep -q "10.186.$N.1/24"
    [[ -n $(rules_of "$BR_A") ]]
    [[ -f $KOKER_ROOT/networks/front.json ]]

    run_koker 0 koker-net inspect front
    assert_equal front "$(jq -r '.[0].Name' <<<"$output")"
    assert_equal "$id" "$(jq -r '.[0].Id' <<<"$output")"
    assert_equal "local bridge false false" "$(jq -r '.[0] | "\(.Scope) \(.Driver) \(.EnableIPv6) \(.Internal)"' <<<"$output")"
    assert_equal "10.186.$N.0/24 10.186.$N.1" "$(jq -r '.[0].IPAM.Config[0] | "\(.Subnet) \(.Gateway)"' <<<"$output")"
    assert_equal web "$(jq -r '.[0].Labels.app' <<<"$output")"
    assert_equal "$BR_A" "$(jq -r '.[0].Options["com.docker.network.bridge.name"]' <<<"$output")"
    assert_equal "{}" "$(jq -c '.[0].Containers' <<<"$output")"
    # by ID prefix too
    assert_equal front "$(net_field "${id:0:12}" .Name)"

    run_koker 0 koker-net networks
    assert_match "NETWORK ID +NAME +DRIVER +SCOPE"
    assert_match "${id:0:12} +front +bridge +local"
    assert_match " bridge +bridge +local"
    run_koker 0 koker network ls -q --filter name=fro
    assert_equal "${id:0:12}" "$output"
    run_koker 0 koker network ls --format '{{.Name}} {{.Driver}}' -f label=app=web
    assert_equal "front bridge" "$output"
    run_koker 0 koker network ls -q -f label=app=db
    assert_equal "" "$output"

    run_koker 0 koker network rm front
    assert_equal front "$output"
    assert_no_link "$BR_A"
    assert_equal "" "$(rules_of "$BR_A")"
    [[ ! -e $KOKER_ROOT/networks/front.json && ! -e $KOKER_ROOT/net/$BR_A ]]
    run_koker 125 koker network rm front
    assert_stderr_match "network front not found"
    run_koker 0 koker network rm -f front
}

@test "create picks a subnet from KOKER_NETWORK_POOL that no route, address or network uses" {
    # a route of the host inside the pool: the pool must step over it
    ip link add "$BR_B" type bridge
    ip addr add 10.186.0.1/24 dev "$BR_B"
    run_koker 0 koker-net create -o com.docker.network.bridge.name="$BR_A" one
    sub1=$(net_field one '.IPAM.Config[0].Subnet')
    [[ $sub1 =~ ^10\.18[67]\.[0-9]+\.0/24$ ]]
    [[ $sub1 != 10.186.0.0/24 ]]
    ip link delete "$BR_B"
    run_koker 0 koker-net create -o com.docker.network.bridge.name="$BR_B" two
    sub2=$(net_field two '.IPAM.Config[0].Subnet')
    [[ $sub2 =~ ^10\.18[67]\.[0-9]+\.0/24$ && $sub2 != "$sub1" ]]
    # an explicit subnet overlapping another network is refused, and nothing is made
    run_koker 125 koker-net create --subnet "$sub1" -o com.docker.network.bridge.name="kn19c$N" three
    assert_stderr_match "overlaps"
    [[ ! -e $KOKER_ROOT/networks/three.json ]]
    assert_no_link "kn19c$N"
}

@test "create: --gateway, --ip-range, --internal; bad input is refused with 125 and leaves nothing" {
    run_koker 0 koker-net create --subnet "10.186.$N.0/24" --gateway "10.186.$N.254" \
        --ip-range "10.186.$N.128/25" --internal -o com.docker.network.bridge.name="$BR_A" inner
    assert_equal "10.186.$N.254 10.186.$N.128/25 true" \
        "$(net_field inner '| "\(.IPAM.Config[0].Gateway) \(.IPAM.Config[0].IPRange) \(.Internal)"')"
    ip -o -4 addr show dev "$BR_A" | grep -q "10.186.$N.254/24"
    # internal: forwarding off the bridge is dropped, nothing is masqueraded
    iptables -w -S KOKER-ISOLATION-STAGE-1 | grep -- "-i $BR_A ! -o $BR_A" | grep -q DROP
    assert_equal "" "$(iptables -w -t nat -S POSTROUTING | grep -w "$BR_A")"

    run_koker 125 koker-net create -o com.docker.network.bridge.name="kn19c$N" inner
    assert_stderr_match "network with name inner already exists"
    run_koker 125 koker-net create bridge
    assert_stderr_match "predefined bridge network"
    run_koker 125 koker-net create 'bad/name'
    assert_stderr_match "invalid network name"
    run_koker 125 koker-net create --subnet "10.186.$N.0/33" x1
    run_koker 125 koker-net create --gateway "10.186.$N.1" x2
    assert_stderr_match "need --subnet"
    run_koker 125 koker-net create --subnet "10.187.$N.0/24" --gateway 10.188.0.1 x3
    assert_stderr_match "no matching subnet for gateway"
    run_koker 125 koker-net create -d overlay x4
    run_koker 125 koker-net create
    run_koker 125 koker-net create -o com.docker.network.bridge.name=this-name-is-too-long x5
    run_koker 125 koker-net networks --subnet 10.187.0.0/24
    run_koker 125 koker-net networks -f nosuch=1
    assert_equal "inner" "$(find "$KOKER_ROOT/networks" -name '*.json' -printf '%f\n' | sed 's/\.json$//')"
    run_koker 125 koker-net rm bridge
    assert_stderr_match "pre-defined"
}

@test "prune removes the networks no container uses; the default bridge network stays" {
    run_koker 0 koker-net create --subnet "10.186.$N.0/25" -o com.docker.network.bridge.name="$BR_A" p1
    run_koker 0 koker-net create --subnet "10.186.$N.128/25" -o com.docker.network.bridge.name="$BR_B" p2
    run_koker 0 koker network prune -f
    assert_match "Deleted Networks:"
    assert_match "p1"
    assert_match "p2"
    assert_no_link "$BR_A"
    assert_no_link "$BR_B"
    assert_equal "" "$(rules_of "$BR_A")$(rules_of "$BR_B")"
    run_koker 0 koker network ls -q
    assert_equal 1 "${#lines[@]}"
    assert_equal bridge "$(net_field bridge .Name)"
    # prune without -f asks, and "no" keeps them
    run_koker 0 koker-net create --subnet "10.186.$N.0/25" -o com.docker.network.bridge.name="$BR_A" p3
    run bash -c 'echo n | koker-net prune'
    [[ -f $KOKER_ROOT/networks/p3.json ]]
}

@test "isolation: each network drops forwarding to and from the others" {
    run_koker 0 koker-net create --subnet "10.186.$N.0/25" -o com.docker.network.bridge.name="$BR_A" i1
    run_koker 0 koker-net create --subnet "10.186.$N.128/25" -o com.docker.network.bridge.name="$BR_B" i2
    # docker's two stages, in chains of koker's own: leaving a bridge for another, then
    # entering one
    [[ $(iptables -w -S FORWARD | grep -m1 -- '-A FORWARD') == *"-j KOKER-ISOLATION-STAGE-1"* ]]
    iptables -w -S KOKER-ISOLATION-STAGE-1 | grep -- "-i $BR_A ! -o $BR_A" | grep -q KOKER-ISOLATION-STAGE-2
    iptables -w -S KOKER-ISOLATION-STAGE-1 | grep -- "-i $BR_B ! -o $BR_B" | grep -q KOKER-ISOLATION-STAGE-2
    iptables -w -S KOKER-ISOLATION-STAGE-2 | grep -- "-o $BR_A" | grep -q DROP
    iptables -w -S KOKER-ISOLATION-STAGE-2 | grep -- "-o $BR_B" | grep -q DROP
    run_koker 0 koker-net rm i1
    assert_equal "" "$(rules_of "$BR_A")"
    iptables -w -S KOKER-ISOLATION-STAGE-2 | grep -q -- "-o $BR_B"
}

@test "kill -9 of koker-net create mid-way leaves nothing after prune" {
    local i forward
    forward=$(cat /proc/sys/net/ipv4/ip_forward)
    for i in 1 2 3 4 5; do
        koker-net create --subnet "10.186.$N.0/24" -o com.docker.network.bridge.name="$BR_A" k$i >/dev/null 2>&1 &
        pid=$!
        sleep "0.0$((i * 2))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        run_koker 0 koker-net prune -f
        assert_no_link "$BR_A"
        assert_equal "" "$(rules_of "$BR_A")"
        assert_equal "" "$(find "$KOKER_ROOT/networks" -name '*.json')"
        # ip_forward as it was, unless another koker bridge (another store's) needs it on
        if ! ip -d link show type bridge | grep -q 'alias koker '; then
            assert_equal "$forward" "$(cat /proc/sys/net/ipv4/ip_forward)" "ip_forward"
        fi
    done
}
