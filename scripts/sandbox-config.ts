// Writes a drc configuration (YAML) and an env file for the sandbox services described by services.json.
// Usage: node --import tsx scripts/sandbox-config.ts <services.json> <out-dir>
// scripts/services.ts calls writeSandboxConfig on every sandbox start, so the configuration follows the ports.
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseDocument, stringify} from 'yaml'

export interface SandboxServices {
  keycloak?: {adminPassword: string; adminUser: string; url: string}
  kube: {kubeconfig: string; namespace: string; statefulset: string}
  mongo: {db?: string; uri: string}
  registry: {url: string}
  s3: {accessKeyId: string; bucket: string; endpoint: string; region: string; secretAccessKey: string}
}

/** The keys that follow the running services; everything else in an existing file is the operator's. */
function endpoints(s: SandboxServices): Array<[string[], string]> {
  return [
    [['kubernetes', 'kubeconfig'], s.kube.kubeconfig],
    [['mongo', 'uri'], s.mongo.uri],
    [['registry', 'url'], s.registry.url],
    [['s3', 'endpoint'], s.s3.endpoint],
    [['s3', 'bucket'], s.s3.bucket],
    ...(s.keycloak ? [[['keycloak', 'url'], s.keycloak.url] as [string[], string]] : []),
  ]
}

function freshConfig(s: SandboxServices, outDir: string): string {
  const config = {
    analysis: {max_workers: 8, output_dir: path.resolve(outDir, 'reports')},
    keycloak: s.keycloak ? {url: s.keycloak.url, username: s.keycloak.adminUser} : undefined,
    kubernetes: {
      domino_platform_namespace: s.kube.namespace,
      kubeconfig: s.kube.kubeconfig,
      registry_in_cluster: 'true',
      registry_statefulset: s.kube.statefulset,
    },
    mongo: {db: s.mongo.db ?? 'domino', uri: s.mongo.uri},
    rate_limit: {burst_size: 100, requests_per_second: 500},
    registry: {repository: 'dominodatalab', url: s.registry.url},
    s3: {bucket: s.s3.bucket, endpoint: s.s3.endpoint, region: s.s3.region},
  }
  return `# Generated for the local sandbox by scripts/sandbox-config.ts\n${stringify(config)}`
}

/**
 * Writes `<outDir>/drc.config.yaml` and `<outDir>/env.sh`. An existing configuration is updated in place (only the
 * service endpoints change, comments and other edits stay), so a resumed sandbox on new ports stays in step.
 */
export function writeSandboxConfig(s: SandboxServices, outDir: string): string {
  mkdirSync(outDir, {recursive: true})
  const file = path.resolve(outDir, 'drc.config.yaml')
  if (existsSync(file)) {
    const doc = parseDocument(readFileSync(file, 'utf8'))
    for (const [keyPath, value] of endpoints(s)) doc.setIn(keyPath, value)
    writeFileSync(file, doc.toString())
  } else {
    writeFileSync(file, freshConfig(s, outDir))
  }

  // Secrets stay out of the YAML file: they go in the environment, as an operator would do.
  const env = [
    `export CONFIG_FILE=${JSON.stringify(file)}`,
    `export AWS_ACCESS_KEY_ID=${s.s3.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${s.s3.secretAccessKey}`,
    s.keycloak ? `export KEYCLOAK_PASSWORD=${JSON.stringify(s.keycloak.adminPassword)}` : '',
  ].filter(Boolean)
  writeFileSync(path.resolve(outDir, 'env.sh'), `${env.join('\n')}\n`)
  return file
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [servicesFile, outDir] = process.argv.slice(2)
  if (!servicesFile || !outDir) {
    console.error('usage: sandbox-config.ts <services.json> <out-dir>')
    process.exit(2)
  }

  console.log(writeSandboxConfig(JSON.parse(readFileSync(servicesFile, 'utf8')) as SandboxServices, outDir))
}
