#!/bin/sh
# Runs each libFuzzer target of a PARLEY_FUZZ build for a bounded time, one after another.
#
#   fuzz/run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# Each target starts from its checked-in seeds (fuzz/corpus/TARGET) and regression inputs
# (tests/fuzz_regressions/TARGET) and grows a working corpus in BUILD_DIR/corpus/TARGET, which
# later runs reuse. A crash, a failed invariant check, a timeout or a leak stops the run: the
# input lands in BUILD_DIR/artifacts/TARGET/, the end of the log is printed, and the script
# exits non-zero. The full log of each target is BUILD_DIR/TARGET.log.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build_dir=$1
seconds=$2
shift 2
targets=${*:-"http_parser multipart message_reader handshake chat_command"}
source_dir=$(cd "$(dirname "$0")/.." && pwd)

for target in $targets; do
  fuzzer="$build_dir/${target}_fuzzer"
  if [ ! -x "$fuzzer" ]; then
    echo "fuzzer not found: $fuzzer. Build the parley_fuzzers target first." >&2
    exit 1
  fi
  corpus="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  log="$build_dir/$target.log"
  mkdir -p "$corpus" "$artifacts"
  # libFuzzer rejects a corpus directory that does not exist, and a target has a regression
  # directory only once it has inputs.
  inputs="$corpus $source_dir/fuzz/corpus/$target"
  if [ -d "$source_dir/tests/fuzz_regressions/$target" ]; then
    inputs="$inputs $source_dir/tests/fuzz_regressions/$target"
  fi

  echo "fuzzing $target for $seconds s (log: $log)"
  # -timeout: seconds one input may take before it counts as a hang. -max_len: longer corpus
  # inputs are cut to this size. Without it libFuzzer grows inputs up to the largest one it
  # loads, and the 1 MB regression input of chat_command cut its speed from about 3,000 to 40
  # inputs per second.
  # shellcheck disable=SC2086 # $inputs is a list of directories without spaces
  if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" $inputs >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "FAILED: $target. The input that failed is in $artifacts/" >&2
    exit 1
  fi
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "  $target: $executions executions, $coverage edges, no failures"
done
