# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# buildah as the oracle of koker build (load helpers, then load helpers.buildah): Debian's
# buildah with a store, run dir and temp dir of the test's own, nothing of the host's,
# removed whole at teardown.  Builds run with `--isolation chroot` (no runtime, no network
# setup) and pull their base images from the suite's registry over plain HTTP.
#
#   buildah_setup                  sets BUILDAH (the command with its options); skips the test
#                                  when buildah is not installed
#   buildah_bud ARGS... CONTEXT    buildah bud --isolation chroot --tls-verify=false ARGS;
#                                  the image ID on stdout, buildah's output in $BH/bud.log
#   buildah_config IMAGE           the image's OCI config (.config of the config blob), with
#                                  buildah's own io.buildah.version label taken out
#   buildah_rootfs IMAGE DIR       the image's file system copied to DIR (through a working
#                                  container and `buildah mount`, both removed after)
#   buildah_teardown               removes its containers, images and store
#
# KOKER_TEST_BUILDAH_DRIVER picks the storage driver (default: overlay where the kernel
# has it, else vfs).  buildah needs no ulimit flags here: podman's quirk (the nofile and
# nproc limits of its OCI runtime) does not arise with chroot isolation.

buildah_setup() {
    command -v buildah >/dev/null || skip "buildah is not installed (make deps-test)"
    BH=$BATS_TEST_TMPDIR/buildah
    mkdir -p "$BH/root" "$BH/runroot" "$BH/tmp"
    local driver=${KOKER_TEST_BUILDAH_DRIVER:-}
    if [[ -z $driver ]]; then
        driver=vfs
        grep -qw overlay /proc/filesystems && driver=overlay
    fi
    # Its own registries.conf: no search registries, no mirrors of the host's.
    printf 'unqualified-search-registries = []\n' >"$BH/registries.conf"
    BUILDAH=(env "CONTAINERS_REGISTRIES_CONF=$BH/registries.conf" "TMPDIR=$BH/tmp"
        "$(command -v buildah)" --root "$BH/root" --runroot "$BH/runroot" --storage-driver "$driver")
}

buildah_bud() {
    local ctx=${*: -1}
    "${BUILDAH[@]}" bud --isolation chroot --tls-verify=false --iidfile "$BH/iid" \
        "${@:1:$#-1}" "$ctx" >"$BH/bud.log" 2>&1 || {
        cat "$BH/bud.log" >&2
        return 1
    }
    cat "$BH/iid"
}

buildah_config() {
    "${BUILDAH[@]}" inspect --type image "$1" |
        jq -c '.OCIv1.config | .Labels |= ((. // {}) | del(.["io.buildah.version"]))
               | if .Labels == {} then del(.Labels) else . end'
}

buildah_rootfs() {
    local image=$1 dir=$2 ctr mnt rc=0
    ctr=$("${BUILDAH[@]}" from -q --pull-never "$image") || return 1
    mnt=$("${BUILDAH[@]}" mount "$ctr") || rc=1
    if ((rc == 0)); then
        mkdir -p "$dir"
        cp -a "$mnt/." "$dir/" || rc=1
    fi
    "${BUILDAH[@]}" umount "$ctr" >/dev/null || rc=1
    "${BUILDAH[@]}" rm "$ctr" >/dev/null || rc=1
    return "$rc"
}

buildah_teardown() {
    [[ -n ${BH:-} && -d $BH ]] || return 0
    timeout 60 "${BUILDAH[@]}" rm --all >/dev/null 2>&1 ||
        echo "# teardown: buildah rm --all failed" >&2
    timeout 60 "${BUILDAH[@]}" rmi --all --force >/dev/null 2>&1 ||
        echo "# teardown: buildah rmi --all failed" >&2
    _koker_umount_below "$BH"
    chmod -R u+w "$BH" 2>/dev/null
    rm -rf --one-file-system "$BH" || echo "# teardown: cannot remove $BH" >&2
}
