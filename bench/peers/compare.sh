#!/usr/bin/env bash
# Measures parley-tcp-echo, parley-echo, beast-echo (Boost.Beast) and node-ws-echo (Node ws)
# with the same parley-bench command, one server at a time, and appends one JSON object per
# run to a results file for bench/plot_throughput.py.
#
# Usage: bench/peers/compare.sh [--build-dir DIR] [--out FILE] [--duration SECONDS]
#                               [--connections "1 10 100 1000"] [--size BYTES]
#                               [--server-cpu N] [--client-cpu N]
#
# Each server runs alone on --server-cpu (default 0) and parley-bench with one thread on
# --client-cpu (default 1). For every connection count the run uses --pipeline 16, and one more
# run at 100 connections uses --pipeline 1. parley-tcp-echo gets the tcp scenario (raw bytes),
# the others the echo scenario (text frames). A peer that is not built or installed is skipped
# with a message. Each JSON object is parley-bench's --json output with "server" and
# "load_average" (the 1-minute load average when the run started) added.
# The script stops every server it started, by PID, also when it is interrupted.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir="$repo/build"
out=""
duration=5
connections="1 10 100 1000"
size=32
server_cpu=0
client_cpu=1

# Prints the usage lines of the header above and exits with status $1.
usage() {
  sed -n '/^# Usage:/,/^#$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "$1"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --server-cpu) server_cpu=$2; shift 2 ;;
    --client-cpu) client_cpu=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; usage 2 ;;
  esac
done
build_dir=$(cd "$build_dir" && pwd)
out=${out:-$build_dir/bench/echo-peers.jsonl}
bench="$build_dir/parley-bench"

if [ ! -x "$bench" ]; then
  echo "compare.sh: $bench not found; build it first (make build)" >&2
  exit 1
fi
if ! command -v taskset >/dev/null; then
  echo "compare.sh: taskset not found; install util-linux" >&2
  exit 1
fi
if [ "$(nproc)" -lt 2 ] && [ "$server_cpu" != "$client_cpu" ]; then
  echo "compare.sh: this machine has one CPU; pass --server-cpu 0 --client-cpu 0" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
: >"$out"

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for something to accept on 127.0.0.1:$1, and fails early if the server exits.
wait_for_port() {
  local port=$1 tries=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "compare.sh: the server exited before listening on port $port" >&2
      return 1
    fi
    tries=$((tries + 1))
    if [ $tries -ge 200 ]; then
      echo "compare.sh: nothing listens on 127.0.0.1:$port after 10 s" >&2
      return 1
    fi
    sleep 0.05
  done
}

failures=0

# Runs one parley-bench point against the running server and appends its JSON line.
run_point() {
  local name=$1 scenario=$2 url=$3 conns=$4 pipeline=$5 result load
  # Other work on the machine shares the server's core, so each line records the 1-minute load
  # average at its start.
  read -r load _ </proc/loadavg
  if ! result=$(taskset -c "$client_cpu" "$bench" "$scenario" --url "$url" \
      --connections "$conns" --size "$size" --pipeline "$pipeline" --duration "$duration" \
      --server-pid "$server_pid" --json --quiet); then
    echo "compare.sh: $name, $conns connections, pipeline $pipeline failed" >&2
    failures=$((failures + 1))
    return 0
  fi
  printf '{"server":"%s","load_average":%s,%s\n' "$name" "$load" "${result#\{}" >>"$out"
  /usr/bin/python3 -c '
import json, sys
run = json.loads(sys.argv[1])
p99_ms = run["reply_latency"]["p99_us"] / 1e3
busy = run["server_cpu_us"] / (run["seconds"] * 1e4)
print("  %5d connections  pipeline %2d  %11s messages/s  p99 %8.2f ms  server CPU %.2f us/message,"
      " %.0f%% of a core" % (run["connections"], run["pipeline"],
      format(run["replies_per_s"], ",.0f"), p99_ms, run["server_cpu_us_per_reply"], busy))' \
    "$result"
}

# Starts one server on --server-cpu, measures the whole matrix against it and stops it.
# Arguments: NAME SCENARIO URL_SCHEME COMMAND... with {PORT} in COMMAND replaced by the port.
measure() {
  local name=$1 scenario=$2 scheme=$3
  shift 3
  local port
  port=$(free_port)
  local command=("${@//\{PORT\}/$port}")
  echo "$name on 127.0.0.1:$port (CPU $server_cpu), parley-bench on CPU $client_cpu"
  taskset -c "$server_cpu" "${command[@]}" >/dev/null &
  server_pid=$!
  if ! wait_for_port "$port"; then
    stop_server
    failures=$((failures + 1))
    return 0
  fi
  local url="$scheme://127.0.0.1:$port/" conns
  for conns in $connections; do
    run_point "$name" "$scenario" "$url" "$conns" 16
  done
  run_point "$name" "$scenario" "$url" 100 1
  stop_server
}

measure parley-tcp-echo tcp tcp "$build_dir/parley-tcp-echo" --port '{PORT}'
measure parley-echo echo ws "$build_dir/parley-echo" --listen '127.0.0.1:{PORT}' --threads 1

if [ -x "$build_dir/beast-echo" ]; then
  measure beast-echo echo ws "$build_dir/beast-echo" '{PORT}'
else
  echo "skipping beast-echo: $build_dir/beast-echo is not built" \
    "(install libboost-dev, then cmake --build $build_dir --target beast-echo)"
fi

if ! command -v node >/dev/null; then
  echo "skipping node-ws-echo: node is not installed (install nodejs and npm)"
elif [ ! -d "$repo/bench/peers/node_modules/ws" ]; then
  echo "skipping node-ws-echo: the ws package is missing (cd bench/peers && npm ci)"
else
  measure node-ws-echo echo ws node "$repo/bench/peers/node_ws_echo.js" '{PORT}'
fi

echo "results: $out"
if [ $failures -gt 0 ]; then
  echo "compare.sh: $failures runs failed" >&2
  exit 1
fi
