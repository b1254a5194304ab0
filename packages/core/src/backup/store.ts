import type {Readable} from 'node:stream'

import type {BackupStore} from './types.js'

import {DrcError} from '../lib/errors.js'

/** An S3 failure naming the operation, bucket and key, so the operator knows which object and where. */
export class S3BackupError extends DrcError {
  constructor(
    readonly operation: string,
    readonly bucket: string,
    readonly key: string,
    cause: unknown,
  ) {
    const e = cause as {$metadata?: {httpStatusCode?: number}; message?: string; name?: string}
    const status = e.$metadata?.httpStatusCode
    const code = e.name ?? 'Error'
    super(
      `S3 ${operation} of s3://${bucket}/${key} failed: ${code}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(cause)}`,
      {cause, suggestions: suggestionsFor(code, status, bucket)},
    )
    this.name = 'S3BackupError'
  }
}

function suggestionsFor(code: string, status: number | undefined, bucket: string): string[] {
  if (code === 'NoSuchBucket') return [`create bucket "${bucket}" or fix s3.bucket (S3_BUCKET)`]
  if (status === 403 || code === 'AccessDenied') {
    return [`grant s3:GetObject, s3:PutObject and s3:ListBucket on "${bucket}" to drc's AWS identity`]
  }

  return ['check s3.endpoint, s3.region and the AWS credentials']
}

function isNotFound(error: unknown): boolean {
  const e = error as {$metadata?: {httpStatusCode?: number}; name?: string}
  if (e.name === 'NoSuchBucket') return false
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
}

export interface ObjectHead {
  contentType: string | undefined
  metadata: Record<string, string>
  size: number
}

// Imported on use, so `drc --help` does not load the AWS SDK.
const s3 = async () => import('@aws-sdk/client-s3')

export function withStore(store: BackupStore) {
  const {bucket, client} = store

  return {
    bucket,

    /** The whole object (use for manifests and records only), or null when the key does not exist. */
    async getBytes(
      key: string,
    ): Promise<null | {body: Buffer; contentType: string | undefined; etag: string | undefined}> {
      const {GetObjectCommand} = await s3()
      try {
        const res = await client.send(new GetObjectCommand({Bucket: bucket, Key: key}))
        const body = Buffer.from(await res.Body!.transformToByteArray())
        return {body, contentType: res.ContentType, etag: res.ETag}
      } catch (error) {
        if (isNotFound(error)) return null
        throw new S3BackupError('GetObject', bucket, key, error)
      }
    },

    /** The object's body as a stream (blobs), or null when the key does not exist. */
    async getStream(key: string): Promise<null | {size: number; stream: Readable}> {
      const {GetObjectCommand} = await s3()
      try {
        const res = await client.send(new GetObjectCommand({Bucket: bucket, Key: key}))
        return {size: res.ContentLength ?? -1, stream: res.Body as Readable}
      } catch (error) {
        if (isNotFound(error)) return null
        throw new S3BackupError('GetObject', bucket, key, error)
      }
    },

    /**
     * Object size and metadata, or null when the key does not exist. A HEAD 404 has no body, so a missing
     * bucket also reads as "absent" here; the write or GET that follows names it.
     */
    async head(key: string): Promise<null | ObjectHead> {
      const {HeadObjectCommand} = await s3()
      try {
        const res = await client.send(new HeadObjectCommand({Bucket: bucket, Key: key}))
        return {contentType: res.ContentType, metadata: res.Metadata ?? {}, size: res.ContentLength ?? 0}
      } catch (error) {
        if (isNotFound(error)) return null
        throw new S3BackupError('HeadObject', bucket, key, error)
      }
    },

    /** Every key under `prefix` (ListObjectsV2, all pages). */
    async listKeys(prefix: string): Promise<Array<{key: string; lastModified?: Date; size: number}>> {
      const {ListObjectsV2Command} = await s3()
      const out: Array<{key: string; lastModified?: Date; size: number}> = []
      let token: string | undefined
      try {
        do {
          // eslint-disable-next-line no-await-in-loop -- pages follow each other
          const page = await client.send(
            new ListObjectsV2Command({Bucket: bucket, ContinuationToken: token, Prefix: prefix}),
          )
          for (const o of page.Contents ?? []) out.push({key: o.Key!, lastModified: o.LastModified, size: o.Size ?? 0})
          token = page.NextContinuationToken
        } while (token)
      } catch (error) {
        throw new S3BackupError('ListObjectsV2', bucket, prefix, error)
      }

      return out
    },

    async putBytes(
      key: string,
      body: Buffer,
      contentType: string,
      metadata: Record<string, string> = {},
    ): Promise<void> {
      const {PutObjectCommand} = await s3()
      try {
        await client.send(
          new PutObjectCommand({Body: body, Bucket: bucket, ContentType: contentType, Key: key, Metadata: metadata}),
        )
      } catch (error) {
        throw new S3BackupError('PutObject', bucket, key, error)
      }
    },

    /**
     * A conditional PutObject: `etag` = the object must still have this ETag (If-Match), null = it must not
     * exist yet (If-None-Match: *). Returns false when S3 answers 412 (someone else wrote first).
     */
    async putIfUnchanged(key: string, body: Buffer, contentType: string, etag: null | string): Promise<boolean> {
      const {PutObjectCommand} = await s3()
      const condition = etag === null ? {IfNoneMatch: '*'} : {IfMatch: etag}
      try {
        await client.send(
          new PutObjectCommand({Body: body, Bucket: bucket, ContentType: contentType, Key: key, ...condition}),
        )
        return true
      } catch (error) {
        const e = error as {$metadata?: {httpStatusCode?: number}; name?: string}
        // 409 ConditionalRequestConflict: a concurrent conditional write is in flight; retry like a 412.
        if (e.$metadata?.httpStatusCode === 412 || e.$metadata?.httpStatusCode === 409) return false
        throw new S3BackupError('PutObject (conditional)', bucket, key, error)
      }
    },

    /**
     * Streams `body` to S3 with the SDK's managed upload: one PutObject for small objects, multipart above
     * `partSize`; at most queueSize × partSize bytes are buffered. An error of `body` aborts the upload.
     */
    async putStream(
      key: string,
      body: Readable,
      opts: {contentType: string; metadata: Record<string, string>; partSize: number},
    ): Promise<void> {
      const {Upload} = await import('@aws-sdk/lib-storage')
      const upload = new Upload({
        client,
        params: {Body: body, Bucket: bucket, ContentType: opts.contentType, Key: key, Metadata: opts.metadata},
        partSize: opts.partSize,
        queueSize: 2,
      })
      try {
        await upload.done()
      } catch (error) {
        body.destroy()
        // The stream's own error (digest mismatch, registry failure) says more than the S3 wrapper would.
        if (error instanceof DrcError) throw error
        throw new S3BackupError('upload', bucket, key, error)
      }
    },
  }
}

export type Store = ReturnType<typeof withStore>
