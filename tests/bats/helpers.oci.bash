# shellcheck shell=bash
# For the koker-oci suites (load helpers, then load helpers.oci): a bundle of the fixture
# rootfs with `koker-oci spec`'s config, koker-oci with a root of the test's own, and the
# clean-up of every container left in it.

# oci_bundle: OCI (koker-oci with its own --root) and BUNDLE (rootfs/ and config.json).
oci_bundle() {
    OCI=(koker-oci --root "$BATS_TEST_TMPDIR/oci")
    BUNDLE=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$BUNDLE"
    cp -a "$KOKER_TEST_FIXTURES/rootfs" "$BUNDLE/rootfs"
    koker-oci spec --bundle "$BUNDLE"
}

# oci_delete_all: delete --force of every container in the test's root, for teardown.
oci_delete_all() {
    local id
    for id in $("${OCI[@]}" list -q 2>/dev/null); do
        "${OCI[@]}" delete --force "$id" || echo "# teardown: delete $id failed" >&2
    done
}

# oci_config JQ_ARGS...: rewrites the bundle's config.json with jq (a filter and its
# --arg/--argjson options, in any order).
oci_config() {
    jq "$@" "$BUNDLE/config.json" >"$BUNDLE/config.new"
    mv "$BUNDLE/config.new" "$BUNDLE/config.json"
}

# oci_detached ARGS...: koker-oci ARGS (create, run -d) with its output in
# $BATS_TEST_TMPDIR/create.out and create.err: the init keeps the descriptors it was given
# (they are the container's stdio, as conmon's pipes are), so $(...) would wait for it.
oci_detached() {
    "${OCI[@]}" "$@" </dev/null >"$BATS_TEST_TMPDIR/create.out" 2>"$BATS_TEST_TMPDIR/create.err"
}
