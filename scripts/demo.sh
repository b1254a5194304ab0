#!/usr/bin/env bash
# The main job on the embedded default: sandbox services + realistic Domino data, then drc against them.
# Fresh machine: installs npm packages and the services on first use. The sandbox stays running at the end
# (`npm run sandbox:stop` / `npm run sandbox:start` stop and resume it with its data); DRC_DEMO_KEEP=0 stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
# The installer's summary line speaks of test services; its progress on a first run is kept.
node --import tsx test/support/install.ts | { grep -v '^\[install\] all test services present' || true; }
npm run build --silent

sandbox="$root/.drc/sandbox"
services="node --import tsx scripts/services.ts"
# A new demo is a new sandbox: stop an earlier one and drop its data and reports.
$services stop --sandbox >/dev/null
rm -rf "$sandbox"
echo "==> starting the sandbox services (registry, MongoDB, S3, Keycloak, kube-apiserver)"
$services start --sandbox
# A failed demo leaves nothing running; a finished one leaves the sandbox up unless DRC_DEMO_KEEP=0.
trap 'status=$?; if [ "$status" -ne 0 ] || [ "${DRC_DEMO_KEEP:-1}" = 0 ]; then $services stop --sandbox; fi' EXIT

mongo_uri=$(node -e 'console.log(require("./.drc/sandbox/services.json").mongo.uri)')
registry_url=$(node -e 'console.log(require("./.drc/sandbox/services.json").registry.url)')
echo "==> seeding Domino data into $mongo_uri and pushing images to $registry_url"
node --import tsx scripts/seed.ts --mongo-uri "$mongo_uri" --registry-url "$registry_url" --facts "$sandbox/facts.json"
node --import tsx scripts/seed-keycloak.ts .drc/sandbox/services.json "$sandbox/facts.json"

# Operators install only the strategies they need; the sandbox links all four into its own oclif data dir.
export DRC_DATA_DIR="$sandbox/oclif/data" DRC_CONFIG_DIR="$sandbox/oclif/config" DRC_CACHE_DIR="$sandbox/oclif/cache"
echo "==> linking the strategy plugins: archived unused deactivated references"
for p in archived unused deactivated references; do
  out=$(./bin/run.js plugins link "plugins/$p" --no-install 2>&1) || { echo "$out"; exit 1; }
done
# shellcheck disable=SC1091
source "$sandbox/env.sh"

run() {
  echo
  echo "\$ drc $*"
  ./bin/run.js "$@"
}
run health
run reports
run usage report
run report image-size --limit 10
run archived list
run deactivated users
run unused list
run archived delete   # dry run: the plan, nothing changes without --apply
echo
echo "Configuration: $CONFIG_FILE  (reports in $sandbox/reports)"
if [ "${DRC_DEMO_KEEP:-1}" != 0 ]; then
  echo "The sandbox is still running: npm run sandbox:stop, later npm run sandbox:start (data and configuration kept)."
fi
