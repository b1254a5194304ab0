#!/usr/bin/env bash
# The whole test run, as CI does it: dependencies, real services, build, then every test with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi

# Setup failures still end with the summary line CI reads.
if ! node --import tsx test/support/install.ts; then
  echo "installing the test services failed (see above)"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! npm run build --silent; then
  echo "the build (core + plugins) failed (see above)"
  echo "0 passed, 1 failed"
  exit 1
fi

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
set +e
# The global setup (test/support/setup.ts) prints how long the services took to start.
DRC_TEST_SUMMARY_FILE="$summary" npx mocha --reporter ./test/support/reporter.cjs \
  'test/**/*.test.ts' 'plugins/*/test/**/*.test.ts' 'examples/*/test/**/*.test.ts' "$@"
status=$?
set -e

echo "test run took $(($(date +%s) - started)) s (install + build + services + tests)"
if [ -s "$summary" ]; then
  line=$(cat "$summary")
else
  # Mocha stopped before reporting (e.g. the services failed to start): that is a failure.
  line="0 passed, 1 failed"
  [ "$status" -ne 0 ] || status=1
fi

passed=${line%% passed*}
failed=${line#*, }
failed=${failed%% *}

# Style is part of the bar: eslint (eslint-config-oclif) and prettier each count as one check.
for check in "npx eslint ." "npx prettier --check . --log-level warn"; do
  if $check; then passed=$((passed + 1)); else
    echo "style check failed: $check"
    failed=$((failed + 1))
  fi
done

if [ "$failed" != "0" ] && [ "$status" -eq 0 ]; then status=1; fi
echo "$passed passed, $failed failed"
exit "$status"
