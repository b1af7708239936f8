# Everyday commands. CMake does the building; this file only names the steps.
#
#   make run     install what is missing, build, start parleyd on 127.0.0.1:8080 (SQLite in ./data)
#   make test    install what is missing, build, run every test
#   make build   build only
#   make format  apply .clang-format to the C++ sources

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080

.PHONY: all build run test deps test-deps format clean

all: build

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test
	@test -d tests/e2e/node_modules/playwright-core || (cd tests/e2e && npm ci --no-audit --no-fund)

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

clean:
	rm -rf $(BUILD_DIR)
