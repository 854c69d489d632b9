#!/usr/bin/env bats
# koker build (issue 18): Dockerfiles into images, with docker's classic builder's layer cache.
# Each test builds from a context of its own ($ctx) over koker/one (busybox) pulled from the
# suite's registry; buildah (Debian's, `bud --isolation chroot`) is the oracle for the
# file system and the config, and koker/tcc (koker_make_tcc_rootfs, pushed by setup_file)
# the compiler of the multi-stage project.
load helpers
load helpers.buildah

setup_file() {
    # The compiler fixture, once per file; the tests that need it skip without it.
    [[ -n ${KOKER_TEST_REGISTRY:-} ]] || return 0
    command -v tcc >/dev/null && [[ -f /usr/lib/x86_64-linux-musl/libc.a ]] || return 0
    koker_tcc_layout "$BATS_FILE_TMPDIR/tcc" >&3
    koker_skopeo copy -q --dest-tls-verify=false "oci:$BATS_FILE_TMPDIR/tcc:latest" \
        "docker://$KOKER_TEST_REGISTRY/koker/tcc:latest"
    export KOKER_TEST_TCC=$KOKER_TEST_REGISTRY/koker/tcc:latest
}

setup() {
    koker_setup
    requires root registry
    [[ -x $KOKER_BINDIR/koker-build ]] || skip "no bin/koker-build (make all)"
    BASE=$KOKER_TEST_REGISTRY/koker/one:latest
    koker-pull -q "$BASE" >/dev/null
    BASE_ID=$(koker-inspect --type image "$BASE" | jq -r '.[0].Id')
    ctx=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$ctx"
}

teardown() {
    buildah_teardown
    koker_teardown
}

# ---------------------------------------------------------------- helpers

# dockerfile [FILE]: the Dockerfile (or FILE, in $ctx) from stdin.
dockerfile() { cat >"$ctx/${1:-Dockerfile}"; }

# kbuild [RC] ARGS...: `koker build ARGS...` through run_koker; on success ID is the image.
kbuild() {
    local rc=0
    [[ $1 =~ ^[0-9]+$ ]] && rc=$1 && shift
    run_koker "$rc" koker build "$@" || return
    ID=
    if ((rc == 0)); then
        [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] ||
            _koker_fail "stdout is not one image ID" "sha256:<64 hex>" "$output" || return
        ID=$output
    fi
}

# config IMAGE [FIELD]: the image's Config (docker's inspect), or one field of it, as JSON.
config() { koker-inspect --type image "$1" | jq -cS ".[0].Config${2:+.$2}"; }

# blob_config ID: the image's config blob (history, rootfs, created).
blob_config() { cat "$KOKER_ROOT/blobs/sha256/${1#sha256:}"; }

# in_image IMAGE CMD...: CMD in a container of IMAGE (no network), its output.
in_image() {
    local image=$1
    shift
    koker-run --rm --network none --entrypoint "" "$image" "$@"
}

# cached_steps: the numbers of the steps whose output (in $stderr) says "---> Using cache".
cached_steps() {
    awk '/^STEP [0-9]+\/[0-9]+: / { split($2, a, "/"); step = a[1] }
         /^ ---> Using cache$/ { printf "%s%s", sep, step; sep = " " }
         END { print "" }' <<<"$stderr"
}

# all_images: every image ID in the store, intermediate ones too, sorted.
all_images() { koker-images -a -q --no-trunc | sort -u; }

# assert_clean [TAG]: no container and no mount of the store left, and TAG not in the store.
assert_clean() {
    assert_equal "" "$(koker-ps -a -q)" "containers left behind"
    run ! grep -F " $KOKER_ROOT/" /proc/self/mountinfo
    if [[ -n ${1:-} ]]; then
        run ! koker-inspect --type image "$1"
    fi
}

# rootfs_list DIR: every path below DIR with its mode, owner and size (files) or target
# (symlinks), one a line, sorted: what the oracle compares.
rootfs_list() {
    (cd "$1" && find . -mindepth 1 \( -type f -printf '%p %M %U:%G %s\n' \) -o \
        \( -type l -printf '%p %M %U:%G -> %l\n' \) -o -printf '%p %M %U:%G\n') | LC_ALL=C sort
}

# koker_rootfs IMAGE DIR: the image's file system in DIR, through koker save and umoci (the
# layers as another tool applies them, whiteouts included).
koker_rootfs() {
    koker-save -o "$BATS_TEST_TMPDIR/save.tar" "$1"
    koker_skopeo copy -q "docker-archive:$BATS_TEST_TMPDIR/save.tar" "oci:$BATS_TEST_TMPDIR/layout:img"
    koker_umoci_unpack "$BATS_TEST_TMPDIR/layout:img" "$BATS_TEST_TMPDIR/bundle"
    mv "$BATS_TEST_TMPDIR/bundle/rootfs" "$2"
}

# The config fields the oracle compares, absent and empty alike as null.
ORACLE_FIELDS='{Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal}
    | with_entries(if .value == "" or .value == {} or .value == [] then .value = null else . end)'

# ---------------------------------------------------------------- 1: the command line

@test "koker build: stdout is the image ID alone; stderr has each step, its ID and the tags" {
    dockerfile <<'EOF'
FROM BASE
ENV A=1
RUN echo output-of-run
CMD ["sh"]
EOF
    sed -i "s|BASE|$BASE|" "$ctx/Dockerfile"
    kbuild -t mine:v1 -t other "$ctx"
    assert_equal 1 "${#lines[@]}" "stdout has more than the ID"
    assert_equal "STEP 1/4: FROM $BASE" "${stderr_lines[0]}"
    grep -qx 'STEP 2/4: ENV A=1' <<<"$stderr"
    grep -qx 'STEP 3/4: RUN echo output-of-run' <<<"$stderr"
    grep -qx 'STEP 4/4: CMD \["sh"\]' <<<"$stderr"
    # the RUN's output comes between its STEP line and the next one
    assert_equal output-of-run "$(sed -n '/^STEP 3\/4/,/^STEP 4\/4/p' <<<"$stderr" | grep -x output-of-run)"
    # one ID line per step (FROM's is the base's, as docker's), each an image of the store;
    # the last is the result
    mapfile -t steps < <(sed -n 's/^ ---> \([0-9a-f]\{12\}\)$/\1/p' <<<"$stderr")
    assert_equal 4 "${#steps[@]}" "one ' ---> ID' line per step"
    assert_equal "${BASE_ID:7:12}" "${steps[0]}"
    assert_equal "${ID:7:12}" "${steps[3]}"
    for s in "${steps[@]}"; do all_images | grep -q "^sha256:$s"; done
    grep -qx "Successfully built ${ID:7:12}" <<<"$stderr"
    grep -qx 'Successfully tagged mine:v1' <<<"$stderr"
    grep -qx 'Successfully tagged other:latest' <<<"$stderr"
    assert_equal "$ID" "$(koker-inspect --type image mine:v1 | jq -r '.[0].Id')"
    assert_equal "$ID" "$(koker-inspect --type image other:latest | jq -r '.[0].Id')"
    # `koker image build` is the same tool
    run_koker 0 koker image build -q "$ctx"
    assert_equal "$ID" "$output"
}

