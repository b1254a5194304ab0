import type {S3Client} from '@aws-sdk/client-s3'

/** Where backups live: an S3 client, its bucket, and the key prefix (config s3.bucket / s3.prefix). */
export interface BackupStore {
  bucket: string
  client: S3Client
  prefix: string
}

/** An image by tag or by digest (exactly one of the two). */
export type ImageRef =
  {digest: string; repository: string; tag?: undefined} | {digest?: undefined; repository: string; tag: string}

export interface BlobEntry {
  digest: string
  size: number
}

export interface ManifestEntry {
  digest: string
  mediaType: string
  size: number
}

/** The JSON record at images/<repository>/<tag>.json. */
export interface BackupRecord {
  /** UTC, ISO 8601. */
  backed_up_at: string
  /** Every blob of the image (all platforms), each once. */
  blobs: BlobEntry[]
  digest: string
  /** The top manifest first, then index children (depth first). */
  manifests: ManifestEntry[]
  mediaType: string
  repository: string
  tag: null | string
}

export interface BackupOptions {
  /** Blobs streamed at once (default 4). Memory use is about concurrency × queueSize × partSize. */
  concurrency?: number
  /** false: do not update index.json (the caller batches result.indexEntry into addToIndex). */
  index?: boolean
  /** Injected clock for tests. */
  now?: () => Date
  /** Called after each blob uploaded, with its size and how long it took (progress: bytes and rate). */
  onBlob?: (blob: {bytes: number; digest: string; ms: number}) => void
  /** Multipart part size in bytes (S3 minimum 5 MiB; default 8 MiB). */
  partSize?: number
}

export interface BackupResult {
  blobsSkipped: number
  blobsUploaded: number
  bytesUploaded: number
  /** The image's entry in index.json (see BackupOptions.index). */
  indexEntry: import('./oci-index.js').IndexEntry
  record: BackupRecord
  recordKey: string
}

export type ProblemKind = 'digest' | 'metadata' | 'missing' | 'record' | 'size'

export interface VerifyProblem {
  detail: string
  /** What the object should hold (digest), when known. */
  digest?: string
  key: string
  kind: ProblemKind
}

export interface VerifyResult {
  checked: {blobs: number; manifests: number}
  problems: VerifyProblem[]
  record: BackupRecord | null
  recordKey: string
  /** True only when the record, every manifest and every blob check out. */
  verified: boolean
}

export interface RestoreOptions {
  /** Blobs pushed at once (default 4). */
  concurrency?: number
  /** Restore into another repository (default: the backed-up one). */
  repository?: string
}

export interface RestoreResult {
  blobsSkipped: number
  blobsUploaded: number
  digest: string
  manifestsPushed: number
  repository: string
  tag: null | string
}
