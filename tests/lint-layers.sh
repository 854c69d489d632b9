#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks that lib/ is layered as the README's architecture section says: a folder includes
# only itself and the folders below it, and lib/ never includes src/.
#
#   base  <  store  <  image, cgroup, net  <  runtime  <  build  <  src/ (the tools)
#
# image, cgroup and net are side by side: none includes another. Prints one line per
# include that points up or sideways, then "layering: N passed, N failed" (one check per
# file) and exits 1 if any failed.
set -u
cd "$(dirname "$0")/.." || exit 125

# allowed FOLDER: the folders FOLDER's files may include.
allowed() {
  case $1 in
  base) echo "base" ;;
  store) echo "base store" ;;
  image) echo "base store image" ;;
  cgroup) echo "base store cgroup" ;;
  net) echo "base store net" ;;
  runtime) echo "base store image cgroup net runtime" ;;
  build) echo "base store image cgroup net runtime build" ;;
  *) echo "" ;;
  esac
}

passed=0
failed=0
for file in lib/*/*.hpp lib/*/*.cpp lib/*.hpp lib/*.cpp; do
  [ -f "$file" ] || continue
  folder=${file#lib/}
  folder=${folder%%/*}
  case $folder in *.hpp | *.cpp) folder= ;; esac
  ok=$(allowed "$folder")
  bad=0
  if [ -z "$ok" ]; then
    echo "$file: a file of lib/ must live in one of base, store, image, cgroup, net, runtime, build"
    bad=1
  fi
  # Every quoted include names its folder: "base/sys.hpp".
  includes=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
  for inc in $includes; do
    to=${inc%%/*}
    if [ "$to" = "$inc" ]; then
      echo "$file: #include \"$inc\" does not name its folder (want \"FOLDER/$inc\")"
      bad=1
      continue
    fi
    case " $ok " in
    *" $to "*) ;;
    *)
      echo "$file: #include \"$inc\" points up or sideways: $folder may include only: $ok"
      bad=1
      ;;
    esac
  done
  if [ "$bad" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "layering: $passed passed, $failed failed"
[ "$failed" = 0 ]
