import type {ECRClient} from '@aws-sdk/client-ecr'

import {ecrRegion} from './credentials.js'
import {assertDigest, assertTag} from './digest.js'

export interface EcrImage {
  digest: string
  pushedAt: Date | null
  /** ECR's compressed size of the image (sum of its layers). */
  sizeBytes: number
  tags: string[]
}

export interface EcrManifest {
  body: Buffer
  digest: string
  mediaType: string
}

export interface EcrDeleteResult {
  deleted: Array<{digest?: string; tag?: string}>
  failures: Array<{code: string; reason: string; ref: string}>
}

/**
 * The ECR API where it is better than the registry API: DescribeImages lists digests, tags, sizes and push times
 * in bulk (one call per 1000 images instead of a request per tag), and BatchDeleteImage deletes a *tag*, so
 * sibling tags on the same digest survive (pitfall P1 does not apply on ECR when deleting by tag).
 */
export class EcrBackend {
  /** ECR API calls made (the ECR path's counterpart of the registry client's request count). */
  calls = 0
  private client: ECRClient | undefined

  constructor(private readonly opts: {endpoint?: string; region: string; registryId?: string; signal?: AbortSignal}) {}

  /** From a registry URL `<account>.dkr.ecr.<region>.amazonaws.com`. */
  static forRegistryUrl(url: string, env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): EcrBackend {
    const account = /^(?:https?:\/\/)?(\d{12})\.dkr\.ecr\./.exec(url)?.[1]
    return new EcrBackend({
      endpoint: env.AWS_ENDPOINT_URL_ECR ?? env.AWS_ENDPOINT_URL,
      region: ecrRegion(url, env),
      registryId: account,
      signal,
    })
  }

  close(): void {
    this.client?.destroy()
    this.client = undefined
  }

  async deleteDigests(repository: string, digests: string[]): Promise<EcrDeleteResult> {
    return this.batchDelete(
      repository,
      digests.map((imageDigest) => ({imageDigest})),
    )
  }

  /** Deletes tags only: an image keeps its other tags, and disappears when its last tag goes. */
  async deleteTags(repository: string, tags: string[]): Promise<EcrDeleteResult> {
    return this.batchDelete(
      repository,
      tags.map((imageTag) => ({imageTag})),
    )
  }

  /**
   * Manifests by digest through BatchGetImage (100 per call), exact bytes as pushed. `missing` lists digests ECR
   * no longer has (deleted since they were listed).
   */
  async getManifests(
    repository: string,
    digests: readonly string[],
    acceptedMediaTypes: readonly string[],
  ): Promise<{found: EcrManifest[]; missing: string[]}> {
    const {BatchGetImageCommand} = await import('@aws-sdk/client-ecr')
    const client = await this.ecr()
    const found: EcrManifest[] = []
    const missing: string[] = []
    for (let i = 0; i < digests.length; i += 100) {
      const chunk = digests.slice(i, i + 100)
      this.calls++
      // eslint-disable-next-line no-await-in-loop
      const r = await client.send(
        new BatchGetImageCommand({
          acceptedMediaTypes: [...acceptedMediaTypes],
          imageIds: chunk.map((imageDigest) => ({imageDigest})),
          registryId: this.opts.registryId,
          repositoryName: repository,
        }),
        {abortSignal: this.opts.signal},
      )
      const got = new Set<string>()
      for (const img of r.images ?? []) {
        const digest = img.imageId?.imageDigest
        if (!digest || !img.imageManifest || got.has(digest)) continue
        assertDigest(digest, `ECR BatchGetImage digest in ${repository}`)
        got.add(digest)
        found.push({
          body: Buffer.from(img.imageManifest, 'utf8'),
          digest,
          mediaType: img.imageManifestMediaType ?? '',
        })
      }

      for (const f of r.failures ?? []) {
        if (f.failureCode !== 'ImageNotFound' && f.failureCode !== 'MissingDigestAndTag') {
          throw new Error(
            `ECR BatchGetImage failed for ${repository}@${f.imageId?.imageDigest ?? '?'}: ${f.failureCode} ${f.failureReason ?? ''}`.trim(),
          )
        }
      }

      for (const d of chunk) if (!got.has(d)) missing.push(d)
    }

    return {found, missing}
  }

  async listImages(repository: string): Promise<EcrImage[]> {
    const {DescribeImagesCommand} = await import('@aws-sdk/client-ecr')
    const client = await this.ecr()
    const out: EcrImage[] = []
    let nextToken: string | undefined
    do {
      this.calls++
      // eslint-disable-next-line no-await-in-loop
      const page = await client.send(
        new DescribeImagesCommand({
          maxResults: 1000,
          nextToken,
          registryId: this.opts.registryId,
          repositoryName: repository,
        }),
        {abortSignal: this.opts.signal},
      )
      for (const d of page.imageDetails ?? []) {
        if (!d.imageDigest) continue
        const source = `ECR DescribeImages of ${repository}`
        out.push({
          digest: assertDigest(d.imageDigest, `${source} digest`),
          pushedAt: d.imagePushedAt ?? null,
          sizeBytes: d.imageSizeInBytes ?? 0,
          tags: (d.imageTags ?? []).map((t) => assertTag(t, `${source} tag`)).sort(),
        })
      }

      nextToken = page.nextToken
    } while (nextToken)

    return out
  }

  private async batchDelete(
    repository: string,
    ids: Array<{imageDigest?: string; imageTag?: string}>,
  ): Promise<EcrDeleteResult> {
    const {BatchDeleteImageCommand} = await import('@aws-sdk/client-ecr')
    const client = await this.ecr()
    const result: EcrDeleteResult = {deleted: [], failures: []}
    // BatchDeleteImage takes at most 100 ids per call.
    for (let i = 0; i < ids.length; i += 100) {
      this.calls++
      // eslint-disable-next-line no-await-in-loop
      const r = await client.send(
        new BatchDeleteImageCommand({
          imageIds: ids.slice(i, i + 100),
          registryId: this.opts.registryId,
          repositoryName: repository,
        }),
      )
      for (const d of r.imageIds ?? []) result.deleted.push({digest: d.imageDigest, tag: d.imageTag})
      for (const f of r.failures ?? []) {
        result.failures.push({
          code: f.failureCode ?? 'Unknown',
          reason: f.failureReason ?? '',
          ref: f.imageId?.imageTag ?? f.imageId?.imageDigest ?? '?',
        })
      }
    }

    return result
  }

  private async ecr(): Promise<ECRClient> {
    if (!this.client) {
      const {ECRClient} = await import('@aws-sdk/client-ecr')
      this.client = new ECRClient({endpoint: this.opts.endpoint, region: this.opts.region})
    }

    return this.client
  }
}