@test "koker build -q: the ID alone, nothing on stderr, not even the RUN's output; --iidfile" {
    printf 'FROM %s\nRUN echo noisy; echo noisy >&2\n' "$BASE" | dockerfile
    kbuild -q --iidfile "$BATS_TEST_TMPDIR/iid" -t quiet "$ctx"
    assert_equal "" "$stderr"
    assert_equal "$ID" "$(cat "$BATS_TEST_TMPDIR/iid")"
    assert_equal "$ID" "$(koker-inspect --type image quiet | jq -r '.[0].Id')"
}

@test "koker build: Dockerfile, else Containerfile; -f relative to the working directory" {
    printf 'FROM %s\nLABEL from=containerfile\n' "$BASE" | dockerfile Containerfile
    kbuild -q "$ctx"
    assert_equal '"containerfile"' "$(config "$ID" Labels.from)"
    printf 'FROM %s\nLABEL from=dockerfile\n' "$BASE" | dockerfile Dockerfile
    kbuild -q "$ctx"
    assert_equal '"dockerfile"' "$(config "$ID" Labels.from)"
    mkdir -p "$BATS_TEST_TMPDIR/elsewhere/sub"
    printf 'FROM %s\nLABEL from=minus-f\nCOPY f /f\n' "$BASE" >"$BATS_TEST_TMPDIR/elsewhere/sub/Build.file"
    echo in-context >"$ctx/f"
    cd "$BATS_TEST_TMPDIR/elsewhere"
    kbuild -q -f sub/Build.file "$ctx"
    assert_equal '"minus-f"' "$(config "$ID" Labels.from)"
    assert_equal in-context "$(in_image "$ID" cat /f)"
    # a -f that is not there is an error naming it
    kbuild 125 -f nothere "$ctx"
    assert_stderr_match nothere
    # a context with neither file
    mkdir "$BATS_TEST_TMPDIR/empty"
    kbuild 125 "$BATS_TEST_TMPDIR/empty"
    assert_equal 1 "${#stderr_lines[@]}" "one line of error"
}

@test "koker build -: the Dockerfile from stdin, with no context to COPY from" {
    run_koker 0 koker build -q - <<<"FROM $BASE
LABEL from=stdin
RUN echo hi >/from-stdin"
    assert_equal '"stdin"' "$(config "$output" Labels.from)"
    assert_equal hi "$(in_image "$output" cat /from-stdin)"
    run_koker 125 koker build -t nope - <<<"FROM $BASE
COPY f /f"
    assert_stderr_match 'f'
    assert_clean nope:latest
}

@test "koker build --build-arg and --label: values in RUN and in the config" {
    dockerfile <<EOF
FROM $BASE
ARG WHO=default
ARG UNSET
LABEL who=\$WHO
RUN echo "who=\$WHO unset=\${UNSET:-none}" >/who
EOF
    kbuild -q "$ctx"
    assert_equal "who=default unset=none" "$(in_image "$ID" cat /who)"
    kbuild -q --build-arg WHO=arg --build-arg UNSET=set --label extra=1 --label who=overridden "$ctx"
    assert_equal "who=arg unset=set" "$(in_image "$ID" cat /who)"
    # --label is applied last, over the Dockerfile's LABEL, as docker does
    assert_equal '{"extra":"1","who":"overridden"}' "$(config "$ID" Labels)"
    # ARGs are not kept in the image
    run ! grep -q WHO <<<"$(config "$ID" Env)"
}

@test "koker build --pull: the base image is pulled again, not taken from the store" {
    local name=$KOKER_TEST_REGISTRY/build45/pull-$$:latest
    koker_skopeo copy -q --dest-tls-verify=false "oci:$KOKER_TEST_FIXTURES/one:latest" "docker://$name"
    koker-pull -q "$name" >/dev/null
    # the registry's image changes under the same name: three has /hello
    koker_skopeo copy -q --dest-tls-verify=false "oci:$KOKER_TEST_FIXTURES/three:latest" "docker://$name"
    # (USER 0: three's user is koker, who cannot write to /)
    printf 'FROM %s\nUSER 0\nRUN test -e /hello && echo new >/which || echo old >/which\n' "$name" | dockerfile
    kbuild -q "$ctx"
    assert_equal old "$(in_image "$ID" cat /which)"
    kbuild -q --pull "$ctx"
    assert_equal new "$(in_image "$ID" cat /which)"
}

@test "koker build --network none|bridge|host: the RUN steps' network" {
    requires netns
    # /proc/net/dev lists the interfaces of the reader's network namespace
    printf 'FROM %s\nRUN sed 1,2d /proc/net/dev | cut -d: -f1 | tr -d " " | sort >/nets\n' "$BASE" | dockerfile
    kbuild -q --network none "$ctx"
    assert_equal lo "$(in_image "$ID" cat /nets)"
    kbuild -q --no-cache "$ctx"
    assert_equal "eth0
lo" "$(in_image "$ID" cat /nets)" "the default is the bridge"
    kbuild -q --no-cache --network bridge "$ctx"
    assert_equal "eth0
lo" "$(in_image "$ID" cat /nets)"
    # the host's interfaces: one made for the test is among them (a veth: no dummy module here)
    ip link add kbt45a type veth peer name kbt45b
    koker_cleanup_later link kbt45a
    kbuild -q --no-cache --network host "$ctx"
    in_image "$ID" cat /nets | grep -qx kbt45a
    kbuild 125 --network bogus "$ctx"
    assert_stderr_match bogus
}

# ---------------------------------------------------------------- 2: the parser

