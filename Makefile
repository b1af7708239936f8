# Everyday commands. CMake does the building; this file only names the steps.
#
#   make run     install what is missing, build, start parleyd on 127.0.0.1:8080 (SQLite in ./data)
#   make test    install what is missing, build, run every test
#   make build   build only
#   make format  apply .clang-format to the C++ sources
#   make fuzz    build the libFuzzer targets with clang and run each for FUZZ_SECONDS (build-fuzz)
#   make asan    build with ASan and UBSan (clang) and run every test (build-asan)
#   make tsan    build with TSan (clang) and run every test (build-tsan)
#   make bench   build, run the micro and store benchmarks briefly, and measure parley-echo
#                against its peers; results and the plot land in $(BUILD_DIR)/bench/

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60

.PHONY: all build run test deps test-deps format clean fuzz asan tsan clang-deps bench

all: build

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test
	@test -d tests/e2e/node_modules/playwright-core || (cd tests/e2e && npm ci --no-audit --no-fund)
	@test -d tests/interop/node_modules/ws || (cd tests/interop && npm ci --no-audit --no-fund)

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	mkdir -p data/media
	$(BUILD_DIR)/parleyd --listen $(LISTEN) --db sqlite:./data/parley.db --media-dir ./data/media --web-dir ./web

test: test-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

# Fuzzing and the sanitizer builds use clang 14 and its runtimes (libclang-rt-14-dev).
clang-deps:
	@command -v clang++ >/dev/null && test -f "$$(clang++ -print-runtime-dir)/libclang_rt.fuzzer-x86_64.a" || \
	  { echo "fuzz, asan and tsan need clang: apt-get install -y clang libclang-rt-14-dev" >&2; exit 1; }

# Fails when a fuzzer finds a crash, and leaves the input in build-fuzz/artifacts/.
fuzz: deps clang-deps
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON
	cmake --build build-fuzz --target parley_fuzzers -j $(JOBS)
	fuzz/run_fuzzers.sh build-fuzz $(FUZZ_SECONDS)

asan: test-deps clang-deps
	cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j 2

tsan: test-deps clang-deps
	cmake -S . -B build-tsan -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j 2

# A short run for a quick look: once built, about 2.5 minutes on a 2-core machine.
# bench/peers/compare.sh with its defaults (5 s per point) is the run to record. beast-echo
# is left out of the default build so that `make build` and `make test` never compile Beast.
bench:
	@scripts/deps.sh bench
	@test -d bench/peers/node_modules/ws || (cd bench/peers && npm ci --no-audit --no-fund)
	@$(MAKE) --no-print-directory build
	@if cmake --build $(BUILD_DIR) --target help | grep beast-echo >/dev/null; then \
	  cmake --build $(BUILD_DIR) --target beast-echo -j $(JOBS); \
	else echo "beast-echo is not configured: CMake did not find the Boost headers"; fi
	mkdir -p $(BUILD_DIR)/bench
	@if [ -x $(BUILD_DIR)/parley-micro-bench ]; then \
	  $(BUILD_DIR)/parley-micro-bench --benchmark_min_time=0.1 \
	    --benchmark_out=$(BUILD_DIR)/bench/micro.json --benchmark_out_format=json; \
	else echo "skipping parley-micro-bench: not built"; fi
	PARLEY_BENCH_HISTORY_MESSAGES=100000 $(BUILD_DIR)/parley-store-bench --benchmark_min_time=0.1 \
	  --benchmark_out=$(BUILD_DIR)/bench/store.json --benchmark_out_format=json
	bench/peers/compare.sh --build-dir $(BUILD_DIR) --duration 2 \
	  --out $(BUILD_DIR)/bench/echo-peers.jsonl
	/usr/bin/python3 bench/plot_throughput.py $(BUILD_DIR)/bench/echo-peers.jsonl \
	  $(BUILD_DIR)/bench/echo-throughput.svg --table

clean:
	rm -rf $(BUILD_DIR) build-fuzz build-asan build-tsan
