/** Shapes of the usage graph: for every image tag, who uses it and since when. */

export type ImageType = 'environment' | 'model'

/** Configuration usage never ages out; run and workspace usage ages out with `--unused-since-days`. */
export type SourceKind =
  | 'active_revision'
  | 'app_version'
  | 'model_version'
  | 'organization'
  | 'project'
  | 'run'
  | 'scheduler_job'
  | 'user_preference'
  | 'workspace'

export const AGEING_KINDS: ReadonlySet<SourceKind> = new Set<SourceKind>(['run', 'workspace'])

export type WorkspaceUsageType = 'compute_cluster' | 'environment' | 'project_default' | 'session' | 'session_compute'

/** What a workspace's sessions used: history, which ages out like runs. */
const SESSION_USAGE: ReadonlySet<undefined | WorkspaceUsageType> = new Set(['session', 'session_compute'])

/**
 * Whether a source's usage ages out with `--unused-since-days`: runs and workspace *sessions* (history) do; what
 * an existing workspace's configuration names (environment, compute cluster, project default) does not, since a
 * stopped workspace can be started again at any time.
 */
export function ages(source: Pick<UsageSource, 'kind' | 'usageType'>): boolean {
  if (source.kind === 'workspace') return SESSION_USAGE.has(source.usageType)
  return AGEING_KINDS.has(source.kind)
}

/** A workspace source that protects as configuration (see `ages`). */
export function isWorkspaceConfig(source: Pick<UsageSource, 'kind' | 'usageType'>): boolean {
  return source.kind === 'workspace' && !ages(source)
}

export interface UsageSource {
  /** Runs only: how many runs used this revision. */
  count?: number
  detail?: string
  /** Id of the using document (for runs: the most recent run of the group). */
  id: string
  kind: SourceKind
  /** Latest use by this source, UTC; null = unknown (which counts as in use when ageing). */
  lastUsed: Date | null
  name?: string
  ownerId?: string
  projectId?: string
  usageType?: WorkspaceUsageType
}

export interface Owner {
  id: string
  login?: string
  name?: string
}

export interface TagUsage {
  archived: boolean
  /** When the image's Mongo object was created (revision / model version ObjectId time): drives the grace period. */
  createdAt: Date | null
  environmentId?: string
  imageType: ImageType
  /** Model tags: Mongo stores `<modelId>-vN` or the full tag; every stored form of this version. */
  matchKey: string
  modelId?: string
  modelVersionId?: string
  name?: string
  owner: null | Owner
  repository: string
  revisionId?: string
  sources: UsageSource[]
  /** The tag as stored in Mongo. */
  tag: string
}

export interface UsageRules {
  /**
   * False: being its environment's active revision does not by itself keep a tag. The whole-environment
   * strategies (design.md "Usage rules decided": unused environments lose their active revision too) set it;
   * whatever names the environment (project, organization, user default, ...) still keeps the active tag.
   * Default true.
   */
  activeRevisionKeeps?: boolean
  gracePeriodDays: number
  now: Date
  /** Run/workspace usage older than this many days no longer counts; undefined = all usage counts. */
  unusedSinceDays?: number
}

export interface Verdict {
  inUse: boolean
  /** Latest run/workspace use; null when none or unknown. */
  lastUsed: Date | null
  reasons: string[]
  summary: string
}
