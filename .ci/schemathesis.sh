#!/usr/bin/env bash
# Property-based API check: schemathesis (from PyPI) against the live /openapi.json of a loopback server.
# Fails on any 5xx or any response that breaks its own documented schema. Bounded: a few examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${MAESTRO_CI_CACHE:-$HOME/.cache/maestro-ci}"
venv="$cache/schemathesis-4.32.5"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis==4.32.5'
fi
work=$(mktemp -d)
token="ci-admin-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
printf '{"tokens":[{"token":"%s","owner":"ci","role":"admin"}]}\n' "$token" > "$work/tokens.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
node bin/maestro.js serve --host 127.0.0.1 --port "$port" --store memory:// --tokens "$work/tokens.json" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && break
  sleep 0.2
done
timeout 600 "$venv/bin/st" run "http://127.0.0.1:$port/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples 10 --generation-deterministic --request-timeout 10 \
  --header "Authorization: Bearer $token"
