# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The test servers of koker's Bats suite, on 127.0.0.1 only, each on a port that was free:
# a plain docker-registry, a token server (tests/fixtures/token_server.py), a docker-registry
# that asks for its tokens, and a Docker-Hub-like front of that registry
# (tests/fixtures/front.py).  setup_suite.bash calls koker_suite_start once per `bats` run
# and koker_suite_stop at the end; bench/lib.sh uses koker_registry_start and
# koker_suite_stop on their own.
#
# Source this file first: when sourced it sets and exports, for helpers.fixtures.bash and
# helpers.registry.bash too,
#
#   KOKER_TEST_FIXTURES_SRC        tests/fixtures (token_server.py, front.py, mkimage.py)
#   KOKER_TEST_PYTHON              python3 (/usr/bin/python3, else the one in PATH, unless set)
#
# koker_suite_start starts the servers, builds and pushes the fixture images (functions of
# helpers.fixtures.bash, which uses registry_manifest of helpers.registry.bash, so all three
# files must be sourced), and exports (every test sees these):
#
#   KOKER_TEST_REGISTRY            127.0.0.1:PORT   docker-registry, no auth, delete enabled
#   KOKER_TEST_REGISTRY_DIR        its storage root (docker/registry/v2/blobs/sha256/XX/HEX/data)
#   KOKER_TEST_TOKEN_REGISTRY      127.0.0.1:PORT   docker-registry with `auth: token`
#   KOKER_TEST_TOKEN_REGISTRY_DIR  its storage root
#   KOKER_TEST_TOKEN_SERVER        http://127.0.0.1:PORT; the realm is $KOKER_TEST_TOKEN_SERVER/token
#   KOKER_TEST_TOKEN_SERVICE       the `service` the token registry asks for
#   KOKER_TEST_TOKEN_LOG           token server log: `token GET /token?... auth=basic|none user=U -> 200`
#   KOKER_TEST_FRONT               http://127.0.0.1:PORT_A  Docker-Hub-like front of the token
#                                  registry (tests/fixtures/front.py); use it as
#                                  KOKER_REGISTRY_MIRROR=$KOKER_TEST_FRONT
#   KOKER_TEST_FRONT_BLOB          http://localhost:PORT_B  where the front's 307s point
#   KOKER_TEST_FRONT_CONTROL       $KOKER_TEST_FRONT/_control  (POST JSON; see front_control)
#   KOKER_TEST_FRONT_LOG           front log: `A GET /v2/... auth=1 -> 307`, `B GET /blobdata/... auth=0 ...`
#   KOKER_TEST_USER, KOKER_TEST_PASSWORD   koker / s3cret: Basic credentials of the token server
#   KOKER_TEST_FIXTURES, KOKER_TEST_DOCKER_CONFIG   the fixtures: see helpers.fixtures.bash
#   KOKER_TEST_SUITE_DIR           temp dir of all of the above (removed by teardown_suite);
#                                  pids holds `PID NAME` of each server, NAME.log its output
#
# It reads KOKER_TEST_DOCKER_REGISTRY (the registry binary, default docker-registry) and
# KOKER_TEST_KEEP (1: koker_suite_stop keeps the temp dir).
#
# Functions:
#   koker_free_port                        print a TCP port free on 127.0.0.1
#   koker_bg NAME CMD [ARG...]             start a server (sets KOKER_BG_PID)
#   koker_wait_http URL NAME [SECONDS]     wait until the server NAME answers URL
#   koker_registry_start NAME [EXTRA_YAML] a docker-registry (sets KOKER_REPLY to 127.0.0.1:PORT)
#   koker_token_server_start               the token server
#   koker_front_start                      the front of $KOKER_TEST_TOKEN_REGISTRY
#   koker_suite_start                      all of the above, then the fixtures (setup_suite)
#   koker_suite_stop                       kill the servers, remove the temp dir (teardown_suite)

KOKER_TEST_FIXTURES_SRC=$(cd "${BASH_SOURCE[0]%/*}/../fixtures" && pwd)
if [[ -z ${KOKER_TEST_PYTHON:-} ]]; then
    KOKER_TEST_PYTHON=/usr/bin/python3
    [[ -x $KOKER_TEST_PYTHON ]] || KOKER_TEST_PYTHON=$(command -v python3)
fi
export KOKER_TEST_FIXTURES_SRC KOKER_TEST_PYTHON

# ---------------------------------------------------------------- servers

