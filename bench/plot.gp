# SPDX-License-Identifier: MIT
# gnuplot script of bench/plot.sh (which prepares the data files): the
# scaling chart (ns/op against N, log-log, one panel per workload, one line
# per runtime) and the echo chart (server CPU per message, bars per
# runtime for each message size and connection count).
#
#   gnuplot -e "dat='DIR'; outdir='DIR'; stamp='...'; echo=0|1; echodat='FILE'; echostamp='...'" bench/plot.gp
#
# Inputs in `dat`: scaling-spawn.dat, scaling-hop.dat (columns: N libfut
# libev libuv tokio; '-' missing), scaling-spread.dat (the same with M,
# the timers armed, in place of N) and, when echo=1,
# echo.dat (columns: label libfut libev libuv tokio).

set datafile missing "-"
set datafile separator whitespace

rt1 = "libfut"; rt2 = "libev"; rt3 = "libuv"; rt4 = "Tokio"
set style line 1 lc rgb "#d62728" lw 2.5 pt 7 ps 1.1
set style line 2 lc rgb "#7f7f7f" lw 2 pt 5 ps 1.0 dt 2
set style line 3 lc rgb "#1f77b4" lw 2 pt 9 ps 1.1
set style line 4 lc rgb "#ff7f0e" lw 2 pt 13 ps 1.1

panel(f, t) = sprintf("%s/%s", dat, f)

do for [fmt in "svg png"] {
    if (fmt eq "svg") {
        set terminal svg size 1200,420 dynamic font "Helvetica,12" background rgb "white"
    } else {
        set terminal pngcairo size 1200,420 font "Helvetica,10" background rgb "white"
    }
    set output sprintf("%s/scaling.%s", outdir, fmt)
    set multiplot layout 1,3 title sprintf("ns per op against N (log-log, lower is better; medians; at N = 10^3 the N ops are repeated 1000 times in-process) — %s", stamp)
    set logscale xy
    set xrange [500:2000000]
    set format x "10^{%L}"
    set xtics ("10^3" 1000, "10^4" 10000, "10^5" 100000, "10^6" 1000000)
    set grid xtics ytics mytics lc rgb "#dddddd"
    set xlabel "N"
    set ylabel "ns / op"
    set key inside top left font ",10"
    set title "B1 spawn + join (all N alive)"
    plot for [c=2:5] panel("scaling-spawn.dat", "") u 1:c w lp ls (c-1) \
        t (c == 2 ? rt1 : c == 3 ? rt2 : c == 4 ? rt3 : rt4)
    set title "B2 wake hop"
    unset key
    plot for [c=2:5] panel("scaling-hop.dat", "") u 1:c w lp ls (c-1) \
        t (c == 2 ? rt1 : c == 3 ? rt2 : c == 4 ? rt3 : rt4)
    set title "B4 timer insert + cancel, deadlines spread over 1000 s"
    set xlabel "timers armed"
    plot for [c=2:5] panel("scaling-spread.dat", "") u 1:c w lp ls (c-1) \
        t (c == 2 ? rt1 : c == 3 ? rt2 : c == 4 ? rt3 : rt4)
    set xlabel "N"
    unset multiplot
    unset logscale
    unset xrange
    unset format
    unset xtics
    set xtics
    unset title
    unset output

    if (echo) {
        if (fmt eq "svg") {
            set terminal svg size 1000,420 dynamic font "Helvetica,12" background rgb "white"
        } else {
            set terminal pngcairo size 1000,420 font "Helvetica,10" background rgb "white"
        }
        set output sprintf("%s/echo.%s", outdir, fmt)
        set title sprintf("B6 TCP echo: server user CPU per message (µs, lower is better) — %s", echostamp)
        set style data histograms
        set style histogram clustered gap 1
        set style fill solid 0.85 border -1
        set boxwidth 0.9
        set key outside right top vertical
        set grid ytics lc rgb "#dddddd"
        set xlabel "message size / connections"
        set ylabel "µs user CPU / message"
        set yrange [0:*]
        set xtics rotate by 0
        plot echodat u 2:xtic(1) t rt1 lc rgb "#d62728", \
             '' u 3 t rt2 lc rgb "#7f7f7f", \
             '' u 4 t rt3 lc rgb "#1f77b4", \
             '' u 5 t rt4 lc rgb "#ff7f0e"
        unset output
        unset yrange
        set style data lines
    }
}
