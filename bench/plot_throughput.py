#!/usr/bin/python3
"""Plot echo throughput against connections from bench/peers/compare.sh results, as SVG.

Usage: bench/plot_throughput.py RESULTS.jsonl OUTPUT.svg [--table] [--note TEXT]

RESULTS.jsonl contains one parley-bench --json object per line, each with a "server" field.
Every (server, pipeline) pair with two or more connection counts becomes a line, with
messages/s (echoes received per second) on a linear y axis and connections on a log x axis.
A pair with only one point, such as the pipeline 1 run, is drawn as a hollow marker in the
server's colour. With --table, a Markdown table of every run is also printed to stdout.
--note adds a line of text under the plot, for the machine and the setup of the run.

The SVG is written by hand so that the script needs nothing beyond the standard library.
"""

import argparse
import json
import math
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 780, 460
LEFT, RIGHT, TOP, BOTTOM = 90, 190, 56, 64
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def load_runs(path):
    """Return the runs in `path`, the last one for each server, connection count and pipeline."""
    runs = {}
    try:
        results = open(path, encoding="utf-8")
    except OSError as error:
        raise SystemExit(f"failed to read the results file: {error}")
    with results:
        for number, line in enumerate(results, 1):
            if not line.strip():
                continue
            try:
                run = json.loads(line)
                key = (run["server"], run["connections"], run["pipeline"])
            except (ValueError, KeyError) as error:
                raise SystemExit(f"{path}:{number}: not a compare.sh result line: {error}")
            runs[key] = run
    if not runs:
        raise SystemExit(f"{path}: no results to plot")
    return list(runs.values())


