# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The unprivileged test user of the rootless tests (46-rootless, 48-rootless-oci), made by
# setup_file and removed by teardown_file even after a failure:
#
#   rootless_users_make [norange]  useradd RL_USER with the range RL_SUBID_START:RL_SUBID_COUNT
#                                  in /etc/subuid and /etc/subgid (and, with norange, a second
#                                  user RL_NORANGE with none); exports RL_USER, RL_HOME, RL_UID
#                                  and RL_XDG (a private 0700 XDG_RUNTIME_DIR of the user's)
#   rootless_users_remove          their processes, those running as the subordinate ids, mounts
#                                  under their homes, the users and homes, their lines in
#                                  /etc/subuid and /etc/subgid, /tmp/koker-UID and RL_XDG
#   as_user [USER] TOOL ARGS...    a koker tool run by the user (see below)
#   run_as USER CMD...             any command run by USER, with the same clean environment
#   dev_mode DEV MODE, restore_dev_modes   a device's mode for a test, given back in teardown

# A range of ids far above the host's own users and below nobody's, apart from podman's
# usual 100000 (a user's own setup may already use it); KOKER_TEST_SUBID_START moves it, so
# that two runs side by side do not kill each other's containers.
RL_SUBID_START=${KOKER_TEST_SUBID_START:-300000}
RL_SUBID_COUNT=65536

rootless_users_make() {
    [[ $(id -u) == 0 ]] || skip "creates a test user: run as root"
    command -v newuidmap >/dev/null || skip "newuidmap is missing (uidmap package)"
    RL_USER=kokerrl$$
    RL_NORANGE=
    [[ ${1:-} != norange ]] || RL_NORANGE=kokerrn$$
    export RL_USER RL_NORANGE
    # Noted first, so that rootless_users_remove removes whatever was made, however far this gets.
    printf '%s\n' "$RL_USER" $RL_NORANGE >"$BATS_FILE_TMPDIR/users"
    useradd -m -s /bin/sh "$RL_USER"
    [[ -z $RL_NORANGE ]] || useradd -M -d /nonexistent -s /bin/sh "$RL_NORANGE"
    # useradd gives each a range of its own choice (login.defs SUB_UID_MIN): a known one here,
    # none for the second user.
    sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
    [[ -z $RL_NORANGE ]] || sed -i "/^$RL_NORANGE:/d" /etc/subuid /etc/subgid
    echo "$RL_USER:$RL_SUBID_START:$RL_SUBID_COUNT" >>/etc/subuid
    echo "$RL_USER:$RL_SUBID_START:$RL_SUBID_COUNT" >>/etc/subgid
    RL_HOME=$(getent passwd "$RL_USER" | cut -d: -f6)
    RL_UID=$(id -u "$RL_USER")
    # As a login session would give it (pam_systemd's /run/user/UID), private to the user.
    RL_XDG=/tmp/koker-test-xdg-$RL_UID
    install -d -m 0700 -o "$RL_USER" -g "$RL_USER" "$RL_XDG"
    export RL_HOME RL_UID RL_XDG
}

rootless_users_remove() {
    local u uid
    [[ -f $BATS_FILE_TMPDIR/users ]] || return 0
    while read -r u; do
        id "$u" >/dev/null 2>&1 || continue
        uid=$(id -u "$u")
        pkill -KILL -u "$u" 2>/dev/null || true
        # the processes of its containers run as its subordinate ids
        # (pkill takes no range of ids)
        ps -e -o pid= -o uid= | awk -v a="$RL_SUBID_START" -v b="$((RL_SUBID_START + RL_SUBID_COUNT - 1))" \
            '$2 >= a && $2 <= b { print $1 }' | xargs -r kill -KILL 2>/dev/null || true
        sleep 0.2
        # mounts live in the user's own mount namespaces, gone with its processes; any under
        # its home on the host's side would be a bug, and go too
        awk -v h="/home/$u" 'index($5, h) == 1 { print $5 }' /proc/self/mountinfo |
            sort -r | while read -r m; do umount -l "$m" || true; done
        userdel -r "$u" 2>/dev/null || userdel "$u" || true
        # podman (48-rootless-oci) leaves its per-uid SHM lock file behind.
        rm -rf "/home/${u:?}" "/tmp/koker-${uid:?}" "/tmp/koker-test-xdg-${uid:?}" \
            "/dev/shm/libpod_rootless_lock_${uid:?}"
        sed -i "/^$u:/d" /etc/subuid /etc/subgid
    done <"$BATS_FILE_TMPDIR/users"
}

# run_as USER CMD...: CMD run by USER with a clean environment: its own HOME, no KOKER_ROOT
# (the rootless default store), Docker Hub never reached, the tree's tools first on PATH;
# KOKER_DEBUG and KOKER_ROOTLESS_OVERLAY passed on.
run_as() {
    local user=$1
    shift
    runuser -u "$user" -- env -i HOME="$(getent passwd "$user" | cut -d: -f6)" \
        PATH="$KOKER_BINDIR:/usr/sbin:/usr/bin:/sbin:/bin" \
        KOKER_REGISTRY_MIRROR=http://127.0.0.1:9 ${KOKER_DEBUG:+KOKER_DEBUG=1} \
        ${KOKER_ROOTLESS_OVERLAY:+KOKER_ROOTLESS_OVERLAY=$KOKER_ROOTLESS_OVERLAY} "$@"
}

# as_user [USER] TOOL ARGS...: a koker tool run by the test user, or by USER when the first
# word is not a tool.
as_user() {
    local user=$RL_USER
    if [[ $1 != koker-* ]]; then
        user=$1
        shift
    fi
    run_as "$user" "$@"
}

# /dev/net/tun and /dev/fuse as this VM has them (0600) and as a Debian host's udev makes them
# (0666): set for the test, given back by restore_dev_modes (teardown) even after a failure.
dev_mode() {
    local dev=$1 mode=$2 saved
    saved=$BATS_FILE_TMPDIR/mode-${dev//\//_}
    [[ -e $saved ]] || stat -c %a "$dev" >"$saved"
    chmod "$mode" "$dev"
}
restore_dev_modes() {
    local saved dev
    for saved in "$BATS_FILE_TMPDIR"/mode-*; do
        [[ -e $saved ]] || continue
        dev=${saved#"$BATS_FILE_TMPDIR"/mode-}
        chmod "$(cat "$saved")" "${dev//_//}"
        rm -f "$saved"
    done
}
