#!/usr/bin/env bash
# Measures the figures docs/BENCHMARKS.md compares with parley's performance targets, in one
# run on one machine, and prints them with the ratios:
#   1. echo, 32-byte messages, pipeline 16 and pipeline 1: parley-echo beside parley-tcp-echo
#      (messages/s, server CPU per message, p99), and system calls per message under pipelining;
#   2. chat, 128-byte messages, pipeline 16: deliveries/s beside the TCP echo's messages/s, and
#      the p99 delivery latency at half of that peak rate;
#   3. group: deliveries/s of one group of --members members, and server CPU per delivery;
#   4. idle: server memory per idle WebSocket on parley-echo with --idle connections open.
#
# Usage: bench/targets.sh [--build-dir DIR] [--out FILE] [--duration SECONDS] [--members N]
#                         [--idle N] [--skip-group]
#
# Every server runs on CPU 0 and parley-bench on CPU 1, one thread each. Each JSON object of
# parley-bench --json goes to --out (default DIR/bench/targets.jsonl) with "case" added.
# System calls are counted with `perf stat -e raw_syscalls:sys_enter` when perf works here,
# otherwise with `strace -c -f`. The script stops every server it started, by PID.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$repo/build"
out=""
duration=5
members=1000
idle=19900
skip_group=0

usage() {
  sed -n '/^# Usage:/,/^#$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "$1"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --members) members=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --skip-group) skip_group=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "targets.sh: unknown option $1 (see --help)" >&2; usage 2 ;;
  esac
done
build_dir=$(cd "$build_dir" && pwd)
out=${out:-$build_dir/bench/targets.jsonl}
mkdir -p "$(dirname "$out")"
: > "$out"
for binary in parley-bench parley-echo parley-tcp-echo parleyd; do
  if [ ! -x "$build_dir/$binary" ]; then
    echo "targets.sh: $build_dir/$binary not found; build it first (make build)" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/parley-targets.XXXXXX)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts "$@" on CPU 0 and waits until it accepts TCP connections on $port.
start_server() {
  taskset -c 0 "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    if /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" \
      2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "targets.sh: $1 did not start within 10 s; its log follows:" >&2
  cat "$work/server.log" >&2
  exit 1
}

# Runs parley-bench with "$@" and --json, appends the result with "case": $1 to $out, and
# prints the JSON object.
run_bench() {
  local name=$1
  shift
  local line
  line=$(taskset -c 1 "$build_dir/parley-bench" "$@" --server-pid "$server_pid" --json --quiet)
  line="{\"case\":\"$name\",${line#\{}"
  echo "$line" >>"$out"
  echo "$line"
}

# Reads field $2 of JSON object $1.
field() {
  /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# Counts the server's system calls for 3 s while a parley-bench run of "$@" is measuring, and
# prints "calls messages_per_s" of that window.
count_syscalls() {
  local bench_out="$work/syscall-bench.json"
  taskset -c 1 "$build_dir/parley-bench" "$@" --duration 7 --server-pid "$server_pid" --json \
    --quiet >"$bench_out" &
  local bench_pid=$!
  sleep 2.5
  local calls
  if perf stat -e raw_syscalls:sys_enter -p "$server_pid" -o "$work/perf.txt" -- sleep 3 \
    2>/dev/null && grep -q sys_enter "$work/perf.txt"; then
    calls=$(awk '/sys_enter/ { gsub(",", "", $1); print $1 }' "$work/perf.txt")
  else
    timeout -s INT 3 strace -c -f -p "$server_pid" -o "$work/strace.txt" 2>/dev/null || true
    calls=$(awk '/total$/ { print $(NF-2) }' "$work/strace.txt")
  fi
  wait "$bench_pid"
  echo "$calls $(field "$(cat "$bench_out")" replies_per_s)"
}

summary=()
note() {
  summary+=("$1")
  echo "$1" >&2
}

# 1. Echo beside the bare TCP echo.
for pipeline in 16 1; do
  port=$(free_port)
  start_server "$build_dir/parley-tcp-echo" --port "$port"
  tcp=$(run_bench "tcp-p$pipeline" tcp --url "tcp://127.0.0.1:$port/" --connections 100 \
    --size 32 --pipeline "$pipeline" --duration "$duration")
  stop_server
  port=$(free_port)
  start_server "$build_dir/parley-echo" --listen "127.0.0.1:$port" --threads 1 --log-level warn
  ws=$(run_bench "echo-p$pipeline" echo --url "ws://127.0.0.1:$port/" --connections 100 \
    --size 32 --pipeline "$pipeline" --duration "$duration")
  if [ "$pipeline" = 16 ]; then
    read -r calls rate < <(count_syscalls echo --url "ws://127.0.0.1:$port/" --connections 100 \
      --size 32 --pipeline 16)
    note "$(/usr/bin/python3 -c 'import sys; calls, rate = float(sys.argv[1]), float(sys.argv[2])
print(f"echo p16 system calls: {calls:,.0f} in 3 s at {rate:,.0f} echoes/s = "
      f"{calls / (rate * 3):.3f} per echo")' "$calls" "$rate")"
  fi
  stop_server
  note "$(/usr/bin/python3 - "$tcp" "$ws" "$pipeline" <<'EOF'
import json, sys
tcp, ws, pipeline = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"echo p{pipeline}: parley-echo {ws['replies_per_s']:,.0f}/s at "
      f"{ws['server_cpu_us_per_reply']:.2f} us CPU, p99 {ws['reply_latency']['p99_us']:,.0f} us; "
      f"tcp echo {tcp['replies_per_s']:,.0f}/s at {tcp['server_cpu_us_per_reply']:.2f} us, "
      f"p99 {tcp['reply_latency']['p99_us']:,.0f} us; "
      f"rate ratio {ws['replies_per_s'] / tcp['replies_per_s']:.2f}, "
      f"CPU ratio {ws['server_cpu_us_per_reply'] / tcp['server_cpu_us_per_reply']:.2f}")
