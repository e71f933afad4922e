#!/usr/bin/env bash
# Builds FerretDB 1.24.2 (MongoDB wire protocol over SQLite) from the Go module proxy and starts it on loopback.
# Prints the MongoDB URL on stdout; everything else goes to stderr. The caller kills $FERRETDB_PID_FILE's pid.
set -euo pipefail
# shellcheck source=lib/wait-for-port.sh
source "$(dirname "$0")/lib/wait-for-port.sh"
version=v1.24.2
cache="${MAESTRO_CI_CACHE:-$HOME/.cache/maestro-ci}"
bin="$cache/ferretdb-$version"
mkdir -p "$cache"
if [ ! -x "$bin" ]; then
  # The module is built as the main module from its proxy copy, with the version file its release build
  # would generate (without it FerretDB refuses to start). The module has no replace directives.
  src_dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$(mktemp -d)
  cp -r "$src_dir/." "$work/"
  chmod -R u+w "$work"
  echo "$version" > "$work/build/version/version.txt"
  (cd "$work" && go build -o "$bin.tmp" ./cmd/ferretdb) >&2
  mv "$bin.tmp" "$bin"
  rm -rf "$work"
fi
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$bin" --handler=sqlite --sqlite-url="file:$data/" --state-dir="$data" --listen-addr="127.0.0.1:$port" \
  --debug-addr=- --telemetry=disable --log-level=WARN >"$data/ferretdb.log" 2>&1 &
echo $! > "${FERRETDB_PID_FILE:-$data/pid}"
wait_for_port "$port" "$data/ferretdb.log" FerretDB
