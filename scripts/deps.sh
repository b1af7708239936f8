#!/bin/sh
# Installs the Debian packages parley needs to build and test, skipping what is present.
#
#   scripts/deps.sh build   compiler, CMake and the libraries parleyd links
#   scripts/deps.sh test    the above, plus the clients and servers the tests drive
#   scripts/deps.sh bench   the build packages, plus the peer servers `make bench` measures
#                           parley against (Boost.Beast headers, Node.js and npm)
#
# As root it runs apt-get itself. Otherwise it prints the one command to run and fails,
# because installing packages needs root.
set -eu

BUILD_PACKAGES="cmake g++ make pkg-config libssl-dev rapidjson-dev libxxhash-dev doctest-dev \
libsqlite3-dev zlib1g-dev libbenchmark-dev default-libmysqlclient-dev"
TEST_PACKAGES="python3 python3-websockets chromium mariadb-server openssl curl"
BENCH_PACKAGES="python3 libboost-dev"

case "${1:-build}" in
  build) wanted="$BUILD_PACKAGES" ;;
  test) wanted="$BUILD_PACKAGES $TEST_PACKAGES" ;;
  bench) wanted="$BUILD_PACKAGES $BENCH_PACKAGES" ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=""
# Some machines carry a Node.js build that bundles npm and conflicts with Debian's npm
# package, so Node and npm count as present when the commands exist.
if [ "${1:-build}" = test ] || [ "${1:-build}" = bench ]; then
  command -v node >/dev/null 2>&1 || missing="$missing nodejs"
  command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
for package in $wanted; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "parley needs these Debian packages:$missing" >&2
  echo "Install them as root, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi

echo "Installing:$missing"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
