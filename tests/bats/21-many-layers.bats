#!/usr/bin/env bats
# Images of many layers: up to docker's 128 run (their overlay mount names each layer by a
# descriptor, runtime/rootfs.cpp), more are refused when pulled, and rmi takes every layer.
load helpers

# One OCI layout, built once, tagged l60, l128 and l129: the image of N layers is the
# fixture's busybox root file system plus /layer1, then one layer each adding /layerK
# (K = 2..N), all plain tar. The three share their blobs.
setup_file() {
    local k src=$BATS_FILE_TMPDIR/src args=()
    export MANY=$BATS_FILE_TMPDIR/many
    mkdir -p "$src/1"
    cp -a "$KOKER_TEST_FIXTURES/rootfs/." "$src/1/"
    for ((k = 1; k <= 129; k++)); do
        mkdir -p "$src/$k"
        echo "layer $k" >"$src/$k/layer$k"
        args+=(--layer-dir "$src/$k")
        case $k in
        60 | 128 | 129) mkimage "$MANY" "l$k" --compress none "${args[@]}" >/dev/null ;;
        esac
    done
}

setup() {
    koker_setup
    requires root
}

teardown() { koker_teardown; }

layer_count() { # IMAGE: how many layers the store lists for it
    koker-inspect "$1" | jq '.[0].RootFS.Layers | length'
}

@test "koker-run: an image of 60 layers runs, every layer visible" {
    run_koker 0 koker-pull -q --tag many:60 "oci:$MANY:l60"
    assert_equal 60 "$(layer_count many:60)"
    run_koker 0 koker-run --rm --network none many:60 cat /layer1 /layer30 /layer60
    assert_equal $'layer 1\nlayer 30\nlayer 60' "$output"
}

@test "koker-run: an image of 128 layers runs, leaks no descriptor, and rmi takes its layers" {
    run_koker 0 koker-pull -q --tag many:128 "oci:$MANY:l128"
    assert_equal 128 "$(layer_count many:128)"
    assert_equal 128 "$(find "$KOKER_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)"
    run_koker 0 koker-run --rm --network none many:128 cat /layer1 /layer64 /layer128
    assert_equal $'layer 1\nlayer 64\nlayer 128' "$output"
    # The upper layer sits on all 128 and the init layer; the descriptors the mount was given
    # are closed before the command runs (ls's own is 3).
    run_koker 0 koker-run --rm --network none many:128 \
        sh -c 'echo up >/layer1 && cat /layer1 && ls /proc/self/fd'
    assert_equal $'up\n0\n1\n2\n3' "$output"
    run_koker 0 koker-rmi many:128
    [ -z "$(ls -A "$KOKER_ROOT/layers")" ] || { ls -la "$KOKER_ROOT/layers"; false; }
    [ -z "$(ls -A "$KOKER_ROOT/blobs/sha256")" ]
}

@test "koker-run: 128 layers fit one overlay mount however long the store's path is" {
    local long=$BATS_TEST_TMPDIR
    while ((${#long} < 2000)); do long+=/$(printf 'd%.0s' {1..200}); done
    KOKER_ROOT=$long/root run_koker 0 koker-pull -q --tag many:128 "oci:$MANY:l128"
    KOKER_ROOT=$long/root run_koker 0 koker-run --rm --network none many:128 cat /layer128
    assert_equal "layer 128" "$output"
}

@test "koker-pull: an image of 129 layers is refused with one line, and nothing is stored" {
    run_koker 125 koker-pull --tag many:129 "oci:$MANY:l129"
    assert_stderr_match "^koker-pull: fatal: unable to pull oci:$MANY:l129: the image has 129 layers, more than the 128 a container can run$"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [ -z "$output" ]
    [ -z "$(ls -A "$KOKER_ROOT/layers")" ] || { ls -la "$KOKER_ROOT/layers"; false; }
    [ -z "$(ls -A "$KOKER_ROOT/blobs/sha256")" ]
    [ -z "$(ls -A "$KOKER_ROOT/tmp")" ]
    [ ! -e "$KOKER_ROOT/images.json" ] || [ "$(jq '.images | length' "$KOKER_ROOT/images.json")" = 0 ]
}

@test "koker-run: more layers than overlayfs stacks is refused, naming the count" {
    run_koker 0 koker-pull -q --tag many:60 "oci:$MANY:l60"
    # Only a store edited by hand (or a future limit) can hold such an image: list its 60
    # layers nine times over, 540 lower directories with the init layer's.
    jq '.images[0].Layers |= [range(9) as $i | .[]]' "$KOKER_ROOT/images.json" >"$BATS_TEST_TMPDIR/index"
    cp "$BATS_TEST_TMPDIR/index" "$KOKER_ROOT/images.json"
    run_koker 125 koker-run --rm --network none many:60 true
    assert_stderr_match "unable to mount the container's root: 541 lower layers are more than overlayfs stacks \(500\)"
}
