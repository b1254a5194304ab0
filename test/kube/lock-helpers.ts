import * as k8s from '@kubernetes/client-node'
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'

import type {RoleRule} from '../support/drc-role.js'

import {DEFAULT_LEASE_NAME, DELETE_ENV, type DeletionUnlockOptions} from '../../packages/core/src/kube/registry-lock.js'
import {DrcError} from '../../packages/core/src/lib/errors.js'
import {type ClusterRegistry, resourcePath} from '../support/kube-cluster.js'
import {kube} from '../support/kube-rest.js'
import {deleteManifest, pushImage} from '../support/registry-push.js'

const {PatchStrategy, setHeaderOptions} = k8s
export const REPO = 'dominodatalab/environment'
export const fast: DeletionUnlockOptions = {pollIntervalMs: 50, rolloutTimeoutMs: 20_000}

/** drc's least-privilege Role (see test/support/drc-role.ts). */
export {DRC_ROLE_RULES as LOCK_RULES} from '../support/drc-role.js'

export async function expectRefusal(promise: Promise<unknown>): Promise<DrcError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(DrcError)
    return error as DrcError
  }

  throw new Error('expected an error, the call succeeded')
}

export const lockConfig = (pair: ClusterRegistry, kubeconfig = pair.kubeconfigPath) => ({
  kubernetes: {
    domino_platform_namespace: pair.namespace,
    kubeconfig,
    registry_config_path: '/etc/docker/registry/config.yml',
    registry_in_cluster: 'true',
    registry_statefulset: pair.name,
  },
})

/** Test-side views and actions on a cluster registry (all through the real API server, as an admin). */
export function lockView(pair: ClusterRegistry) {
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(pair.kubeconfigPath)
  const apps = kc.makeApiClient(k8s.AppsV1Api)
  let tagCounter = 0
  const sts = () => pair.get('statefulsets', pair.name)
  const view = {
    apps,
    del: async (digest: string) => (await deleteManifest(pair.registry.url, REPO, digest)).status,
    async deleteEnv(): Promise<k8s.V1EnvVar | undefined> {
      return (await sts())?.spec.template.spec.containers[0].env?.find((e: k8s.V1EnvVar) => e.name === DELETE_ENV)
    },
    async generation(): Promise<number> {
      return (await sts()).metadata.generation
    },
    lease: () => pair.get('leases', DEFAULT_LEASE_NAME),
    async leaseHolder(): Promise<string | undefined> {
      return (await view.lease())?.spec?.holderIdentity
    },
    push: async () => pushImage(pair.registry.url, REPO, `t${++tagCounter}`, [randomBytes(512)]),
    /** Sets the env entry directly (like an operator would) and waits until the registry runs with it. */
    async setEnvDirectly(value: string | undefined): Promise<void> {
      const current = await apps.readNamespacedStatefulSet({name: pair.name, namespace: pair.namespace})
      const hasEnv = current.spec!.template.spec!.containers[0].env !== undefined
      const env = current.spec!.template.spec!.containers[0].env ?? []
      const index = env.findIndex((e) => e.name === DELETE_ENV)
      const path = `/spec/template/spec/containers/0/env`
      if (value === undefined && index === -1) return
      const op =
        value === undefined
          ? {op: 'remove', path: `${path}/${index}`}
          : index === -1
            ? hasEnv
              ? {op: 'add', path: `${path}/-`, value: {name: DELETE_ENV, value}}
              : {op: 'add', path, value: [{name: DELETE_ENV, value}]}
            : {op: 'replace', path: `${path}/${index}`, value: {name: DELETE_ENV, value}}
      await apps.patchNamespacedStatefulSet(
        {body: [op], name: pair.name, namespace: pair.namespace},
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )
      await pair.waitForRollouts()
    },
  }
  return view
}

/**
 * Replaces the rules of a Role (made by serviceAccountKubeconfig) and waits until the real authorizer applies them
 * (a SubjectAccessReview for the ServiceAccount answers as the rules say).
 */
export async function setRoleRules(
  pair: ClusterRegistry,
  role: string,
  rules: RoleRule[],
  probe: {allowed: boolean; group: string; resource: string; verb: string},
): Promise<void> {
  const {endpoint} = pair.cluster
  const rolePath = resourcePath('roles', pair.namespace, role)
  const current = await kube(endpoint, 'GET', rolePath)
  await kube(endpoint, 'PUT', rolePath, {...current.body, rules})
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      resourceAttributes: {group: probe.group, namespace: pair.namespace, resource: probe.resource, verb: probe.verb},
      user: `system:serviceaccount:${pair.namespace}:${role}`,
    },
  }
  for (let i = 0; i < 100; i++) {
    // eslint-disable-next-line no-await-in-loop
    const answer = await kube(endpoint, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', review)
    if (Boolean(answer.body.status?.allowed) === probe.allowed) return
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 50)
    })
  }

  throw new Error(`RBAC for ${role} did not reach allowed=${probe.allowed} on ${probe.verb} ${probe.resource}`)
}

export {withoutVerb} from '../support/drc-role.js'
