#!/usr/bin/env bash
# The Prometheus text-format parser the metrics test uses: the official Python client's, in a cached virtualenv.
# Prints the python to run it with.
set -euo pipefail
cache="${MAESTRO_CI_CACHE:-$HOME/.cache/maestro-ci}"
venv="$cache/prometheus-client-0.26.0"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import prometheus_client' 2> /dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet 'prometheus-client==0.26.0' >&2
fi
echo "$venv/bin/python"
