#!/usr/bin/env bats
# User-mode networking (issue 20.4): --network slirp4netns and --network pasta, as root.
# Traffic stays on the host: the container reaches a busybox httpd the test starts on a veth
# pair of its own (kt<ID>47a/b, 10.<OCTET>.250.1/30; slirp4netns's --disable-host-loopback
# keeps containers off the host's 127.0.0.1), and the host reaches published ports on 127.0.0.1.
# Each test checks that the helper process is gone once the container is.

# shellcheck disable=SC2030,SC2031
load helpers

setup() {
    koker_setup
    requires root netns
    command -v slirp4netns >/dev/null || skip "requires slirp4netns"
    command -v pasta >/dev/null || skip "requires pasta (the passt package)"
    # PORT and PORT+1 for containers, HOST_PORT for the host's server
    PORT=$((${KOKER_TEST_PORT_BASE:-40100} + 470 + 3 * BATS_TEST_NUMBER))
    HOST_PORT=$((PORT + 2))
    HOST_IP=10.${KOKER_TEST_NET_OCTET:-199}.250.1
    VETH=kt${KOKER_TEST_NET_ID:-}47a
    koker-pull -q --tag one "oci:$KOKER_TEST_FIXTURES/one:latest" >/dev/null
}

teardown() {
    koker_teardown # koker-rm -f of every container, the pids and links registered
    if ip link delete "$VETH" 2>/dev/null; then
        echo "# teardown: $VETH was left" >&2
    fi
    return 0
}

# host_server: a busybox httpd on $HOST_IP:$HOST_PORT, an address of a veth pair the test owns
# (both ends on the host: only its address matters), serving "hello from the host".
host_server() {
    ip link add "$VETH" type veth peer name "${VETH%a}b"
    koker_cleanup_later link "$VETH"
    ip addr add "$HOST_IP/30" dev "$VETH"
    ip link set "${VETH%a}b" up
    ip link set "$VETH" up
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo "hello from the host" >"$BATS_TEST_TMPDIR/www/index.html"
    busybox httpd -f -p "$HOST_IP:$HOST_PORT" -h "$BATS_TEST_TMPDIR/www" </dev/null >/dev/null 2>&1 3>&- &
    koker_cleanup_later pid $!
}

# The shell line a container runs to fetch URL, retrying while the server starts.
fetch_cmd() {
    echo "for i in \$(seq 50); do timeout 3 wget -q -O- '$1' && exit 0; sleep 0.1; done; exit 1"
}

# helper_pid TEXT: the helper's PID, from a -D trace ("slirp4netns 1234 is ready").
helper_pid() {
    [[ $1 =~ (slirp4netns|pasta)\ ([0-9]+)\ is\ ready ]] || return 1
    echo "${BASH_REMATCH[2]}"
}

# assert_gone PID: the process ends within 5 s (a zombie counts as gone: its parent reaps it).
assert_gone() {
    local _ state
    for _ in $(seq 50); do
        state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
        [[ $state == Z ]] && return 0
        sleep 0.1
    done
    echo "the helper $1 still runs: $(tr '\0' ' ' <"/proc/$1/cmdline")"
    return 1
}

@test "slirp4netns: tap0 at 10.0.2.100, DNS 10.0.2.3, the host's server reached; the helper ends with the container" {
    host_server
    run_koker 0 koker-run -D --rm --network slirp4netns one sh -c \
        "ip -4 -o addr show tap0; ip route; cat /etc/resolv.conf; $(fetch_cmd "http://$HOST_IP:$HOST_PORT/")"
    assert_match "inet 10\.0\.2\.100/24 "
    assert_match "default via 10\.0\.2\.2 dev tap0"
    assert_match "nameserver 10\.0\.2\.3"
    assert_match "hello from the host"
    # -D shows the helper's command line
    assert_stderr_match "slirp4netns --configure --mtu=65520 --enable-sandbox --enable-seccomp --ready-fd=3 --exit-fd=4 --api-socket=slirp4netns.sock --disable-host-loopback [0-9]+ tap0"
    pid=$(helper_pid "$stderr")
    assert_gone "$pid"
}

@test "slirp4netns: enable_ipv6=true: a global fd00::/64 address before the process starts; the host's IPv6 server reached" {
    host_server
    local host6=fdbb:${KOKER_TEST_NET_OCTET:-199}::1
    ip addr add "$host6/64" dev "$VETH" nodad
    busybox httpd -f -p "[$host6]:$HOST_PORT" -h "$BATS_TEST_TMPDIR/www" </dev/null >/dev/null 2>&1 3>&- &
    koker_cleanup_later pid $!
    # no retry for the address: it is there at the first instruction
    run_koker 0 koker-run -D --rm --network slirp4netns:enable_ipv6=true one sh -c \
        "ip -6 -o addr show tap0 scope global; $(fetch_cmd "http://[$host6]:$HOST_PORT/")"
    assert_match "inet6 fd00::[0-9a-f:]+/64 scope global"
    refute_match "tentative"
    assert_match "hello from the host"
    assert_stderr_match "slirp4netns .*--enable-ipv6 "
    # accept_dad was 0 only while slirp4netns made tap0: the namespace's default is back
    assert_stderr_match "write /proc/sys/net/ipv6/conf/default/accept_dad 0"
    assert_stderr_match "write /proc/sys/net/ipv6/conf/default/accept_dad 1"
}

