#!/usr/bin/env bash
# Runs the core and dispatch suites on the other Node majors walbox supports (22 and 24 by default), with
# the Node binaries the npm registry's `node` package provides (npx caches them in ~/.npm/_npx). vitest's
# worker processes are forked with the same binary, so the tests run on that Node.
#
#   scripts/test-node-versions.sh            # Node 22 and 24
#   WALBOX_NODE_VERSIONS="22.23.3" scripts/test-node-versions.sh
#
# Uses DATABASE_URL like the rest of the suite (unset: an embedded Postgres per run, slower). The files are
# the core suites (append, ordering, atomicity, idempotency, inbox, namespaces, capture, the ORM executors)
# and the dispatch suites that run pg-boss and the drain loop (delivery, retries, dead letters, delays,
# replay, prepared statements), chosen to keep both runs near five minutes on 2 vCPUs; the slow crash,
# restart, outage and migration scenarios stay in the Node 20 run. Override with WALBOX_NODE_TEST_FILES.
# Exits non-zero when any version fails; every version runs regardless.
set -uo pipefail
cd "$(dirname "$0")/.."

versions=(${WALBOX_NODE_VERSIONS:-22 24})
files=(${WALBOX_NODE_TEST_FILES:-
  test/database-errors.test.ts
  test/append.int.test.ts
  test/atomicity.int.test.ts
  test/ordering.int.test.ts
  test/idempotency.int.test.ts
  test/inbox.int.test.ts
  test/namespaces.int.test.ts
  test/bad-input.int.test.ts
  test/capture-audit.int.test.ts
  test/executors
  test/dispatch/step-judge.test.ts
  test/dispatch/session-probe.test.ts
  test/dispatch/delivery.int.test.ts
  test/dispatch/whole-transactions.int.test.ts
  test/dispatch/retries.int.test.ts
  test/dispatch/dead-letters.int.test.ts
  test/dispatch/delayed.int.test.ts
  test/dispatch/prepared-statements.int.test.ts
  test/dispatch/replay.int.test.ts
})

failed=()
summary=()
for version in "${versions[@]}"; do
  # The real binary behind `npx node@N` (its bin is a small launcher): vitest forks its workers with it.
  if ! node_bin=$(npx -y "node@${version}" -p process.execPath 2>/dev/null) || [ ! -x "$node_bin" ]; then
    echo "test-node-versions: could not get Node ${version} from the npm registry (npx -y node@${version})" >&2
    failed+=("$version")
    summary+=("node@${version}: unavailable")
    continue
  fi
  actual=$("$node_bin" --version)
  echo "test-node-versions: Node ${actual} (${node_bin}): ${#files[@]} test paths"
  start=$SECONDS
  if "$node_bin" node_modules/vitest/vitest.mjs run "${files[@]}"; then
    outcome=passed
  else
    outcome=FAILED
    failed+=("$version")
  fi
  summary+=("Node ${actual}: ${outcome} in $((SECONDS - start)) s")
done

echo
printf 'test-node-versions: %s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ]
