#!/bin/sh
# Installs the Debian packages named as arguments that are not installed yet; does nothing when
# all are there, so `make deps` can run every time.
set -eu
missing=
for pkg in "$@"; do
  status=$(dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
  *" installed") ;;
  *) missing="$missing $pkg" ;;
  esac
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "koker: fatal: missing packages:$missing (run as root, or install them)" >&2
  exit 125
fi
echo "koker: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