@test "pasta: the host's address, DNS through 169.254.1.1, the host's server reached; the helper ends with the container" {
    host_server
    host_addr=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
    run_koker 0 koker-run -D --rm --network pasta one sh -c \
        "ip -4 -o addr; cat /etc/resolv.conf; $(fetch_cmd "http://$HOST_IP:$HOST_PORT/")"
    [[ -z $host_addr ]] || assert_match "inet $host_addr/"
    assert_match "nameserver 169\.254\.1\.1"
    assert_match "hello from the host"
    assert_stderr_match "pasta --config-net --foreground --quiet --pid /proc/self/fd/3 .*--no-map-gw --dns-forward 169\.254\.1\.1"
    pid=$(helper_pid "$stderr")
    assert_gone "$pid"
}

@test "slirp4netns and pasta: -p publishes on the host's 127.0.0.1 (slirp4netns through its API); containers reach each other through published ports" {
    host_server # the host's address the second container reaches the first one's port on
    run_koker 0 koker-run -D -d --name s1 --network slirp4netns -p "$PORT:80" one sh -c \
        "mkdir -p /www && echo 'hello from s1' >/www/index.html && exec httpd -f -p 80 -h /www"
    assert_stderr_match "slirp4netns API slirp4netns.sock: \{\"execute\":\"add_hostfwd\",\"arguments\":\{\"proto\":\"tcp\",\"host_addr\":\"0\.0\.0\.0\",\"host_port\":$PORT,\"guest_addr\":\"10\.0\.2\.100\",\"guest_port\":80\}\}"
    fetch_host "http://127.0.0.1:$PORT/"
    assert_equal "hello from s1" "$output"
    pasta_port=$((PORT + 1))
    web p1 --network pasta -p "127.0.0.1:$pasta_port:80" >/dev/null
    fetch_host "http://127.0.0.1:$pasta_port/"
    assert_equal "hello from p1" "$output"
    # pasta published on 127.0.0.1 only: the first container goes through slirp4netns's port
    run_koker 0 koker-run --rm --network pasta one sh -c "$(fetch_cmd "http://$HOST_IP:$PORT/")"
    assert_equal "hello from s1" "$output"
    run_koker 0 koker-run --rm --network slirp4netns one sh -c "$(fetch_cmd "http://$HOST_IP:$PORT/")"
    assert_equal "hello from s1" "$output"
    run_koker 0 koker-ps
    assert_match "0\.0\.0\.0:$PORT->80/tcp +s1"
}

@test "slirp4netns and pasta: the helper is gone after stop and rm of a -d container" {
    for mode in slirp4netns pasta; do
        run_koker 0 koker-run -D -d --name "a-$mode" --network "$mode" -p "$PORT:80" one sleep 100
        pid=$(helper_pid "$stderr")
        kill -0 "$pid"
        run_koker 0 koker-stop -t 1 "a-$mode"
        assert_gone "$pid"
        # the port is free again: a new start publishes it
        run_koker 0 koker-start -D "a-$mode"
        pid=$(helper_pid "$stderr")
        kill -0 "$pid"
        run_koker 0 koker-rm -f "a-$mode"
        assert_gone "$pid"
    done
}

@test "slirp4netns and pasta: kill -9 of koker-run takes the helper with it" {
    for mode in slirp4netns pasta; do
        log=$BATS_TEST_TMPDIR/run-$mode.log
        koker-run -D --network "$mode" one sleep 100 </dev/null >/dev/null 2>"$log" 3>&- &
        run_pid=$!
        koker_cleanup_later pid "$run_pid"
        for _ in $(seq 100); do
            grep -q "is ready" "$log" && break
            sleep 0.1
        done
        pid=$(helper_pid "$(cat "$log")")
        kill -0 "$pid"
        kill -9 "$run_pid"
        assert_gone "$pid"
    done
}

@test "slirp4netns and pasta: a bad option is one line and 125; good ones reach the helper" {
    run_koker 125 koker-run --network slirp4netns:mtu=x one true
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match "invalid slirp4netns option mtu=x: an MTU from 68 to 65521"
    run_koker 125 koker-run --network slirp4netns:color=red one true
    assert_stderr_match "invalid slirp4netns option color=red"
    run_koker 125 koker-create --network pasta:--runas,0 one true
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match "invalid pasta option --runas: koker sets it"
    run_koker 125 koker-run --network slirp4netns --ip 10.0.2.9 one true
    # options reach the helper: a smaller MTU
    run_koker 0 koker-run --rm --network slirp4netns:mtu=1400,cidr=10.5.0.0/24 one \
        sh -c 'cat /sys/class/net/tap0/mtu; ip -4 -o addr show tap0'
    assert_match "^1400"
    assert_match "inet 10\.5\.0\.100/24"
}

@test "/dev/net/tun that cannot be opened: one clear line before anything is made" {
    requires userns
    # An unprivileged user meets the 0600 node of this host as the check sees it.
    [[ $(stat -c %a /dev/net/tun) != 666 ]] || skip "/dev/net/tun is 0666 here"
    run_koker 125 "$(command -v setpriv)" --reuid=65534 --regid=65534 --clear-groups \
        "$KOKER_BINDIR/koker-run" --network slirp4netns one true
    assert_equal 1 "${#stderr_lines[@]}"
    assert_stderr_match "cannot open /dev/net/tun \(mode 0600\): user-mode networking needs it readable and writable; on Debian udev makes it 0666"
}
