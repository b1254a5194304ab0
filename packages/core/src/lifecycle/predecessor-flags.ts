import {Flags} from '@oclif/core'

/**
 * The predecessor's deletion flags (domain-spec §3.6–3.11) that the lifecycle flags do not already cover: the ones
 * naming configuration map onto it (flags win over file and environment); the others have nothing left to do in drc.
 * Every strategy that keeps a predecessor alias spreads these into its flags.
 */
export const predecessorFlags = {
  'enable-docker-deletion': Flags.boolean({
    description: 'Accepted for the predecessor: drc unlocks the in-cluster registry itself when it has to.',
    hidden: true,
  }),
  'generate-reports': Flags.boolean({
    description: 'Accepted for the predecessor: drc always plans from a fresh registry scan and MongoDB.',
    hidden: true,
  }),
  region: Flags.string({description: 'S3 region of the backup bucket (s3.region).', helpGroup: 'DELETION'}),
  'registry-statefulset': Flags.string({
    description: 'StatefulSet of the in-cluster registry (kubernetes.registry_statefulset).',
    helpGroup: 'DELETION',
  }),
  'registry-url': Flags.string({description: 'Registry host[:port] (registry.url).', helpGroup: 'DELETION'}),
  repository: Flags.string({description: 'Repository prefix, e.g. dominodatalab (registry.repository).'}),
  's3-bucket': Flags.string({description: 'S3 bucket for --backup (s3.bucket).', helpGroup: 'DELETION'}),
}

export interface PredecessorFlagValues {
  region?: string
  'registry-statefulset'?: string
  'registry-url'?: string
  repository?: string
  's3-bucket'?: string
}

/** The configuration paths the predecessor's flags set. */
export function predecessorConfig(flags: PredecessorFlagValues): Record<string, unknown> {
  return {
    'kubernetes.registry_statefulset': flags['registry-statefulset'],
    'registry.repository': flags.repository,
    'registry.url': flags['registry-url'],
    's3.bucket': flags['s3-bucket'],
    's3.region': flags.region,
  }
}
