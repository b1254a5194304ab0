/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
// Loaded by mocha before any test (see .mocharc.json).
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Harness, ServiceSettings} from './harness.js'

import {dropStaleManifest} from '../../src/hooks/stale-manifest.js'

// In a workspace, @oclif/test would otherwise resolve the wrong package root (style.md §4).
process.env.OCLIF_TEST_ROOT ??= path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
// @oclif/test reads the checkout's oclif.manifest.json too: as bin/run.js does, not one older than the last build.
dropStaleManifest(process.env.OCLIF_TEST_ROOT)
// Same as bin/run.js: the pinned AWS SDK's notice about future releases needing Node 22 does not apply.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

let harness: Harness | undefined

/** The API server answers /readyz, verified with the CA of the kubeconfig the harness wrote. */
async function kubeAnswers(kubeconfig: string, url: string): Promise<boolean> {
  if (!url.startsWith('https:')) return (await fetch(`${url}/version`, {signal: AbortSignal.timeout(2000)})).ok
  const {endpointOf} = await import('./kube-cluster.js')
  const {kubeGet} = await import('./kube-rest.js')
  return (await kubeGet(endpointOf(kubeconfig), '/readyz')).status === 200
}

/** True when DRC_TEST_SERVICES names a settings file whose registry and Kubernetes API still answer. */
async function runningSetAvailable(): Promise<boolean> {
  const file = process.env.DRC_TEST_SERVICES
  if (!file || !existsSync(file)) return false
  try {
    const settings = JSON.parse(readFileSync(file, 'utf8')) as ServiceSettings
    const registry = await fetch(`${settings.registry.url}/v2/`, {signal: AbortSignal.timeout(2000)})
    return registry.status < 500 && (await kubeAnswers(settings.kube.kubeconfig, settings.kube.url))
  } catch {
    return false
  }
}

/**
 * Starts every service once per test run (Keycloak included unless DRC_TEST_KEYCLOAK=0), unless
 * DRC_TEST_SERVICES already points to a running set (e.g. from `npm run services:start`).
 */
export async function mochaGlobalSetup(): Promise<void> {
  if (await runningSetAvailable()) {
    console.log(`test services: reusing ${process.env.DRC_TEST_SERVICES}`)
    return
  }

  const {startAll} = await import('./harness.js')
  const started = Date.now()
  // Keycloak is slow to start (20–90 s). By default the setup waits for it, because tests read services().keycloak
  // synchronously. DRC_TEST_KEYCLOAK=background overlaps its start with the first tests (tests that need it must
  // then await keycloakService()); DRC_TEST_KEYCLOAK=0 leaves it out.
  const mode = process.env.DRC_TEST_KEYCLOAK
  harness = await startAll({keycloak: mode === '0' ? false : mode === 'background' ? 'background' : true})
  process.env.DRC_TEST_SERVICES = harness.servicesFile
  const parts = Object.entries(harness.settings.timings)
    .filter(([name]) => name !== 'total')
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
    .join(', ')
  console.log(
    `test services started in ${((Date.now() - started) / 1000).toFixed(1)} s (${parts}); mongo: ${harness.mongo.kind}`,
  )
  const {keycloak, settings} = harness
  if (mode === 'background') {
    keycloak?.ready.then(
      () =>
        console.error(`(keycloak ready in ${((settings.timings.keycloak ?? keycloak.startMs) / 1000).toFixed(1)} s)`),
      () => {},
    )
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  await harness?.stopAll()
  harness = undefined
}
