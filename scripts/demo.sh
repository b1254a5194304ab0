#!/usr/bin/env bash
# The main job on the embedded default: sandbox services + realistic Domino data, then drc against them.
# Fresh machine: installs npm packages and the services on first use. DRC_DEMO_KEEP=1 leaves the services running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
node --import tsx test/support/install.ts
npm run build --silent

sandbox="$root/.drc/sandbox"
# New services hold new data: reports of an earlier sandbox must not be reused.
rm -rf "$sandbox"
mkdir -p "$sandbox"
node --import tsx scripts/services.ts start
trap '[ "${DRC_DEMO_KEEP:-}" = 1 ] || node --import tsx scripts/services.ts stop' EXIT

node --import tsx scripts/sandbox-config.ts .drc/services.json "$sandbox" >/dev/null
mongo_uri=$(node -e 'console.log(require("./.drc/services.json").mongo.uri)')
registry_url=$(node -e 'console.log(require("./.drc/services.json").registry.url)')
echo "==> seeding Domino data into $mongo_uri and pushing images to $registry_url"
node --import tsx scripts/seed.ts --mongo-uri "$mongo_uri" --registry-url "$registry_url" --facts "$sandbox/facts.json"
node --import tsx scripts/seed-keycloak.ts .drc/services.json "$sandbox/facts.json"

# Operators install only the strategies they need; the sandbox links all four into its own oclif data dir.
export DRC_DATA_DIR="$sandbox/oclif/data" DRC_CONFIG_DIR="$sandbox/oclif/config" DRC_CACHE_DIR="$sandbox/oclif/cache"
for p in archived unused deactivated references; do ./bin/run.js plugins link "plugins/$p" --no-install >/dev/null; done
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
if [ "${DRC_DEMO_KEEP:-}" = 1 ]; then echo "Services left running: npm run services:stop"; fi
