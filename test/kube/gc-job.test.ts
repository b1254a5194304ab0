/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'

import {withDeletionUnlocked} from '../../packages/core/src/kube/registry-lock.js'
import {type ClusterRegistry, resourcePath, startClusterRegistry} from '../support/kube-cluster.js'
import {kube} from '../support/kube-rest.js'
import {GC_LABEL} from '../support/node-sim.js'
import {deleteManifest, MANIFEST_ACCEPT, pushImage} from '../support/registry-push.js'
import {fast, lockConfig, REPO} from './lock-helpers.js'

/**
 * Garbage collection as a Kubernetes Job on the registry's storage (the path chosen over pods/exec, see
 * docs/testing.md): the real Job controller creates the pod and marks the Job complete; the simulated node runs
 * `docker-registry garbage-collect` on the registry's real data directory.
 */
describe('kube: registry garbage collection as a Job (real Job controller, simulated node)', () => {
  let pair: ClusterRegistry

  before(async function () {
    this.timeout(120_000)
    pair = await startClusterRegistry()
  })

  after(async () => pair?.stop())

  async function runGcJob(name: string): Promise<Record<string, unknown>> {
    const {endpoint} = pair.cluster
    const jobs = `/apis/batch/v1/namespaces/${pair.namespace}/jobs`
    await kube(endpoint, 'POST', jobs, {
      metadata: {name},
      spec: {
        backoffLimit: 0,
        template: {
          metadata: {labels: {[GC_LABEL]: pair.name}},
          spec: {
            containers: [
              {
                args: ['garbage-collect', '--delete-untagged', '/etc/docker/registry/config.yml'],
                command: ['/bin/registry'],
                image: 'registry:2.8.2',
                name: 'gc',
              },
            ],
            restartPolicy: 'Never',
          },
        },
      },
    })
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      // eslint-disable-next-line no-await-in-loop
      const {body} = await kube(endpoint, 'GET', `${jobs}/${name}`)
      const done = (body.status?.conditions ?? []).find(
        (c: {status: string; type: string}) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
      )
      if (done) return body.status
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => {
        setTimeout(resolve, 100)
      })
    }

    throw new Error(`Job ${name} did not finish in 30 s`)
  }

  it('frees the blobs of a deleted image; the Job completes with one succeeded pod', async () => {
    const keep = await pushImage(pair.registry.url, REPO, 'keep', [randomBytes(4096)])
    const gone = await pushImage(pair.registry.url, REPO, 'gone', [randomBytes(64 * 1024)])
    await withDeletionUnlocked(
      lockConfig(pair),
      async () => expect((await deleteManifest(pair.registry.url, REPO, gone.digest)).status).to.equal(202),
      fast,
    )
    const before = pair.registry.blobBytesOnDisk()
    const status = await runGcJob('drc-gc-1')
    expect(status).to.include({succeeded: 1})
    expect(pair.registry.blobBytesOnDisk()).to.be.below(before - 60 * 1024)
    expect(
      (
        await fetch(`${pair.registry.url}/v2/${REPO}/manifests/keep`, {
          headers: {accept: MANIFEST_ACCEPT},
          method: 'HEAD',
        })
      ).status,
    ).to.equal(200)
    const pods = await kube(
      pair.cluster.endpoint,
      'GET',
      `${resourcePath('pods', pair.namespace)}?labelSelector=job-name%3Ddrc-gc-1`,
    )
    expect(pods.body.items.map((p: {status: {phase: string}}) => p.status.phase)).to.deep.equal(['Succeeded'])
    expect(keep.digest).to.match(/^sha256:/)
  })
})
