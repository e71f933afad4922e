#!/usr/bin/env bash
# Starts mongo-java-server 1.47.0 (in-memory backend, from Maven Central) on loopback: a MongoDB-wire server that
# isolates single-document updates, so the store's findOneAndUpdate path runs in CI next to FerretDB's gated path.
# Prints the MongoDB URL on stdout; everything else goes to stderr. The caller kills $MONGO_JAVA_PID_FILE's pid.
set -euo pipefail
# shellcheck source=lib/wait-for-port.sh
source "$(dirname "$0")/lib/wait-for-port.sh"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${MAESTRO_CI_CACHE:-$HOME/.cache/maestro-ci}"
mkdir -p "$cache"
classpath_file="$cache/mongo-java-server-1.47.0.classpath"
if [ ! -s "$classpath_file" ]; then
  mvn -q -B -f "$here/mongo-java-server/pom.xml" dependency:build-classpath -Dmdep.outputFile="$classpath_file" >&2
fi
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
java -Xmx2g -cp "$(cat "$classpath_file")" "$here/mongo-java-server/MaestroMongoServer.java" "$port" >"$data/server.log" 2>&1 &
echo $! > "${MONGO_JAVA_PID_FILE:-$data/pid}"
wait_for_port "$port" "$data/server.log" mongo-java-server
