#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/charts.sh DATA OUT CHART: draw one chart of bench/all.sh's results with gnuplot
# (Debian's gnuplot-nox, `make bench` installs it) as OUT/CHART.svg, from the raw samples the
# parts wrote to DATA (bench_data in lib.sh), and print the markdown that shows it in
# RESULTS.md, whose charts/ directory OUT becomes.  A chart whose data is missing is not drawn:
# the markdown then says why.  Progress goes to stderr.
#
#   start   start-to-exit time of `true`, every timed run of koker-run, runc run and podman run
#           and of the host's /bin/true, as distributions (run.sh's run-samples: TOOL NS)
#   scale   start time of each container and MemAvailable's drop against the number running
#           (scale.sh's scale-starts: ROUND RUNNING NS, scale-mem: ROUND RUNNING KB)
#   pull    the one-layer pull's time split into download, decompress and write (pull.sh's
#           pull-samples: KEY NS, KEY one of koker1 podman1 skopeo1, kdownload kdecompress
#           kwrite (koker-pull's own split), gunzip igzip untar (the parts apart))

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"

(($# == 3)) || bench_die "usage: bench/charts.sh DATA OUT start|scale|pull"
DATA=$1 OUT=$2 CHART=$3

# The terminal every chart shares: SVG that scales with the page, white behind it.
TERMINAL="set terminal svg size 800,440 dynamic enhanced font 'sans,12' background rgb 'white'"

# skipped WHY: the note RESULTS.md shows instead of the chart.
skipped() {
    printf '\n_Chart %s not drawn: %s._\n' "$CHART" "$1"
    bench_log "chart $CHART not drawn: $1"
    exit 0
}

# median_of FILE TOOL: the median of TOOL's samples (NS) in FILE, in seconds; empty if none.
median_of() {
    awk -v t="$2" '$1 == t { print $2 }' "$1" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.6f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1e9 }'
}

# has TOOL... in FILE: whether FILE has samples of every TOOL.
has() {
    local file=$1 t
    shift
    [[ -s $file ]] || return 1
    for t in "$@"; do
        awk -v t="$t" '$1 == t { found = 1 } END { exit !found }' "$file" || return 1
    done
}

# start: one empirical distribution (sorted samples against their rank) per tool, on a log
# scale of milliseconds, so koker's few ms and podman's hundreds show side by side.
chart_start() {
    local f=$DATA/run-samples tool
    has "$f" koker runc podman || skipped "run.sh left no samples of koker, runc and podman (did it run and succeed?)"
    for tool in true koker runc podman; do
        awk -v t="$tool" '$1 == t { print $2 / 1e6 }' "$f" | sort -n |
            awk '{ v[NR] = $1 } END { if (NR) printf "%s 0\n", v[1]; for (i = 1; i <= NR; i++) printf "%s %.4f\n", v[i], i / NR }' \
                >"$WORK/start-$tool.dat"
    done
    gnuplot <<EOF
$TERMINAL
set output '$OUT/start.svg'
set title 'Start to exit of \`true\`, every timed run (run.sh)'
set xlabel 'milliseconds (log scale)'
set ylabel 'fraction of runs at most this fast'
set logscale x
set yrange [0:1]
set grid
set key bottom right
plot '$WORK/start-true.dat' using 1:2 with steps lw 2 dt 2 lc rgb '#888888' title 'host /bin/true (floor)', \
     '$WORK/start-koker.dat' using 1:2 with steps lw 2 lc rgb '#1f77b4' title 'koker-run --network none', \
     '$WORK/start-runc.dat' using 1:2 with steps lw 2 lc rgb '#2ca02c' title 'runc run', \
     '$WORK/start-podman.dat' using 1:2 with steps lw 2 lc rgb '#d62728' title 'podman run --network none'
EOF
    # shellcheck disable=SC2016 # a markdown code span, not an expansion
    printf '\n![Start-to-exit time of `true`: the distribution of every timed run of koker-run, runc run and podman run](charts/start.svg)\n'
}

# scale: above, the time of each detached start against how many run (every round); below,
# the drop of MemAvailable (MiB) against how many run, one line a round.
chart_scale() {
    local starts=$DATA/scale-starts mem=$DATA/scale-mem rounds
    [[ -s $starts && -s $mem ]] || skipped "scale.sh left no per-container samples (did it run and succeed?)"
    rounds=$(awk '{ print $1 }' "$mem" | sort -n | tail -n 1)
    awk '{ print $2, $3 / 1e6 }' "$starts" >"$WORK/scale-starts.dat"
    # One block per round (blank lines between), so gnuplot draws a line per round.
    awk 'NR > 1 && $1 != r { print ""; print "" } { r = $1; print $2, $3 / 1024 }' "$mem" >"$WORK/scale-mem.dat"
    gnuplot <<EOF
${TERMINAL/800,440/800,600}
set output '$OUT/scale.svg'
set multiplot layout 2,1 title 'koker at scale: detached \`sleep\` containers started one after another (scale.sh)'
set grid
set xlabel 'containers running'
set ylabel 'start time (ms)'
set key below
set yrange [0:*]
plot '$WORK/scale-starts.dat' using 1:2 with points pt 7 ps 0.3 lc rgb '#1f77b4' title 'koker-run -d, each start ($rounds rounds)'
set ylabel 'MemAvailable drop (MiB)'
plot for [i=0:$((rounds - 1))] '$WORK/scale-mem.dat' index i using 1:2 with linespoints pt 7 ps 0.5 lw 2 title sprintf('round %d', i + 1)
unset multiplot
EOF
    printf '\n![koker at scale: start time of each container and memory against the number of running containers](charts/scale.svg)\n'
}

# pull: the one-layer image's median pull of koker and podman as whole bars, beside two stacked
# bars: koker-pull's own split (the busy time of each stage, from its -D timing line; the
# stages overlap, so the stack is taller than the pull) and the parts measured apart by other
# tools: download and verify (skopeo), decompress (igzip, else gzip -dc), write (tar -x).
chart_pull() {
    local f=$DATA/pull-samples koker podman skopeo inflate untar split=0 kd=0 ki=0 kw=0 tool=gunzip label='gzip -dc'
    has "$f" koker1 podman1 skopeo1 gunzip untar || skipped "pull.sh left no samples of every tool and part (did it run and succeed?)"
    koker=$(median_of "$f" koker1) podman=$(median_of "$f" podman1) skopeo=$(median_of "$f" skopeo1)
    if has "$f" igzip; then
        tool=igzip label='igzip -dc, ISA-L'
    fi
    inflate=$(median_of "$f" "$tool") untar=$(median_of "$f" untar)
    if has "$f" kdownload kdecompress kwrite; then
        split=1 kd=$(median_of "$f" kdownload) ki=$(median_of "$f" kdecompress) kw=$(median_of "$f" kwrite)
    fi
    {
        printf '"koker-pull" %s 0 0 0\n' "$koker"
        printf '"podman pull" %s 0 0 0\n' "$podman"
        ((split == 0)) || printf '"koker-pull, busy time per stage" 0 %s %s %s\n' "$kd" "$ki" "$kw"
        printf '"the parts, apart" 0 %s %s %s\n' "$skopeo" "$inflate" "$untar"
    } >"$WORK/pull.dat"
    gnuplot <<EOF
$TERMINAL
set output '$OUT/pull.svg'
set title 'Pull of the one-layer image into an empty store, medians (pull.sh)'
set ylabel 'seconds'
set yrange [0:*]
set grid ytics
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set key below
plot '$WORK/pull.dat' using 2:xtic(1) lc rgb '#7f7f7f' title 'whole pull', \
     '' using 3 lc rgb '#1f77b4' title 'download and verify (koker; apart: skopeo copy to dir:)', \
     '' using 4 lc rgb '#ff7f0e' title 'decompress (koker: ISA-L; apart: $label)', \
     '' using 5 lc rgb '#2ca02c' title 'write (koker: tar read and hashed, files; apart: tar -x)'
EOF
    printf '\n![Pull time of the one-layer image: koker-pull and podman pull, koker-pull split into download, decompress and write, and the parts measured apart](charts/pull.svg)\n'
}

command -v gnuplot >/dev/null || skipped "gnuplot is not installed (make bench installs gnuplot-nox)"
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
case $CHART in
    start | scale | pull) "chart_$CHART" ;;
    *) bench_die "no chart named $CHART (start, scale or pull)" ;;
esac
