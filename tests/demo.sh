#!/bin/sh
# make demo: an image made offline from the host's busybox-static, imported into the store,
# then a container run from it on the bridge network.
set -eu
cd "$(dirname "$0")/.."
bin=$PWD/bin
[ "$(id -u)" = 0 ] || { echo "koker: fatal: the demo needs root" >&2; exit 125; }
busybox=$(command -v busybox) || { echo "koker: fatal: busybox-static is not installed" >&2; exit 125; }

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

echo "\$ koker image import $rootfs demo/busybox:latest"
"$bin/koker" image import "$rootfs" demo/busybox:latest
echo "\$ koker images"
"$bin/koker" images
# The container runs on the default bridge network (koker0, 10.69.0.0/16), made on first use.
# shellcheck disable=SC2016 # expanded inside the container
cmd='echo "hostname: $(hostname)"; echo "address:  $(ip -4 -o addr show eth0 | awk "{print \$4}")"; echo "hello from a koker container"'
echo "\$ koker run --rm demo/busybox sh -c '...'"
"$bin/koker" run --rm demo/busybox sh -c "$cmd"
echo "(koker image rm demo/busybox removes the image; koker net down removes the bridge and its rules)"