EOF
)"
  [ "$pipeline" = 16 ] && tcp_peak=$(field "$tcp" replies_per_s)
done

# 2 and 3. parleyd: chat at its peak, chat at half of it, and one large group.
start_parleyd() {
  rm -rf "$work/db"
  mkdir -p "$work/db/media"
  port=$(free_port)
  start_server "$build_dir/parleyd" --listen "127.0.0.1:$port" --threads 1 \
    --db "sqlite:$work/db/parley.db" --media-dir "$work/db/media" --web-dir "$repo/web" \
    --message-rate 0 --login-failures 0 --log-level warn
}
start_parleyd
chat=$(run_bench chat-peak chat --url "ws://127.0.0.1:$port/chat" --connections 50 --size 128 \
  --pipeline 16 --duration "$duration")
peak=$(field "$chat" deliveries_per_s)
stop_server
start_parleyd
half_rate=$(/usr/bin/python3 -c 'import sys; print(float(sys.argv[1]) / 2 / 50)' "$peak")
half=$(run_bench chat-half chat --url "ws://127.0.0.1:$port/chat" --connections 50 --size 128 \
  --rate "$half_rate" --duration "$duration")
stop_server
note "$(/usr/bin/python3 - "$chat" "$half" "$tcp_peak" <<'EOF'
import json, sys
chat, half, tcp = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
print(f"chat p16: {chat['deliveries_per_s']:,.0f} deliveries/s = {chat['deliveries_per_s'] / tcp:.3f} "
      f"of the tcp echo, {chat['server_cpu_us_per_delivery']:.1f} us CPU each; at half rate "
      f"({half['deliveries_per_s']:,.0f}/s) delivery p50 {half['delivery_latency']['p50_us']:,.0f} us, "
      f"p99 {half['delivery_latency']['p99_us']:,.0f} us")
EOF
)"
if [ "$skip_group" = 0 ]; then
  start_parleyd
  group=$(run_bench group group --url "ws://127.0.0.1:$port/chat" --members "$members" \
    --senders 4 --rate 50 --duration "$duration" --ramp-timeout 600)
  stop_server
  note "$(/usr/bin/python3 - "$group" "$tcp_peak" <<'EOF'
import json, sys
group, tcp = json.loads(sys.argv[1]), float(sys.argv[2])
print(f"group of {group['members']}: {group['deliveries_per_s']:,.0f} deliveries/s = "
      f"{group['deliveries_per_s'] / tcp:.2f} x the tcp echo, "
      f"{group['server_cpu_us_per_delivery']:.2f} us CPU each, "
      f"delivery p99 {group['delivery_latency']['p99_us']:,.0f} us")
EOF
)"
fi

# 4. Idle WebSockets on parley-echo.
port=$(free_port)
start_server "$build_dir/parley-echo" --listen "127.0.0.1:$port" --threads 1 --log-level warn
idle_result=$(run_bench idle idle --url "ws://127.0.0.1:$port/" --connections "$idle" \
  --source-ips 4 --duration 1)
stop_server
note "$(/usr/bin/python3 - "$idle_result" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
print(f"idle: {r['open_connections']} open, {r['anon_bytes_per_connection']:.0f} bytes of heap and "
      f"stacks ({r['bytes_per_connection']:.0f} of VmRSS) per connection; kernel slab "
      f"{r['kernel_slab_bytes_per_connection']:.0f} bytes per connection, both ends")
EOF
)"

echo
printf '%s\n' "${summary[@]}"
echo "results: $out"
