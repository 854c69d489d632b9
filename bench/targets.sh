# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The benchmarks' targets, defined here and nowhere else; sourced, never run.  bench/all.sh
# checks them in its summary table, and pull.sh, run.sh, exec.sh and scale.sh each in its own
# tables (oci.sh in its own).  A missed target shows as **MISSED**; it is not an error.

# shellcheck disable=SC2034 # read by the scripts that source this file
TARGET_PULL=${BENCH_TARGET:-0.70} # koker-pull's median at most this times podman pull's
TARGET_PULL_ONE=0.5               # pull.sh, the one-layer image: koker-pull at most this times
#                                   podman pull's (issue 21 point 3)
TARGET_PULL_SKOPEO=3              # ... and at most this times skopeo's download and verify
TARGET_RUN_MS=10                  # koker-run --network none: median at most this, in ms
TARGET_BRIDGE_MS=20               # koker-run --network bridge: median at most this, in ms
TARGET_USER_NET=1.5               # koker-run --network NAME (a user-defined network, its
#                                   resolver): median at most this times --network bridge's
TARGET_RUNC=4                     # koker-run's median at most runc run's divided by this
TARGET_RUNC_RATIO=0.12            # issue 21.1: ... and at most this times runc run's
TARGET_FLOOR=4                    # issue 21.1: koker-run --network none at most this times
#                                   bench/floor's start (namespaces, mounts, exec; nothing else)
TARGET_BRIDGE_NONE=1.3            # issue 21.2: --network bridge at most this times --network none
TARGET_EXEC_RUNC=0.1              # issue 21.2: koker-exec at most this times runc exec
TARGET_RUN_RSS_KB=4096            # koker-run's own VmRSS while its container runs: under this
TARGET_EXEC_MS=5                  # koker-exec: median at most this, in ms
TARGET_PRIVATE_KB=512             # a supervisor's private memory (RssAnon; exec.sh also
#                                   Private_Dirty): under this, in KiB; and its VmRSS at most
#                                   conmon's
TARGET_OCI_RUNC=0.25              # oci.sh: `koker-oci run` of a bundle, at most this times `runc run`
TARGET_PODMAN_OCI=1               # oci.sh: podman --runtime koker-oci, under this times with runc
TARGET_BASE=1.05                  # oci.sh: koker-run at most this times the earlier build's
#                                   (KOKER_BENCH_BASE): "not slower", with 5 % for noise
TARGET_PS_MS=50                   # koker-ps with BENCH_SCALE_N (1000) containers running: under
#                                   this, in ms; and no container failed to start
TARGET_INSPECT_MS=5               # koker-inspect NAME with them running: under this, in ms
TARGET_SCALE_GROWTH=1.5           # the start of the last of them at most this times the first's
#                                   (medians of the last and first 50)
TARGET_COMMIT=0.5                 # commit.sh: koker-commit of 50 MB of changes, at most this
#                                   times podman commit's
TARGET_BUILD_UNCACHED=0.5         # build.sh: koker build --no-cache of 3 steps (RUN, COPY, ENV),
#                                   at most this times buildah bud --layers --no-cache
TARGET_BUILD_CACHED=0.2           # build.sh: the same build fully cached, at most this times
#                                   buildah's
TARGET_ROOTLESS_PODMAN=0.1        # rootless.sh (issue 20.9): koker-run --network none as a user,
#                                   at most this times rootless podman run
