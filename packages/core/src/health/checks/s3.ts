import type {HealthCheck} from '../types.js'

import {errorMessage} from '../../lib/errors.js'
import {createS3Client} from '../../services/s3.js'

/** The SDK's error name and HTTP status, when it has them. */
function s3Failure(error: unknown): {name?: string; status?: number} {
  const e = error as {$metadata?: {httpStatusCode?: number}; name?: string}
  return {name: e?.name, status: e?.$metadata?.httpStatusCode}
}

export const s3Check: HealthCheck = {
  name: 's3',
  optional: true,
  required: true,
  async run(ctx) {
    const {bucket, endpoint, region} = ctx.config.s3
    if (!bucket)
      return {message: 'S3 not configured (no bucket specified); backups are off', required: false, status: 'skipped'}
    const where = endpoint ? `${endpoint} (region ${region})` : `region ${region}`
    const details = {bucket, endpoint, region}
    const [{HeadBucketCommand}, client] = await Promise.all([
      import('@aws-sdk/client-s3'),
      createS3Client(ctx.config, {env: ctx.env}),
    ])
    try {
      await client.send(new HeadBucketCommand({Bucket: bucket}), {abortSignal: ctx.signal})
      return {details, message: `Successfully accessed S3 bucket ${bucket} at ${where}`, status: 'healthy'}
    } catch (error) {
      const {name, status} = s3Failure(error)
      const bucketHint = 'check s3.bucket (S3_BUCKET) and s3.region (S3_REGION)'
      const credsHint = 'check the AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profile or IAM role)'
      if (name === 'CredentialsProviderError')
        return {
          details,
          message: `No AWS credentials found for S3 bucket ${bucket}: ${errorMessage(error)}`,
          status: 'unhealthy',
          suggestions: [credsHint],
        }
      if (status === 404 || name === 'NotFound' || name === 'NoSuchBucket')
        return {
          details: {...details, status},
          message: `S3 bucket ${bucket} does not exist at ${where}`,
          status: 'unhealthy',
          suggestions: [bucketHint],
        }
      if (status === 403)
        return {
          details: {...details, status},
          message: `Access to S3 bucket ${bucket} denied (HTTP 403) at ${where}`,
          status: 'unhealthy',
          suggestions: [credsHint, bucketHint],
        }
      const {cause} = error as {cause?: unknown}
      const detail = status
        ? `HTTP ${status} ${name ?? ''}`.trim()
        : `${errorMessage(error)}${cause ? ` (${errorMessage(cause)})` : ''}`
      return {
        details: {...details, status},
        message: `Cannot access S3 bucket ${bucket} at ${where}: ${detail}`,
        status: 'unhealthy',
        suggestions: ['check s3.endpoint (DRC_S3_ENDPOINT) for an S3-compatible store, and network access', bucketHint],
      }
    } finally {
      client.destroy()
    }
  },
}
