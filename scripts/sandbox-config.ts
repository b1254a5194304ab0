// Writes a drc configuration (YAML) and an env file for the sandbox services described by services.json.
// Usage: node --import tsx scripts/sandbox-config.ts <services.json> <out-dir>
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {stringify} from 'yaml'

interface Services {
  keycloak?: {adminPassword: string; adminUser: string; url: string}
  kube: {kubeconfig: string; namespace: string; statefulset: string}
  mongo: {db?: string; uri: string}
  registry: {url: string}
  s3: {accessKeyId: string; bucket: string; endpoint: string; region: string; secretAccessKey: string}
}

const [servicesFile, outDir] = process.argv.slice(2)
if (!servicesFile || !outDir) {
  console.error('usage: sandbox-config.ts <services.json> <out-dir>')
  process.exit(2)
}

const s = JSON.parse(readFileSync(servicesFile, 'utf8')) as Services
mkdirSync(outDir, {recursive: true})
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
const file = path.resolve(outDir, 'drc.config.yaml')
writeFileSync(file, `# Generated for the local sandbox by scripts/sandbox-config.ts\n${stringify(config)}`)
// Secrets stay out of the YAML file: they go in the environment, as an operator would do.
const env = [
  `export CONFIG_FILE=${JSON.stringify(file)}`,
  `export AWS_ACCESS_KEY_ID=${s.s3.accessKeyId}`,
  `export AWS_SECRET_ACCESS_KEY=${s.s3.secretAccessKey}`,
  s.keycloak ? `export KEYCLOAK_PASSWORD=${JSON.stringify(s.keycloak.adminPassword)}` : '',
].filter(Boolean)
writeFileSync(path.resolve(outDir, 'env.sh'), `${env.join('\n')}\n`)
console.log(file)
