/**
 * The Helm chart under test (deploy/helm/drc): `helm lint` / `helm template` with the pinned helm, and applying the
 * rendered objects to the real test API server (server-side apply, as `kubectl apply --server-side` does).
 */
import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import YAML from 'yaml'

import type {KubeEndpoint} from '../support/kube-rest.js'

import {ensureHelm} from '../support/install.js'
import {kubeCall} from '../support/kube-rest.js'

export const CHART = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/helm/drc')
export const STRATEGIES = ['archived', 'unused', 'deactivated', 'references'] as const

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered Kubernetes objects are free-form JSON
export type K8sObject = Record<string, any>

let helm: Promise<string> | undefined
export const helmBinary = () => {
  helm ??= ensureHelm((line) => console.log(`[helm] ${line}`))
  return helm
}

/** `--set` pairs that enable every strategy (and GC) with `apply: true`. */
export const EVERYTHING_APPLY = [
  ...STRATEGIES.flatMap((s) => [`strategies.${s}.enabled=true`, `strategies.${s}.apply=true`]),
  'gc.enabled=true',
]

const setArgs = (sets: string[]) => sets.flatMap((s) => ['--set', s])

export async function helmLint(sets: string[] = []): Promise<string> {
  return execFileSync(await helmBinary(), ['lint', '--strict', CHART, ...setArgs(sets)], {encoding: 'utf8'})
}

/** `helm template` → the rendered objects (empty documents dropped). */
export async function helmTemplate(sets: string[] = [], namespace = 'domino-platform'): Promise<K8sObject[]> {
  const text = await helmTemplateText([`dominoPlatformNamespace=${namespace}`, ...sets], namespace)
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
}

export async function helmTemplateText(sets: string[], namespace = 'domino-platform'): Promise<string> {
  return execFileSync(await helmBinary(), ['template', 'drc', CHART, '--namespace', namespace, ...setArgs(sets)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

const PLURAL: Record<string, string> = {
  ConfigMap: 'configmaps',
  CronJob: 'cronjobs',
  Job: 'jobs',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ServiceAccount: 'serviceaccounts',
}

/** The REST path of a rendered object (all of the chart's objects are namespaced). */
export function objectPath(o: K8sObject): string {
  const plural = PLURAL[o.kind]
  if (!plural) throw new Error(`no REST path known for kind ${o.kind}`)
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`
  return `${base}/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`
}

/** Server-side apply (PATCH application/apply-patch+yaml; JSON is YAML); `dryRun` adds dryRun=All. */
export async function serverSideApply(endpoint: KubeEndpoint, o: K8sObject, dryRun = false): Promise<K8sObject> {
  const query = `?fieldManager=drc-helm-test&force=true${dryRun ? '&dryRun=All' : ''}`
  const reply = await kubeCall(endpoint, {
    body: o,
    contentType: 'application/apply-patch+yaml',
    method: 'PATCH',
    path: objectPath(o) + query,
  })
  return reply.body
}

/** Every pod spec of the rendered objects (CronJob job templates and Jobs), with the object that holds it. */
export function podSpecs(objects: K8sObject[]): Array<{owner: string; spec: K8sObject}> {
  const specs: Array<{owner: string; spec: K8sObject}> = []
  for (const o of objects) {
    const owner = `${o.kind}/${o.metadata.name}`
    if (o.kind === 'CronJob') specs.push({owner, spec: o.spec.jobTemplate.spec.template.spec})
    if (o.kind === 'Job') specs.push({owner, spec: o.spec.template.spec})
  }

  return specs
}