def nice_ceiling(value):
    """Return the smallest 1, 2 or 5 times a power of ten that is at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def format_rate(value):
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def render_svg(runs, note=None):
    servers = list(dict.fromkeys(run["server"] for run in runs))
    colour = {server: COLOURS[i % len(COLOURS)] for i, server in enumerate(servers)}
    series = {}
    for run in runs:
        series.setdefault((run["server"], run["pipeline"]), []).append(run)
    for points in series.values():
        points.sort(key=lambda run: run["connections"])

    counts = [run["connections"] for run in runs]
    x_low = 10 ** math.floor(math.log10(min(counts)))
    x_high = 10 ** math.ceil(math.log10(max(counts)))
    if x_high == x_low:
        x_high = x_low * 10
    y_high = nice_ceiling(max(run["replies_per_s"] for run in runs) * 1.05)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x_of(connections):
        share = math.log10(connections / x_low) / math.log10(x_high / x_low)
        return LEFT + share * plot_width

    def y_of(rate):
        return TOP + plot_height * (1 - rate / y_high)

    lines_by_pipeline = [pipeline for (_, pipeline), points in series.items() if len(points) > 1]
    sizes = sorted({run["size"] for run in runs})
    title = f"Echo throughput, {'/'.join(map(str, sizes))}-byte messages"
    if lines_by_pipeline:
        title += f", pipeline {'/'.join(map(str, sorted(set(lines_by_pipeline))))}"

    height = HEIGHT + (24 if note else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT + plot_width / 2}" y="24" text-anchor="middle" font-size="15">'
        f"{escape(title)}</text>",
    ]

    # Grid and tick labels: a decade per x tick, five steps on y.
    decade = x_low
    while decade <= x_high:
        x = x_of(decade)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_height}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + plot_height + 18}" text-anchor="middle">'
                   f"{decade:,}</text>")
        decade *= 10
    for step in range(6):
        rate = y_high * step / 5
        y = y_of(rate)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_width}" y2="{y:.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{format_rate(rate)}</text>")
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_width}" height="{plot_height}" '
               f'fill="none" stroke="#333"/>')
    out.append(f'<text x="{LEFT + plot_width / 2}" y="{HEIGHT - 18}" text-anchor="middle">'
               "connections (log scale)</text>")
    out.append(f'<text x="22" y="{TOP + plot_height / 2}" text-anchor="middle" '
               f'transform="rotate(-90 22 {TOP + plot_height / 2})">messages/s echoed</text>')

    for (server, pipeline), points in series.items():
        stroke = colour[server]
        if len(points) > 1:
            path = " ".join(f"{x_of(p['connections']):.1f},{y_of(p['replies_per_s']):.1f}"
                            for p in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{stroke}" '
                       f'stroke-width="2"/>')
        for point in points:
            fill = stroke if len(points) > 1 else "white"
            out.append(f'<circle cx="{x_of(point["connections"]):.1f}" '
                       f'cy="{y_of(point["replies_per_s"]):.1f}" r="4" fill="{fill}" '
                       f'stroke="{stroke}" stroke-width="2">'
                       f"<title>{escape(server)}: {point['connections']} connections, pipeline "
                       f"{pipeline}, {point['replies_per_s']:,.0f} messages/s</title></circle>")

    # Legend, right of the plot: one entry per server, then what a hollow marker means.
    legend_x = LEFT + plot_width + 16
    for i, server in enumerate(servers):
        y = TOP + 10 + i * 22
        out.append(f'<line x1="{legend_x}" y1="{y}" x2="{legend_x + 24}" y2="{y}" '
                   f'stroke="{colour[server]}" stroke-width="2"/>')
        out.append(f'<circle cx="{legend_x + 12}" cy="{y}" r="4" fill="{colour[server]}"/>')
        out.append(f'<text x="{legend_x + 32}" y="{y + 4}">{escape(server)}</text>')
    single = sorted({pipeline for (_, pipeline), points in series.items() if len(points) == 1})
    if single:
        y = TOP + 10 + len(servers) * 22 + 8
        out.append(f'<circle cx="{legend_x + 12}" cy="{y}" r="4" fill="white" stroke="#333" '
                   f'stroke-width="2"/>')
        label = f"pipeline {'/'.join(map(str, single))}"
        out.append(f'<text x="{legend_x + 32}" y="{y + 4}">{escape(label)}</text>')
    if note:
        out.append(f'<text x="12" y="{height - 10}" font-size="11" fill="#555">'
                   f"{escape(note)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def print_table(runs):
    print("| server | connections | pipeline | messages/s | p50 | p99 | server CPU per message "
          "| server core busy | load average |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in sorted(runs, key=lambda r: (r["server"], -r["pipeline"], r["connections"])):
        latency = run["reply_latency"]
        cpu = run["server_cpu_us_per_reply"]
        cpu_text = f"{cpu:.2f} µs" if cpu >= 0 else "n/a"
        busy = run["server_cpu_us"] / (run["seconds"] * 1e4) if run["server_cpu_us"] >= 0 else -1
        busy_text = f"{busy:.0f}%" if busy >= 0 else "n/a"
        load = run.get("load_average")
        load_text = f"{load:.1f}" if load is not None else "n/a"
        print(f"| {run['server']} | {run['connections']:,} | {run['pipeline']} | "
              f"{run['replies_per_s']:,.0f} | {latency['p50_us'] / 1e3:.2f} ms | "
              f"{latency['p99_us'] / 1e3:.2f} ms | {cpu_text} | {busy_text} | {load_text} |")


def main():
    parser = argparse.ArgumentParser(
        description="Plot echo throughput against connections from compare.sh results.")
    parser.add_argument("results", help="JSON lines written by bench/peers/compare.sh")
    parser.add_argument("svg", help="SVG file to write")
    parser.add_argument("--table", action="store_true",
                        help="also print a Markdown table of every run to stdout")
    parser.add_argument("--note", help="a line of text under the plot, such as the machine")
    arguments = parser.parse_args()
    runs = load_runs(arguments.results)
    with open(arguments.svg, "w", encoding="utf-8") as svg:
        svg.write(render_svg(runs, arguments.note))
    if arguments.table:
        print_table(runs)
    print(f"wrote {arguments.svg}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