@test "koker build: parser: any case, comments, continuations with comments inside, directives" {
    dockerfile <<EOF
# syntax=docker/dockerfile:1
# escape=\`
from $BASE
# escape=\\ here is a comment: directives end at the first other line
# a comment
  # an indented comment
env A=1 \`
    B=2
Run echo one \`
# a comment inside the continuation
    two \`

    three >/words
LABEL path=C:\\dir
EOF
    kbuild -q "$ctx"
    assert_equal "one two three" "$(in_image "$ID" cat /words)"
    config "$ID" Env | jq -e 'index("A=1") and index("B=2")' >/dev/null
    assert_equal '"C:\\dir"' "$(config "$ID" Labels.path)"
}

@test "koker build: substitution where docker substitutes; RUN and CMD left to the shell" {
    dockerfile <<'EOF'
FROM BASE_IMAGE
ARG DIR=/srv
ENV NAME=app EMPTY=
ENV FULL=${DIR}/$NAME DEF=${UNSET:-fallback} ALT=${NAME:+set} NOALT=${EMPTY:+set} Q='$NAME'
WORKDIR $DIR/${NAME}
COPY f ${NAME}.txt
LABEL at=$FULL
USER ${UNSET:-1000}
EXPOSE ${PORT:-8080}
RUN echo "$NAME" >/tmp/run-sees
CMD ["echo", "$NAME"]
ENTRYPOINT echo $NAME
EOF
    sed -i "s|BASE_IMAGE|$BASE|" "$ctx/Dockerfile"
    echo content >"$ctx/f"
    kbuild -q "$ctx"
    c=$(config "$ID")
    jq -e '.Env | index("FULL=/srv/app") and index("DEF=fallback") and index("ALT=set")
        and index("NOALT=") and index("Q=$NAME")' <<<"$c" >/dev/null
    assert_equal '"/srv/app"' "$(jq -c .WorkingDir <<<"$c")"
    assert_equal '"/srv/app"' "$(jq -c .Labels.at <<<"$c")"
    assert_equal '"1000"' "$(jq -c .User <<<"$c")"
    assert_equal '{"8080/tcp":{}}' "$(jq -c .ExposedPorts <<<"$c")"
    assert_equal '["echo","$NAME"]' "$(jq -c .Cmd <<<"$c")"
    assert_equal '["/bin/sh","-c","echo $NAME"]' "$(jq -c .Entrypoint <<<"$c")"
    assert_equal content "$(in_image "$ID" cat /srv/app/app.txt)"
    assert_equal app "$(in_image "$ID" cat /tmp/run-sees)"
}

@test "koker build: a syntax error names the file and line, exits 125, builds nothing" {
    before=$(all_images)
    printf 'FROM %s\nRUN echo fine\nRUNN echo typo\n' "$BASE" | dockerfile
    kbuild 125 -t nope "$ctx"
    assert_equal 1 "${#stderr_lines[@]}" "one line of error"
    # (koker's tools put their name first: "koker-build: fatal: Dockerfile:3: ...")
    assert_stderr_match '(^|: )Dockerfile:3: .*RUNN'
    refute_stderr_match 'STEP'
    assert_equal "$before" "$(all_images)" "an image was made before the parse error"
    assert_clean nope:latest
    # the name is the file's, with -f
    printf 'FROM %s\nENV\n' "$BASE" | dockerfile Other
    kbuild 125 -f "$ctx/Other" "$ctx"
    assert_stderr_match 'Other:2: .*ENV'
}

# ---------------------------------------------------------------- 3: the instructions

@test "koker build: FROM scratch, FROM ... AS, and an ARG before FROM used in FROM" {
    cp /bin/busybox "$ctx/busybox"
    dockerfile <<'EOF'
ARG IMAGE=nothing
FROM scratch AS bare
COPY busybox /bin/busybox
FROM ${IMAGE} AS withbase
RUN echo from-base >/mark
EOF
    kbuild -q --target bare "$ctx"
    assert_equal 1 "$(blob_config "$ID" | jq '.rootfs.diff_ids | length')" "scratch: one layer"
    assert_equal hi "$(koker-run --rm --network none "$ID" /bin/busybox echo hi)"
    kbuild -q --build-arg IMAGE="$BASE" "$ctx"
    assert_equal from-base "$(in_image "$ID" cat /mark)"
    # the global ARG is not seen inside a stage unless declared again
    printf 'ARG G=global\nFROM %s\nRUN echo "[$G]" >/g1\nARG G\nRUN echo "[$G]" >/g2\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    assert_equal "[]
[global]" "$(in_image "$ID" cat /g1 /g2)"
}

@test "koker build: ARG scope per stage and the predefined proxy args" {
    dockerfile <<EOF
FROM $BASE AS one
ARG A=in-one
RUN echo "\$A" >/a
FROM $BASE
COPY --from=one /a /a-from-one
RUN echo "[\$A] [\$HTTP_PROXY] [\$no_proxy]" >/b
EOF
    kbuild -q --build-arg HTTP_PROXY=http://proxy.invalid:3128 --build-arg no_proxy=local "$ctx"
    assert_equal in-one "$(in_image "$ID" cat /a-from-one)"
    assert_equal "[] [http://proxy.invalid:3128] [local]" "$(in_image "$ID" cat /b)"
    # the proxy args are not kept in the image
    run ! grep -qi proxy <<<"$(config "$ID" Env)"
}

@test "koker build: ENV (several pairs, the legacy form), LABEL merged, WORKDIR, USER" {
    dockerfile <<EOF
FROM $BASE
ENV A=1 B="two words" C=three\ words
ENV LEGACY the rest of the line
LABEL one=1 "two"="2"
LABEL one=uno
WORKDIR /w
WORKDIR rel/ative
RUN pwd >/pwd-run && echo "\$B|\$C|\$LEGACY" >/env-run
USER koker
RUN id -u >/tmp/uid
USER 1000:2000
EOF
    kbuild -q "$ctx"
    c=$(config "$ID")
    jq -e '.Env | index("A=1") and index("B=two words") and index("C=three words")
        and index("LEGACY=the rest of the line")' <<<"$c" >/dev/null
    assert_equal '{"one":"uno","two":"2"}' "$(jq -cS .Labels <<<"$c")"
    assert_equal '"/w/rel/ative"' "$(jq -c .WorkingDir <<<"$c")"
    assert_equal '"1000:2000"' "$(jq -c .User <<<"$c")"
    assert_equal "/w/rel/ative
two words|three words|the rest of the line
1000" "$(in_image "$ID" cat /pwd-run /env-run /tmp/uid)"
    # WORKDIR made the directory, root's
    assert_equal "directory 0:0" "$(in_image "$ID" stat -c '%F %u:%g' /w/rel/ative)"
}

@test "koker build: RUN in shell form through SHELL, in exec form, with the stage's env" {
    dockerfile <<EOF
FROM $BASE
ENV GREETING=hi
RUN echo "\$0 \$GREETING" >/default-shell
SHELL ["/bin/sh", "-xc"]
RUN echo traced 2>/dev/null >/traced
RUN ["/bin/sh", "-c", "echo exec \$GREETING >/exec"]
RUN ["echo", "\$GREETING"]
EOF
    kbuild "$ctx"
    assert_equal "/bin/sh hi" "$(in_image "$ID" cat /default-shell)"
    assert_equal traced "$(in_image "$ID" cat /traced)"
    # sh -x traced the command on stderr, which the build streams
    assert_stderr_match '\+ echo traced'
    assert_equal "exec hi" "$(in_image "$ID" cat /exec)"
    # exec form runs no shell: $GREETING stays as written
    grep -qx '$GREETING' <<<"$stderr"
    assert_equal '["/bin/sh","-xc"]' "$(config "$ID" Shell)"
}

@test "koker build: COPY globs, directory contents, the destination's trailing slash" {
    mkdir -p "$ctx/dir/sub" "$ctx/more"
    echo 1 >"$ctx/a1.txt"
    echo 2 >"$ctx/a2.txt"
    echo 3 >"$ctx/b.txt"
    echo x >"$ctx/ax.md"
    echo d >"$ctx/dir/d"
    echo s >"$ctx/dir/sub/s"
    echo m >"$ctx/more/m"
    dockerfile <<EOF
FROM $BASE
COPY a?.txt /q/
COPY *.txt /star/
COPY [ab]*.md /class/
COPY dir /contents
COPY dir/ more /merged/
COPY b.txt /asfile
COPY b.txt /indir/
WORKDIR /wd
COPY b.txt rel/
EOF
    kbuild -q "$ctx"
    run_koker 0 koker-run --rm --network none "$ID" sh -c \
        'cd /; find q star class contents merged asfile indir wd -print | sort; test -f asfile && echo file'
    assert_equal "asfile
class
class/ax.md
contents
contents/d
contents/sub
contents/sub/s
indir
indir/b.txt
merged
merged/d
merged/m
merged/sub
merged/sub/s
q
q/a1.txt
q/a2.txt
star
star/a1.txt
star/a2.txt
star/b.txt
wd
wd/rel
wd/rel/b.txt
file" "$output"
    # several sources need a directory destination
    printf 'FROM %s\nCOPY a1.txt a2.txt /notadir\n' "$BASE" | dockerfile
    kbuild 125 "$ctx"
    # a glob that matches nothing
    printf 'FROM %s\nCOPY *.none /x/\n' "$BASE" | dockerfile
    kbuild 125 "$ctx"
}

@test "koker build: COPY --chown (numeric, by name from the stage's passwd and group), --chmod" {
    mkdir -p "$ctx/d"
    echo f >"$ctx/f"
    echo g >"$ctx/d/g"
    chmod 0600 "$ctx/f"
    chown 123:456 "$ctx/f"
    dockerfile <<EOF
FROM $BASE
COPY f /plain
COPY --chown=1000:2000 f /numeric
COPY --chown=koker:extra d /named
COPY --chown=koker f /useronly
COPY --chmod=0741 f /chmod
COPY --chown=1000 --chmod=750 d /both
EOF
    kbuild -q "$ctx"
    run_koker 0 koker-run --rm --network none "$ID" \
        stat -c '%n %a %u:%g' /plain /numeric /named /named/g /useronly /chmod /both /both/g
    # without --chown the owner is root (docker), the mode is kept; --chmod of a directory's
    # contents leaves the destination directory's mode alone (buildah 1.28 alike)
    assert_equal "/plain 600 0:0
/numeric 600 1000:2000
/named 755 1000:2000
/named/g 644 1000:2000
/useronly 600 1000:1000
/chmod 741 0:0
/both 755 1000:1000
/both/g 750 1000:1000" "$output"
    # a name the stage does not know
    printf 'FROM %s\nCOPY --chown=nosuchuser f /f\n' "$BASE" | dockerfile
    kbuild 125 "$ctx"
    assert_stderr_match nosuchuser
}

@test "koker build: ADD of a local tar extracts it (gzip, bzip2, xz, zstd, by content); other files are copied" {
    mkdir -p "$BATS_TEST_TMPDIR/t/dir"
    echo inside >"$BATS_TEST_TMPDIR/t/dir/file"
    tar -C "$BATS_TEST_TMPDIR/t" --owner=0 --group=0 -cf "$ctx/plain.tar" dir
    gzip -c "$ctx/plain.tar" >"$ctx/gz.bin"
    bzip2 -c "$ctx/plain.tar" >"$ctx/arch.bz2"
    xz -c "$ctx/plain.tar" >"$ctx/arch.xz"
    zstd -q -c "$ctx/plain.tar" >"$ctx/noext"
    echo 'not a tar' >"$ctx/text.tar.gz"
    dockerfile <<EOF
FROM $BASE
ADD plain.tar /plain/
ADD gz.bin /gz/
ADD arch.bz2 /bz2/
ADD arch.xz /xz/
ADD noext /zstd/
ADD text.tar.gz /copied/
EOF
    kbuild -q "$ctx"
    run_koker 0 koker-run --rm --network none "$ID" \
        cat /plain/dir/file /gz/dir/file /bz2/dir/file /xz/dir/file /zstd/dir/file /copied/text.tar.gz
    assert_equal "inside
inside
inside
inside
inside
not a tar" "$output"
    # COPY does not extract
    printf 'FROM %s\nCOPY gz.bin /gz.bin\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    assert_equal "$(stat -c %s "$ctx/gz.bin")" "$(in_image "$ID" stat -c %s /gz.bin)"
}

@test "koker build: CMD, ENTRYPOINT, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD in the config" {
    dockerfile <<EOF
FROM $BASE
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo from-cmd"]
EXPOSE 80 53/udp 8080/tcp
VOLUME ["/data", "/other"]
VOLUME /more /andmore
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=4 CMD test -e /ok
ONBUILD RUN echo triggered >/onbuild
EOF
    kbuild -q -t parent "$ctx"
    c=$(config "$ID")
    assert_equal '["/bin/sh","-c"]' "$(jq -c .Entrypoint <<<"$c")"
    assert_equal '["echo from-cmd"]' "$(jq -c .Cmd <<<"$c")"
    assert_equal '{"53/udp":{},"80/tcp":{},"8080/tcp":{}}' "$(jq -cS .ExposedPorts <<<"$c")"
    jq -e '.Volumes | keys == ["/andmore", "/data", "/more", "/other"]' <<<"$c" >/dev/null
    assert_equal '"SIGUSR1"' "$(jq -c .StopSignal <<<"$c")"
    assert_equal '{"Interval":5000000000,"Retries":4,"StartPeriod":1000000000,"Test":["CMD-SHELL","test -e /ok"],"Timeout":2000000000}' \
        "$(jq -cS .Healthcheck <<<"$c")"
    assert_equal '["RUN echo triggered >/onbuild"]' "$(jq -c .OnBuild <<<"$c")"
    run_koker 0 koker-run --rm --network none parent
    assert_equal from-cmd "$output"
    # ENTRYPOINT drops the CMD the base image had (koker/one: sh), not one of this Dockerfile
    printf 'FROM %s\nENTRYPOINT ["true"]\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    assert_equal null "$(config "$ID" Cmd)"
    printf 'FROM %s\nCMD ["x"]\nENTRYPOINT ["true"]\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    assert_equal '["x"]' "$(config "$ID" Cmd)"
    # the trigger runs in a build FROM the image, and is not passed further down
    printf 'FROM parent\nRUN cat /onbuild >/seen\n' | dockerfile
    kbuild -q -t child "$ctx"
    assert_equal triggered "$(in_image child cat /seen)"
    assert_equal null "$(config child OnBuild)"
    # HEALTHCHECK NONE
    printf 'FROM parent\nHEALTHCHECK NONE\n' | dockerfile
    kbuild -q "$ctx"
    assert_equal '["NONE"]' "$(config "$ID" Healthcheck.Test)"
}

# ---------------------------------------------------------------- multi-stage

@test "koker build: multi-stage: COPY --from a stage by name and by index, and from an image" {
    dockerfile <<EOF
FROM $BASE AS first
RUN mkdir /out && echo one >/out/one && ln -s one /out/link
FROM $BASE
RUN echo two >/two
FROM $BASE AS last
COPY --from=first /out /from-name
COPY --from=1 /two /from-index
COPY --from=$KOKER_TEST_REGISTRY/koker/three:latest /hello /from-image
EOF
    kbuild -q "$ctx"
    run_koker 0 koker-run --rm --network none "$ID" sh -c \
        'cat /from-name/one /from-index /from-image; readlink /from-name/link; test -L /from-name/link && echo L'
    assert_equal "one
two
hello from layer 3
one
L" "$output"
    # only the last stage's layers are in the image: base + 3 COPY
    assert_equal $(($(blob_config "$BASE_ID" | jq '.rootfs.diff_ids | length') + 3)) \
        "$(blob_config "$ID" | jq '.rootfs.diff_ids | length')"
    # FROM an earlier stage
    printf 'FROM %s AS a\nRUN echo a >/a\nFROM a\nRUN cat /a >/b\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    assert_equal a "$(in_image "$ID" cat /b)"
}

@test "koker build --target: the stage named, and only the stages it needs; others are skipped" {
    dockerfile <<EOF
FROM $BASE AS broken
RUN false
FROM $BASE AS dep
RUN echo dep >/dep
FROM $BASE AS wanted
COPY --from=dep /dep /dep
RUN echo wanted >/wanted
FROM $BASE AS after
RUN false
EOF
    kbuild --target wanted "$ctx"
    assert_equal "dep
wanted" "$(in_image "$ID" cat /dep /wanted)"
    refute_stderr_match 'RUN false'
    kbuild 125 --target nosuchstage "$ctx"
    assert_stderr_match nosuchstage
    # without --target: the last stage, whose RUN false fails the build
    kbuild 1 "$ctx"
    # a stage nobody needs is skipped even when it would fail
    printf 'FROM %s AS unused\nRUN false\nFROM %s\nRUN echo ok >/ok\n' "$BASE" "$BASE" | dockerfile
    kbuild "$ctx"
    refute_stderr_match 'RUN false'
    assert_equal ok "$(in_image "$ID" cat /ok)"
}

@test "koker build: a real project's shape: stage 1 compiles hello.c with tcc, the last copies only the binary" {
    [[ -n ${KOKER_TEST_TCC:-} ]] || skip "no compiler fixture (tcc and musl-dev: make deps-test)"
    mkdir -p "$ctx/src"
    cat >"$ctx/src/hello.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    printf("hello from a koker build, %zu args\n", (size_t)argc - 1);
    return argc > 1 && strcmp(argv[1], "fail") == 0;
}
EOF
    echo 'build.log' >"$ctx/.dockerignore"
    echo noise >"$ctx/build.log"
    dockerfile <<EOF
FROM $KOKER_TEST_TCC AS build
WORKDIR /src
COPY src/ .
RUN tcc -static -o /hello hello.c && /hello
FROM scratch
COPY --from=build /hello /usr/bin/hello
ENTRYPOINT ["/usr/bin/hello"]
EOF
    kbuild -t hello:built "$ctx"
    # the compiled program ran in the build
    grep -qx 'hello from a koker build, 0 args' <<<"$stderr"
    run_koker 0 koker-run --rm --network none hello:built a b
    assert_equal "hello from a koker build, 2 args" "$output"
    run_koker 1 koker-run --rm --network none hello:built fail
    # the image holds the binary and nothing else: no compiler, no sources
    assert_equal 1 "$(blob_config "$ID" | jq '.rootfs.diff_ids | length')"
    koker_rootfs hello:built "$BATS_TEST_TMPDIR/fs"
    assert_equal "./usr
./usr/bin
./usr/bin/hello" "$(cd "$BATS_TEST_TMPDIR/fs" && find . -mindepth 1 | sort)"
}

# ---------------------------------------------------------------- 4: .dockerignore

@test "koker build: .dockerignore: *.log only at the root, **/*.log at any depth, ! exceptions" {
    mkdir -p "$ctx/src/deep" "$ctx/vendor/keep" "$ctx/tmp"
    for f in top.log src/mid.log src/deep/low.log src/code.c src/deep/x.tmp keep.tmp \
        vendor/v.c vendor/keep/me.txt tmp/t secret.key; do
        echo "$f" >"$ctx/$f"
    done
    cat >"$ctx/.dockerignore" <<'EOF'
# comment
*.log
**/*.tmp
!keep.tmp
vendor
!vendor/keep/me.txt
/tmp/
./secret.key
Dockerfile
.dockerignore
EOF
    printf 'FROM %s\nCOPY . /ctx/\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    run_koker 0 koker-run --rm --network none "$ID" sh -c 'cd /ctx && find . -type f | sort'
    # *.log dropped top.log only (moby#27144); **/*.tmp every .tmp but the exception;
    # the Dockerfile and .dockerignore were read even though they are ignored
    assert_equal "./keep.tmp
./src/code.c
./src/deep/low.log
./src/mid.log
./vendor/keep/me.txt" "$output"
    # COPY of an ignored file fails as if it were not there
    printf 'FROM %s\nCOPY top.log /top.log\n' "$BASE" | dockerfile
    kbuild 125 "$ctx"
    # a change to an ignored file does not miss the cache
    printf 'FROM %s\nCOPY . /ctx/\n' "$BASE" | dockerfile
    kbuild "$ctx"
    first=$ID
    echo changed >"$ctx/top.log"
    echo changed >"$ctx/src/deep/x.tmp"
    kbuild "$ctx"
    assert_equal "$first" "$ID"
    assert_equal "2" "$(cached_steps)"
    # **/*.log at any depth
    printf '**/*.log\n' >"$ctx/.dockerignore"
    kbuild -q "$ctx"
    run_koker 0 koker-run --rm --network none "$ID" sh -c 'cd /ctx && find . -name "*.log" | wc -l'
    assert_equal 0 "$output"
}

# ---------------------------------------------------------------- 5: layers and history

@test "koker build: history as docker's classic builder writes it; layers only for changes" {
    mkdir -p "$ctx/d"
    echo f >"$ctx/f"
    echo g >"$ctx/d/g"
    dockerfile <<EOF
FROM $BASE
ARG A=1
ARG B=2
ENV E=1
LABEL l=1
RUN echo run >/run-file
RUN true
COPY f /dst
COPY d /dir
CMD ["sh"]
EOF
    kbuild -q "$ctx"
    base_n=$(blob_config "$BASE_ID" | jq '.history | length')
    h=$(blob_config "$ID" | jq -c ".history[$base_n:]")
    created() { jq -r ".[$1].created_by" <<<"$h"; }
    empty() { jq -r ".[$1].empty_layer // false" <<<"$h"; }
    assert_equal 9 "$(jq length <<<"$h")" "one history entry per step after FROM"
    [[ $(created 0) =~ ^/bin/sh\ -c\ \#\(nop\)\ +ARG\ A=1$ ]]
    [[ $(created 2) =~ ^/bin/sh\ -c\ \#\(nop\)\ +ENV\ E=1$ ]]
    [[ $(created 3) =~ ^/bin/sh\ -c\ \#\(nop\)\ +LABEL\ l=1$ ]]
    assert_equal "|2 A=1 B=2 /bin/sh -c echo run >/run-file" "$(created 4)"
    assert_equal "|2 A=1 B=2 /bin/sh -c true" "$(created 5)"
    [[ $(created 6) =~ ^/bin/sh\ -c\ \#\(nop\)\ +COPY\ file:[0-9a-f]{64}\ in\ /dst\ *$ ]]
    [[ $(created 7) =~ ^/bin/sh\ -c\ \#\(nop\)\ +COPY\ dir:[0-9a-f]{64}\ in\ /dir\ *$ ]]
    [[ $(created 8) =~ ^/bin/sh\ -c\ \#\(nop\)\ +CMD\ \[\"sh\"\]$ ]]
    # config-only steps and the RUN that changed nothing: empty layers
    assert_equal "true true true true false true false false true" \
        "$(for i in 0 1 2 3 4 5 6 7 8; do empty $i; done | xargs)"
    # diff_ids match the history's layers
    blob_config "$ID" | jq -e '(.rootfs.diff_ids | length) == ([.history[] | select(.empty_layer | not)] | length)' >/dev/null
    # koker history shows the steps, newest first
    run_koker 0 koker history --no-trunc "$ID"
    assert_match 'CMD \["sh"\]'
    assert_match '\|2 A=1 B=2 /bin/sh -c echo run >/run-file'
}

@test "koker build: a RUN deleting base files gives whiteouts, and no runtime files of koker's" {
    dockerfile <<EOF
FROM $KOKER_TEST_REGISTRY/koker/three:latest
USER 0
RUN rm /hello /bin/vi && rm -rf /opq && mkdir /opq && echo new >/opq/new && echo x >/added
EOF
    kbuild -q "$ctx"
    top=$(jq -r --arg id "$ID" '.images[] | select(.Id == $id) | .LayerBlobs[-1][7:]' "$KOKER_ROOT/images.json")
    # the layer: exactly the changes (no etc/hostname, hosts, resolv.conf of the RUN's container)
    assert_equal ".wh.hello
added
bin/
bin/.wh.vi
opq/
opq/.wh..wh..opq
opq/new" "$(tar -tf "$KOKER_ROOT/blobs/sha256/$top" | sed 's|^\./||' | grep -v '^$' | LC_ALL=C sort)"
    run_koker 0 koker-run --rm --network none --entrypoint "" "$ID" sh -c \
        'test ! -e /hello && test ! -e /bin/vi && ls /opq && cat /added'
    assert_equal "new
x" "$output"
}

@test "koker build: each step an image; intermediate ones hidden from images, shown by -a, pruned" {
    printf 'FROM %s\nENV A=1\nRUN echo 1 >/one\nLABEL x=y\n' "$BASE" | dockerfile
    kbuild -t final "$ctx"
    # 3 steps after FROM: 3 images, the last of them the result
    assert_equal 4 "$(all_images | wc -l)" "base + one image per step"
    assert_equal "$(printf '%s\n' "$BASE_ID" "$ID" | sort)" "$(koker-images -q --no-trunc | sort -u)"
    run_koker 0 koker images
    refute_match '<none>'
    run_koker 0 koker images -a
    assert_equal 2 "$(grep -c '<none>' <<<"$output")"
    # image prune removes the untagged intermediate images; the result still runs
    run_koker 0 koker image prune -f
    assert_equal "$(printf '%s\n' "$BASE_ID" "$ID" | sort)" "$(all_images)"
    assert_equal 1 "$(in_image final cat /one)"
    # ... so the next build has nothing to reuse
    kbuild -t final "$ctx"
    assert_equal "" "$(cached_steps)"
    run_koker 0 koker system prune -f
    assert_equal "$(printf '%s\n' "$BASE_ID" "$ID" | sort)" "$(all_images)"
}

# ---------------------------------------------------------------- 6: the cache

@test "koker build: a second build reuses every step, with ' ---> Using cache' and the same IDs" {
    echo f >"$ctx/f"
    printf 'FROM %s\nARG V=1\nRUN echo run-$V | tee /v\nCOPY f /f\nENV E=1\n' "$BASE" | dockerfile
    kbuild "$ctx"
    grep -qx run-1 <<<"$stderr"
    first=$ID
    steps1=$(grep '^ ---> [0-9a-f]' <<<"$stderr")
    assert_equal "" "$(cached_steps)"
    images=$(all_images)
    kbuild "$ctx"
    assert_equal "$first" "$ID"
    assert_equal "2 3 4 5" "$(cached_steps)"
    # the RUN did not run again
    run ! grep -qx run-1 <<<"$stderr"
    assert_equal "$steps1" "$(grep '^ ---> [0-9a-f]' <<<"$stderr")"
    assert_equal "$images" "$(all_images)" "a cached build made new images"
    # --no-cache builds every step
    kbuild --no-cache "$ctx"
    assert_equal "" "$(cached_steps)"
}

@test "koker build: the cache misses from a changed COPY source on (content, mode), not on mtime" {
    echo f >"$ctx/f"
    printf 'FROM %s\nRUN echo before >/b\nCOPY f /f\nRUN echo after >/a\n' "$BASE" | dockerfile
    kbuild "$ctx"
    first=$ID
    # mtime only: every step hits
    touch -d '2001-02-03 04:05:06' "$ctx/f"
    kbuild "$ctx"
    assert_equal "2 3 4" "$(cached_steps)"
    assert_equal "$first" "$ID"
    # content: the COPY misses and so does every step after it
    echo g >"$ctx/f"
    kbuild "$ctx"
    assert_equal "2" "$(cached_steps)"
    assert_equal g "$(in_image "$ID" cat /f)"
    second=$ID
    # mode
    chmod 0600 "$ctx/f"
    kbuild "$ctx"
    assert_equal "2" "$(cached_steps)"
    assert_equal 600 "$(in_image "$ID" stat -c %a /f)"
    # back to the first content and mode: the first build's steps are still there
    echo f >"$ctx/f"
    chmod 0644 "$ctx/f"
    kbuild "$ctx"
    assert_equal "2 3 4" "$(cached_steps)"
    assert_equal "$first" "$ID"
    [[ $second != "$first" ]]
    # a file added to a copied directory misses too
    mkdir "$ctx/d"
    printf 'FROM %s\nCOPY d /d\n' "$BASE" | dockerfile
    kbuild "$ctx"
    echo new >"$ctx/d/new"
    kbuild "$ctx"
    assert_equal "" "$(cached_steps)"
}

@test "koker build: the cache misses when a build arg a RUN sees changes, and on --chown" {
    echo f >"$ctx/f"
    printf 'FROM %s\nARG V=1\nRUN echo run-$V >/v\nCOPY f /f\n' "$BASE" | dockerfile
    kbuild "$ctx"
    kbuild --build-arg V=1 "$ctx"
    assert_equal "2 3 4" "$(cached_steps)" "--build-arg V=1 is V's default"
    kbuild --build-arg V=2 "$ctx"
    # the RUN and everything after it run again (docker's classic builder reuses the ARG step)
    [[ $(cached_steps) == "" || $(cached_steps) == 2 ]]
    assert_equal run-2 "$(in_image "$ID" cat /v)"
    # --chown changes the key of the COPY
    printf 'FROM %s\nARG V=1\nRUN echo run-$V >/v\nCOPY --chown=1000 f /f\n' "$BASE" | dockerfile
    kbuild "$ctx"
    assert_equal "2 3" "$(cached_steps)"
}

# ---------------------------------------------------------------- 7: reproducible builds

@test "koker build: SOURCE_DATE_EPOCH: the same context gives the same image ID, --no-cache too" {
    echo f >"$ctx/f"
    printf 'FROM %s\nRUN echo made >/made && mkdir /d && touch /d/x\nCOPY f /f\nENV A=1\n' "$BASE" | dockerfile
    export SOURCE_DATE_EPOCH=1700000000
    kbuild -q --network none "$ctx"
    first=$ID
    blob_config "$ID" | jq -e '.created | startswith("2023-11-14T22:13:20")' >/dev/null
    sleep 1 # a second later: mtimes and creation times now differ unless clamped
    kbuild -q --network none --no-cache "$ctx"
    assert_equal "$first" "$ID"
    # and in another store (no network: no bridge of that store to take down)
    KOKER_ROOT=$BATS_TEST_TMPDIR/root2
    koker-pull -q "$BASE" >/dev/null
    kbuild -q --network none "$ctx"
    KOKER_ROOT=$BATS_TEST_TMPDIR/root
    rm -rf "$BATS_TEST_TMPDIR/root2"
    assert_equal "$first" "$ID"
    # without it, a --no-cache build is a new image
    unset SOURCE_DATE_EPOCH
    kbuild -q --network none --no-cache "$ctx"
    [[ $ID != "$first" ]]
}

# ---------------------------------------------------------------- 8: bad input

@test "koker build: a missing base image: 125, a message naming it, nothing left" {
    printf 'FROM %s/koker/absent:latest\nRUN true\n' "$KOKER_TEST_REGISTRY" | dockerfile
    kbuild 125 -t nope "$ctx"
    assert_stderr_match 'koker/absent'
    assert_clean nope:latest
    assert_equal "$BASE_ID" "$(all_images)"
}

@test "koker build: a failing RUN exits 1, names the step and the code, tags nothing" {
    printf 'FROM %s\nRUN echo ok >/ok\nRUN echo failing; exit 3\nRUN echo never\n' "$BASE" | dockerfile
    kbuild 1 -t nope "$ctx"
    line=$(grep 'returned a non-zero code: 3' <<<"$stderr")
    [[ $line == *'exit 3'* ]] || _koker_fail "the error line names the step" "*exit 3*" "$line"
    grep -qx failing <<<"$stderr"
    refute_stderr_match 'STEP 4/4'
    run ! grep -q '^Successfully' <<<"$stderr"
    assert_clean nope:latest
    # no image of the failed step: base, and the one successful RUN at most
    (($(all_images | wc -l) <= 2))
}

@test "koker build: a COPY of a missing file: 125, naming it, nothing tagged" {
    printf 'FROM %s\nCOPY not-there.txt /x\n' "$BASE" | dockerfile
    kbuild 125 -t nope "$ctx"
    assert_stderr_match 'not-there.txt'
    assert_clean nope:latest
    # nor may a source leave the context
    printf 'FROM %s\nCOPY ../outside /x\n' "$BASE" | dockerfile
    echo secret >"$BATS_TEST_TMPDIR/outside"
    run_koker '?' koker build -q "$ctx"
    if ((status == 0)); then
        # docker cleans ../outside to outside, inside the context: not there either
        _koker_fail "COPY ../outside built" "an error" "$output"
    fi
    assert_clean
}

@test "koker build: an unknown instruction, a cycle in COPY --from: 125, nothing built" {
    printf 'FROM %s\nRUN true\nFROBNICATE x\n' "$BASE" | dockerfile
    kbuild 125 -t nope "$ctx"
    grep -Eq '(^|: )Dockerfile:3: .*FROBNICATE' <<<"$stderr"
    assert_equal "$BASE_ID" "$(all_images)"
    dockerfile <<EOF
FROM $BASE AS a
COPY --from=b /x /x
FROM $BASE AS b
COPY --from=a /y /y
FROM $BASE
COPY --from=b /x /x
EOF
    kbuild 125 -t nope "$ctx"
    assert_stderr_match 'circular|cycle'
    assert_equal "$BASE_ID" "$(all_images)"
    assert_clean nope:latest
}

@test "koker build: a context that is not a directory, and ADD of a URL: 125 with a message" {
    printf 'FROM %s\n' "$BASE" | dockerfile
    kbuild 125 -t nope "$ctx/Dockerfile"
    assert_equal 1 "${#stderr_lines[@]}"
    kbuild 125 -t nope "$BATS_TEST_TMPDIR/no-such-dir"
    assert_stderr_match no-such-dir
    kbuild 125 -t nope
    printf 'FROM %s\nADD http://127.0.0.1:9/file /file\n' "$BASE" | dockerfile
    kbuild 125 -t nope "$ctx"
    assert_stderr_match 'http://127.0.0.1:9/file'
    assert_clean nope:latest
    assert_equal "$BASE_ID" "$(all_images)"
}

# start_slow_build: a build whose RUN sleeps, in a session of its own; waits until the RUN
# runs and sets BUILD_PID (koker-build itself) and MARK (the sleep's argument).
start_slow_build() {
    MARK=$((4000000 + RANDOM))
    printf 'FROM %s\nRUN echo started >/s && sleep %s\n' "$BASE" "$MARK" | dockerfile
    setsid "$KOKER_BINDIR/koker-build" -t nope "$ctx" >"$BATS_TEST_TMPDIR/out" 2>&1 &
    BUILD_PID=$!
    koker_cleanup_later pgid "$BUILD_PID"
    local _
    for _ in $(seq 300); do
        pgrep -fx "sleep $MARK" >/dev/null && return 0
        kill -0 "$BUILD_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/out" >&2
    return 1
}

# assert_interrupted_clean: the RUN gone, then no container, mount or image of the build.
assert_interrupted_clean() {
    local _
    for _ in $(seq 300); do
        pgrep -fx "sleep $MARK" >/dev/null || break
        sleep 0.1
    done
    run ! pgrep -fx "sleep $MARK"
    assert_clean nope:latest
    assert_equal "$BASE_ID" "$(all_images)" "a half-built image is in the store"
    # and the store still builds
    printf 'FROM %s\nRUN echo again >/again\n' "$BASE" | dockerfile
    kbuild -q -t again "$ctx"
    assert_equal again "$(in_image again cat /again)"
}

@test "koker build: kill -9 mid-RUN leaves no mount or half image; the next build removes its container" {
    start_slow_build
    kill -KILL "$BUILD_PID"
    wait "$BUILD_PID" || true
    # The RUN's container (koker-run died with the build, the command with koker-run) stays
    # until the next build, which removes the containers of builds that are gone
    # (docs/build.md): a bare FROM is one, and makes no image.
    printf 'FROM %s\n' "$BASE" | dockerfile
    kbuild -q "$ctx"
    assert_interrupted_clean
}

@test "koker build: Ctrl-C (SIGINT to the process group) mid-RUN: the same, and a failure" {
    start_slow_build
    kill -INT -- "-$BUILD_PID"
    # the build must end by itself (30 s at most), failing
    local _
    for _ in $(seq 300); do
        kill -0 "$BUILD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$BUILD_PID" 2>/dev/null; then
        left=$(ps -o pid,args -g "$BUILD_PID")
        kill -KILL -- "-$BUILD_PID"
        _koker_fail "koker build still runs 30 s after SIGINT" "it stops" "$left"
    fi
    rc=0
    wait "$BUILD_PID" || rc=$?
    ((rc != 0))
    assert_interrupted_clean
}

# ---------------------------------------------------------------- the oracle

@test "koker build and buildah bud of the same Containerfile: the same file system and config" {
    buildah_setup
    mkdir -p "$ctx/src/sub"
    echo a >"$ctx/src/a.txt"
    echo b >"$ctx/src/sub/b.log"
    echo top >"$ctx/top.log"
    echo x >"$ctx/src/x.tmp"
    echo keep >"$ctx/src/keep.tmp"
    echo rm >"$ctx/src/remove-me"
    echo n1 >"$ctx/n1.txt"
    echo n2 >"$ctx/n2.txt"
    printf '#!/bin/sh\necho tool\n' >"$ctx/tool.sh"
    mkdir -p "$BATS_TEST_TMPDIR/arch/dir"
    echo inarch >"$BATS_TEST_TMPDIR/arch/dir/f"
    tar -C "$BATS_TEST_TMPDIR/arch" --owner=0 --group=0 -czf "$ctx/archive.tar.gz" dir
    printf '*.log\n**/*.tmp\n!src/keep.tmp\n' >"$ctx/.dockerignore"
    dockerfile Containerfile <<EOF
FROM $BASE AS build
RUN mkdir -p /out/sub && echo built >/out/sub/file && ln -s sub/file /out/link \\
    && chmod 0640 /out/sub/file && chown 1000:2000 /out/sub/file

FROM $BASE
ARG GREETING=hello
ENV APP=/app MODE="a b"
LABEL org.example.name="oracle" version=1
WORKDIR /app
COPY --chown=1000:1000 src/ ./src/
COPY --chmod=0750 tool.sh /usr/local/bin/
COPY *.txt notes/
ADD archive.tar.gz /opt/
COPY --from=build /out /from-build
RUN rm -rf /root /bin/vi /home/koker && touch made-by-run && echo \$GREETING >greeting \\
    && ln -s /app/greeting /greet-link && mkdir -m 0700 /private && chown 1000:2000 /private
RUN rm /app/src/remove-me && chmod 0700 /app/src/sub
USER koker
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
EOF
    kbuild -q --build-arg GREETING=hey "$ctx"
    bid=$(buildah_bud --build-arg GREETING=hey "$ctx")
    # the file system
    koker_rootfs "$ID" "$BATS_TEST_TMPDIR/koker-fs"
    buildah_rootfs "$bid" "$BATS_TEST_TMPDIR/buildah-fs"
    rootfs_list "$BATS_TEST_TMPDIR/koker-fs" >"$BATS_TEST_TMPDIR/koker.list"
    # buildah leaves the empty mount targets of its RUN steps in the image; docker does not
    rootfs_list "$BATS_TEST_TMPDIR/buildah-fs" |
        grep -Ev '^\./(etc/hostname|etc/hosts|etc/resolv\.conf) -[-rwx]+ 0:0 0$|^\./run d[-rwx]+ 0:0$' \
            >"$BATS_TEST_TMPDIR/buildah.list"
    diff -u "$BATS_TEST_TMPDIR/buildah.list" "$BATS_TEST_TMPDIR/koker.list" >&2
    # and the same bytes
    diff -r "$BATS_TEST_TMPDIR/buildah-fs/app" "$BATS_TEST_TMPDIR/koker-fs/app" >&2
    diff -r "$BATS_TEST_TMPDIR/buildah-fs/from-build" "$BATS_TEST_TMPDIR/koker-fs/from-build" >&2
    # the config (docker, as buildah, adds the default PATH when the base has none)
    assert_equal "$(buildah_config "$bid" | jq -cS "$ORACLE_FIELDS")" \
        "$(config "$ID" | jq -cS "$ORACLE_FIELDS")"
}

@test "koker build and buildah bud: the compiler project gives the same program" {
    [[ -n ${KOKER_TEST_TCC:-} ]] || skip "no compiler fixture (tcc and musl-dev: make deps-test)"
    buildah_setup
    printf '#include <stdio.h>\nint main(void) { puts("same"); return 0; }\n' >"$ctx/hello.c"
    dockerfile Containerfile <<EOF
FROM $KOKER_TEST_TCC AS build
COPY hello.c /
RUN tcc -static -o /hello /hello.c
FROM scratch
COPY --from=build /hello /hello
CMD ["/hello"]
EOF
    kbuild -q "$ctx"
    bid=$(buildah_bud "$ctx")
    koker_rootfs "$ID" "$BATS_TEST_TMPDIR/koker-fs"
    buildah_rootfs "$bid" "$BATS_TEST_TMPDIR/buildah-fs"
    # tcc is deterministic: the same binary
    cmp "$BATS_TEST_TMPDIR/buildah-fs/hello" "$BATS_TEST_TMPDIR/koker-fs/hello"
    assert_equal same "$(koker-run --rm --network none "$ID")"
    assert_equal "$(buildah_config "$bid" | jq -cS "$ORACLE_FIELDS")" \
        "$(config "$ID" | jq -cS "$ORACLE_FIELDS")"
}