# Print a TCP port that was free on 127.0.0.1 a moment ago.
koker_free_port() {
    "$KOKER_TEST_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# koker_bg NAME CMD [ARG...]: start a server in the background, its output in
# $KOKER_TEST_SUITE_DIR/NAME.log, its pid recorded for koker_suite_stop.  Bats waits for
# fd 3 to close, so the server must not inherit it.
koker_bg() {
    local name=$1
    shift
    "$@" >"$KOKER_TEST_SUITE_DIR/$name.log" 2>&1 </dev/null 3>&- &
    KOKER_BG_PID=$!
    printf '%s %s\n' "$KOKER_BG_PID" "$name" >>"$KOKER_TEST_SUITE_DIR/pids"
}

# koker_wait_http URL NAME [SECONDS]: wait until URL answers any HTTP status, while the
# server NAME (just started by koker_bg) is alive.
koker_wait_http() {
    local url=$1 name=$2 deadline=$((SECONDS + ${3:-20})) code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url") || true
        [[ $code != 000 ]] && return 0
        if ! kill -0 "$KOKER_BG_PID" 2>/dev/null; then
            printf 'koker test: %s exited before answering %s:\n' "$name" "$url" >&2
            cat "$KOKER_TEST_SUITE_DIR/$name.log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            printf 'koker test: %s did not answer %s in time\n' "$name" "$url" >&2
            cat "$KOKER_TEST_SUITE_DIR/$name.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# koker_registry_start NAME [EXTRA_YAML]: run docker-registry with storage in
# $KOKER_TEST_SUITE_DIR/NAME/storage; sets KOKER_REPLY to its 127.0.0.1:PORT.
koker_registry_start() {
    local name=$1 extra=${2:-} dir=$KOKER_TEST_SUITE_DIR/$1 port
    port=$(koker_free_port)
    mkdir -p "$dir/storage"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: koker-test-$name-secret
$extra
EOF
    koker_bg "$name" "${KOKER_TEST_DOCKER_REGISTRY:-docker-registry}" serve "$dir/config.yml"
    koker_wait_http "http://127.0.0.1:$port/v2/" "$name"
    KOKER_REPLY=127.0.0.1:$port
}

koker_token_server_start() {
    local dir=$KOKER_TEST_SUITE_DIR/token port
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=koker-test-token-issuer \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log"
    port=$(koker_free_port)
    export KOKER_TEST_TOKEN_SERVICE=koker-test-registry
    export KOKER_TEST_TOKEN_LOG=$dir/token-requests.log
    : >"$KOKER_TEST_TOKEN_LOG"
    koker_bg token "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/token_server.py" \
        --port "$port" --key "$dir/key.pem" --cert "$dir/cert.pem" \
        --service "$KOKER_TEST_TOKEN_SERVICE" --issuer koker-test-issuer \
        --user "$KOKER_TEST_USER" --password "$KOKER_TEST_PASSWORD" --log "$KOKER_TEST_TOKEN_LOG"
    koker_wait_http "http://127.0.0.1:$port/_log" token
    export KOKER_TEST_TOKEN_SERVER=http://127.0.0.1:$port
}

koker_front_start() {
    local port_a port_b
    port_a=$(koker_free_port)
    port_b=$(koker_free_port)
    while [[ $port_b == "$port_a" ]]; do port_b=$(koker_free_port); done
    export KOKER_TEST_FRONT_LOG=$KOKER_TEST_SUITE_DIR/front-requests.log
    : >"$KOKER_TEST_FRONT_LOG"
    koker_bg front "$KOKER_TEST_PYTHON" "$KOKER_TEST_FIXTURES_SRC/front.py" \
        --port "$port_a" --blob-port "$port_b" --upstream "$KOKER_TEST_TOKEN_REGISTRY" \
        --user "$KOKER_TEST_USER" --password "$KOKER_TEST_PASSWORD" --log "$KOKER_TEST_FRONT_LOG"
    koker_wait_http "http://127.0.0.1:$port_a/_log" front
    export KOKER_TEST_FRONT=http://127.0.0.1:$port_a
    export KOKER_TEST_FRONT_BLOB=http://localhost:$port_b
    export KOKER_TEST_FRONT_CONTROL=$KOKER_TEST_FRONT/_control
}

# Start everything and build the fixtures; called by setup_suite.  On failure, setup_suite
# fails and Bats still runs teardown_suite (koker_suite_stop), which kills what started.
koker_suite_start() {
    local t0=$SECONDS
    KOKER_TEST_SUITE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/koker-test.XXXXXX")
    chmod 0755 "$KOKER_TEST_SUITE_DIR"
    export KOKER_TEST_SUITE_DIR
    : >"$KOKER_TEST_SUITE_DIR/pids"
    export KOKER_TEST_USER=koker KOKER_TEST_PASSWORD=s3cret

    koker_registry_start registry
    export KOKER_TEST_REGISTRY=$KOKER_REPLY
    export KOKER_TEST_REGISTRY_DIR=$KOKER_TEST_SUITE_DIR/registry/storage

    koker_token_server_start
    koker_registry_start token-registry "auth:
  token:
    realm: $KOKER_TEST_TOKEN_SERVER/token
    service: $KOKER_TEST_TOKEN_SERVICE
    issuer: koker-test-issuer
    rootcertbundle: $KOKER_TEST_SUITE_DIR/token/cert.pem"
    export KOKER_TEST_TOKEN_REGISTRY=$KOKER_REPLY
    export KOKER_TEST_TOKEN_REGISTRY_DIR=$KOKER_TEST_SUITE_DIR/token-registry/storage

    koker_front_start
    echo "koker test: servers up in $((SECONDS - t0))s"

    export KOKER_TEST_FIXTURES=$KOKER_TEST_SUITE_DIR/fixtures
    koker_fixtures_build "$KOKER_TEST_FIXTURES"
    echo "koker test: fixtures built in $((SECONDS - t0))s"
    koker_fixtures_push
    koker_docker_config "$KOKER_TEST_SUITE_DIR/docker-home/.docker"
    export KOKER_TEST_DOCKER_CONFIG=$KOKER_TEST_SUITE_DIR/docker-home/.docker
    echo "koker test: fixtures pushed in $((SECONDS - t0))s"
}

# Kill every server koker_suite_start started (TERM, then KILL after 5 s) and remove its
# temp dir, unless KOKER_TEST_KEEP=1.  Safe to call after a failed or partial start.
koker_suite_stop() {
    local dir=${KOKER_TEST_SUITE_DIR:-} pid name i
    [[ -n $dir && -d $dir ]] || return 0
    local -a pids=()
    if [[ -f $dir/pids ]]; then
        while read -r pid name; do
            kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
        done <"$dir/pids"
    fi
    for ((i = 0; i < 50; i++)); do
        local alive=()
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive+=("$pid")
        done
        ((${#alive[@]} == 0)) && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${KOKER_TEST_KEEP:-} == 1 ]]; then
        echo "koker test: keeping $dir" >&2
    else
        rm -rf --one-file-system "$dir"
    fi
}
