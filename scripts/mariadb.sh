#!/bin/sh
# Runs a throwaway MariaDB server for development and tests, entirely inside one directory.
#
#   scripts/mariadb.sh start DIR      create DIR (once) and start the server; prints its URL
#   scripts/mariadb.sh stop DIR       shut the server down through its pid file
#   scripts/mariadb.sh url DIR        print the URL again
#   scripts/mariadb.sh run CMD ARG..  start a server in a new temporary directory, run CMD with
#                                     PARLEY_TEST_DB_URL, PARLEY_TEST_MYSQL_URL and
#                                     PARLEY_TEST_MARIADB_DIR set, then stop it and remove the
#                                     directory. Exits with CMD's status, or 77 (the ctest
#                                     "skipped" code) when MariaDB is not installed.
#
# DIR holds the data files (DIR/data), the unix socket (DIR/sock), the pid file, the error log
# and DIR/url: mysql://parley:PASSWORD@127.0.0.1:PORT/parley (mode 600). The server listens on
# 127.0.0.1 only, on a port that was free at the first start. A later `start DIR` reuses the
# data, the port and the password, so a test can stop the server and bring the same one back.
#
# The user `parley` owns every database whose name starts with "parley", so tests can create a
# fresh database per server or test case. The server, each database and each connection use
# utf8mb4, because a bare MariaDB defaults to latin1.
set -eu

START_TIMEOUT_S=60
STOP_TIMEOUT_S=60

die() {
  echo "mariadb.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start DIR | stop DIR | url DIR | run COMMAND [ARG...]" >&2
  exit 2
}

mariadbd_path() {
  command -v mariadbd 2>/dev/null || { [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd; } ||
    true
}

free_port() {
  python=/usr/bin/python3
  [ -x "$python" ] || python=python3
  "$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

random_password() {
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# Runs SQL as root over the unix socket. Root has no password, so only a process that can
# reach DIR/sock (the owner of DIR) can log in as root.
root_sql() {
  mariadb --no-defaults --socket="$dir/sock" --user=root --default-character-set=utf8mb4 \
    --batch -e "$1"
}

is_running() {
  [ -f "$dir/mariadbd.pid" ] && kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null
}

start() {
  mariadbd=$(mariadbd_path)
  [ -n "$mariadbd" ] || die "mariadbd is not installed (Debian package mariadb-server)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if is_running; then
    cat "$dir/url"
    return 0
  fi

  # mariadbd refuses to run as root unless told to.
  user_option=""
  if [ "$(id -u)" -eq 0 ]; then
    user_option="--user=root"
  fi

  fresh=0
  if [ ! -d "$dir/data/mysql" ]; then
    fresh=1
    rm -rf "$dir/data"
    mariadb-install-db --no-defaults --datadir="$dir/data" $user_option \
      --auth-root-authentication-method=normal --skip-test-db \
      >"$dir/install.log" 2>&1 || die "mariadb-install-db failed; see $dir/install.log"
    free_port >"$dir/port"
  fi
  port=$(cat "$dir/port")

  # The buffer pool and redo log are small because every database here is a test database.
  "$mariadbd" --no-defaults $user_option --datadir="$dir/data" --socket="$dir/sock" \
    --port="$port" --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
    --log-error="$dir/error.log" --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci --skip-name-resolve \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=32M --max-connections=500 \
    </dev/null >/dev/null 2>&1 &

  waited=0
  until mariadb-admin --no-defaults --socket="$dir/sock" --user=root ping >/dev/null 2>&1; do
    if [ "$waited" -ge $((START_TIMEOUT_S * 10)) ]; then
      die "MariaDB in $dir did not answer within ${START_TIMEOUT_S} s; see $dir/error.log"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done

  if [ "$fresh" -eq 1 ]; then
    password=$(random_password)
    root_sql "CREATE DATABASE parley CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
      CREATE USER 'parley'@'%' IDENTIFIED BY '$password';
      GRANT ALL PRIVILEGES ON \`parley%\`.* TO 'parley'@'%';"
    (
      umask 077
      echo "mysql://parley:$password@127.0.0.1:$port/parley" >"$dir/url"
    )
  fi
  cat "$dir/url"
}

stop() {
  [ -d "$dir" ] || die "no such directory: $dir"
  if ! is_running; then
    return 0
  fi
  pid=$(cat "$dir/mariadbd.pid")
  kill -TERM "$pid"
  waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((STOP_TIMEOUT_S * 10)) ]; then
      kill -KILL "$pid" 2>/dev/null || true
      die "MariaDB (pid $pid) did not stop within ${STOP_TIMEOUT_S} s of SIGTERM and was killed"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

run() {
  [ $# -ge 1 ] || usage
  if [ -z "$(mariadbd_path)" ]; then
    echo "mariadb.sh: MariaDB is not installed (Debian package mariadb-server); skipping" >&2
    exit 77
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-mariadb-XXXXXX")
  # The trap stops the server and removes its files however the command ends.
  trap 'stop || true; rm -rf "$dir"' EXIT
  trap 'exit 130' INT TERM
  url=$(start)
  status=0
  PARLEY_TEST_DB_URL="$url" PARLEY_TEST_MYSQL_URL="$url" PARLEY_TEST_MARIADB_DIR="$dir" \
    "$@" || status=$?
  exit "$status"
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  start | stop | url)
    [ $# -eq 1 ] || usage
    dir=$1
    ;;
esac
case "$command" in
  start) start ;;
  stop) stop ;;
  url) cat "$1/url" ;;
  run) run "$@" ;;
  *) usage ;;
esac
