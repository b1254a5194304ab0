import {z} from 'zod'

import {
  caFile,
  type Cross,
  isHostPort,
  isValidKubernetesName,
  isValidRegistryUrl,
  isValidRepository,
  isValidS3Bucket,
  mongoUri,
  oneOf,
  range,
  text,
  warning,
} from './rules.js'

/**
 * The one table of configuration keys: file path, type, default, environment variables, secrecy, rules.
 * Loading, validation (the zod schema of src/config/schema.ts), `drc config show`, `drc config init` and the
 * README's configuration reference all read it.
 */
export type KeyType = 'boolean' | 'integer' | 'number' | 'string' | 'string[]'

export interface KeySpec {
  /** Rules that read other keys, or only warn; reported on this key. */
  cross?: Cross
  default: boolean | null | number | string | string[]
  description: string
  /** Environment variables that set this key; the first one present wins. */
  env?: string[]
  path: string
  /** The value's rule beyond its type (range, allowed values, format) as a zod schema; else the type alone. */
  rule?: z.ZodType
  secret?: boolean
  /**
   * `drc config init` writes this key uncommented with this placeholder: a key every operator must set
   * (`backups`: only with --backups).
   */
  starter?: {backups?: true; value: boolean | number | string}
  type: KeyType
}

export const REPORT_NAMES = {
  filtered_layers: 'filtered-layers.json',
  image_analysis: 'final-report.json',
  images_report: 'images-report',
  layers_and_sizes: 'layers-and-sizes.json',
  mongodb_usage: 'mongodb_usage_report.json',
  tag_sums: 'tag-sums.json',
  tags_per_layer: 'tags-per-layer.json',
} as const

const reportKeys: KeySpec[] = Object.entries(REPORT_NAMES).map(([name, file]) => ({
  default: file,
  description: `File name of the ${name.replaceAll('_', ' ')} report (bare name: under analysis.output_dir)`,
  path: `reports.${name}`,
  type: 'string',
}))

export const KEYS: KeySpec[] = [
  {
    cross: ({registry: {url}}) =>
      url && isValidRegistryUrl(url) && !isHostPort(url)
        ? warning(`Registry URL '${url}' is not of the form host[:port]`)
        : null,
    default: 'docker-registry:5000',
    description: 'Registry host[:port], optionally with http:// or https://',
    env: ['REGISTRY_URL'],
    path: 'registry.url',
    rule: text((url) =>
      url
        ? isValidRegistryUrl(url)
          ? null
          : `Registry URL '${url}' is invalid: use host[:port], without spaces`
        : 'Registry URL is required (set registry.url or REGISTRY_URL)',
    ),
    starter: {value: 'registry.example.com:5000'},
    type: 'string',
  },
  {
    default: 'dominodatalab',
    description: 'Base repository; images live in <repository>/environment and <repository>/model',
    env: ['REPOSITORY'],
    path: 'registry.repository',
    rule: text((name) =>
      name
        ? isValidRepository(name)
          ? null
          : `Repository name '${name}' contains invalid characters (allowed: letters, digits, _ - /)`
        : 'Repository name is required (set registry.repository or REPOSITORY)',
    ),
    type: 'string',
  },
  {
    default: false,
    description: 'Talk plain HTTP to a registry URL given without a scheme',
    env: ['DRC_REGISTRY_INSECURE'],
    path: 'registry.insecure',
    type: 'boolean',
  },
  {
    default: null,
    description:
      'PEM file of the CA(s) that signed the registry certificate (a private CA); added to the system CAs for the registry only',
    env: ['DRC_REGISTRY_CA_FILE'],
    path: 'registry.ca_file',
    rule: text(caFile),
    type: 'string',
  },
  {
    cross: (c) =>
      c.registry.tls_verify
        ? null
        : warning('false: the registry certificate is not verified (prefer registry.ca_file)'),
    default: true,
    description:
      'Verify the registry TLS certificate. false accepts any certificate (man-in-the-middle possible) and warns on stderr every run; prefer registry.ca_file',
    env: ['DRC_REGISTRY_TLS_VERIFY'],
    path: 'registry.tls_verify',
    type: 'boolean',
  },
  {
    default: null,
    description: 'Registry user name',
    env: ['REGISTRY_USERNAME'],
    path: 'registry.username',
    type: 'string',
  },
  {
    default: null,
    description: 'Registry password',
    env: ['REGISTRY_PASSWORD'],
    path: 'registry.password',
    secret: true,
    type: 'string',
  },
  {
    default: null,
    description: 'Extra dockerconfigjson secret (platform namespace) to read registry credentials from',
    env: ['REGISTRY_AUTH_SECRET'],
    path: 'registry.auth_secret',
    type: 'string',
  },
  {
    default: [],
    description: 'Repositories to scan (default: <repository>/environment and <repository>/model)',
    path: 'registry.scan_repositories',
    rule: z.array(
      text((repo) =>
        repo !== null && isValidRepository(repo) ? null : `Repository name '${repo}' contains invalid characters`,
      ),
    ),
    type: 'string[]',
  },
  {
    default: 'domino-platform',
    description: 'Namespace of the Domino platform (registry, MongoDB secrets)',
    env: ['DOMINO_PLATFORM_NAMESPACE'],
    path: 'kubernetes.domino_platform_namespace',
    rule: text((ns) =>
      isValidKubernetesName(ns ?? '')
        ? null
        : `Namespace '${ns ?? ''}' is not a valid Kubernetes name (lowercase letters, digits and '-', at most 253 characters)`,
    ),
    type: 'string',
  },
  {
    default: 'docker-registry',
    description: 'StatefulSet of the in-cluster registry (deletion unlock/re-lock)',
    env: ['DRC_REGISTRY_STATEFULSET'],
    path: 'kubernetes.registry_statefulset',
    rule: text((name) =>
      isValidKubernetesName(name ?? '') ? null : `StatefulSet '${name ?? ''}' is not a valid Kubernetes name`,
    ),
    type: 'string',
  },
  {
    default: '/etc/docker/registry/config.yml',
    description: "The registry's configuration file inside its container (`registry garbage-collect <path>`)",
    env: ['DRC_REGISTRY_CONFIG_PATH'],
    path: 'kubernetes.registry_config_path',
    rule: text((value) => (value?.startsWith('/') ? null : `registry_config_path '${value ?? ''}' must be absolute`)),
    type: 'string',
  },
  {
    default: 'auto',
    description: 'Is the registry in the cluster: auto (detect from its service), true or false',
    env: ['DRC_REGISTRY_IN_CLUSTER'],
    path: 'kubernetes.registry_in_cluster',
    rule: oneOf(['auto', 'true', 'false']),
    type: 'string',
  },
  {
    default: null,
    description: 'Path of a kubeconfig file (default: in-cluster, then KUBECONFIG / ~/.kube/config)',
    env: ['KUBECONFIG'],
    path: 'kubernetes.kubeconfig',
    type: 'string',
  },
  {
    default: null,
    description: 'Full MongoDB connection string; when set, host/port/replicaset are not used',
    env: ['DRC_MONGO_URI', 'MONGODB_URI'],
    path: 'mongo.uri',
    rule: text(mongoUri),
    secret: true,
    type: 'string',
  },
  {
    cross: (c) => (c.mongo.uri || c.mongo.host ? null : {message: 'MongoDB host is required'}),
    default: 'mongodb-replicaset',
    description: 'MongoDB host',
    env: ['MONGODB_HOST'],
    path: 'mongo.host',
    starter: {value: 'mongodb-replicaset'},
    type: 'string',
  },
  {
    default: 27_017,
    description: 'MongoDB port',
    env: ['MONGODB_PORT'],
    path: 'mongo.port',
    rule: range('integer', (got) => `MongoDB port must be an integer between 1 and 65535, got: ${got}`, 1, 65_535),
    starter: {value: 27_017},
    type: 'integer',
  },
  {
    default: 'rs0',
    description: 'MongoDB replica set name (empty: none)',
    path: 'mongo.replicaset',
    starter: {value: 'rs0'},
    type: 'string',
  },
  {
    cross: (c) => (c.mongo.uri || c.mongo.db ? null : {message: 'MongoDB database is required'}),
    default: 'domino',
    description: 'MongoDB database',
    env: ['MONGODB_DB'],
    path: 'mongo.db',
    starter: {value: 'domino'},
    type: 'string',
  },
  {
    default: 'admin',
    description: 'MongoDB user',
    env: ['MONGODB_USERNAME'],
    path: 'mongo.username',
    starter: {value: 'admin'},
    type: 'string',
  },
  {
    default: null,
    description: 'MongoDB password (else read from the mongodb-replicaset-admin secret)',
    env: ['MONGODB_PASSWORD'],
    path: 'mongo.password',
    secret: true,
    type: 'string',
  },
  {
    cross: (c) => (c.analysis.max_workers > 100 ? warning('max_workers above 100 may overload the registry') : null),
    default: 4,
    description: 'Parallel registry requests',
    path: 'analysis.max_workers',
    rule: range('integer', () => 'max_workers must be at least 1', 1),
    type: 'integer',
  },
  {
    cross: (c) => (c.analysis.timeout > 3600 ? warning('timeout above 3600 seconds') : null),
    default: 300,
    description:
      'Stall timeout of a registry analysis, seconds: it aborts (naming how far it got, writing no report) when no tag has been scanned for this long. Not a limit on the whole scan, so large registries are never cut off',
    path: 'analysis.timeout',
    rule: range('integer', () => 'timeout must be at least 1 second', 1),
    type: 'integer',
  },
  {
    default: 'reports',
    description: 'Directory of reports, journals and caches',
    env: ['OUTPUT_DIR'],
    path: 'analysis.output_dir',
    rule: text((dir) => (dir ? null : 'output_dir is required')),
    type: 'string',
  },
  {
    cross: (c) => (c.retry.max_retries > 10 ? warning('max_retries above 10') : null),
    default: 3,
    description: 'Retries of a failed registry/Kubernetes call (network errors, 5xx, 429)',
    path: 'retry.max_retries',
    rule: range('integer', () => 'max_retries must not be negative', 0),
    type: 'integer',
  },
  {
    default: 1,
    description: 'First retry delay, seconds',
    path: 'retry.initial_delay',
    rule: range('number', () => 'initial_delay must not be negative', 0),
    type: 'number',
  },
  {
    cross: ({retry: r}) =>
      r.max_delay < r.initial_delay ? {message: 'max_delay must not be less than initial_delay'} : null,
    default: 60,
    description: 'Longest retry delay, seconds',
    path: 'retry.max_delay',
    rule: range('number', () => 'max_delay must not be negative', 0),
    type: 'number',
  },
  {
    default: 2,
    description: 'Backoff multiplier',
    path: 'retry.exponential_base',
    rule: range('number', () => 'exponential_base must be at least 1', 1),
    type: 'number',
  },
  {default: true, description: 'Randomise retry delays', path: 'retry.jitter', type: 'boolean'},
  {
    default: 300,
    description: 'Timeout of one call, seconds',
    path: 'retry.timeout',
    rule: range('integer', () => 'retry timeout must be at least 1 second', 1),
    type: 'integer',
  },
  {default: true, description: 'Cache manifests on disk by digest', path: 'cache.enabled', type: 'boolean'},
  {
    default: null,
    description: 'S3 bucket for backups (empty: backups off)',
    env: ['S3_BUCKET'],
    path: 's3.bucket',
    rule: text((bucket) =>
      bucket && !isValidS3Bucket(bucket)
        ? `S3 bucket name '${bucket}' is invalid: 3-63 lowercase letters, digits and '-', not an IP address`
        : null,
    ),
    starter: {backups: true, value: 'my-drc-backups'},
    type: 'string',
  },
  {
    cross: (c) => (c.s3.bucket && !c.s3.region ? {message: 'S3 region is required when a bucket is set'} : null),
    default: 'us-west-2',
    description: 'S3 region',
    env: ['S3_REGION', 'AWS_REGION'],
    path: 's3.region',
    starter: {backups: true, value: 'us-west-2'},
    type: 'string',
  },
  {
    default: null,
    description: 'S3 endpoint of an S3-compatible store (path-style addressing is then used)',
    env: ['DRC_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3'],
    path: 's3.endpoint',
    type: 'string',
  },
  {default: 'drc-backups', description: 'Key prefix of backups in the bucket', path: 's3.prefix', type: 'string'},
  {
    default: null,
    description: 'PEM file of the CA(s) that signed the S3 endpoint certificate (a private CA)',
    env: ['DRC_S3_CA_FILE'],
    path: 's3.ca_file',
    rule: text(caFile),
    type: 'string',
  },
  {default: true, description: 'Apply the registry request rate limit', path: 'rate_limit.enabled', type: 'boolean'},
  {
    default: 10,
    description: 'Registry requests per second (token bucket refill)',
    path: 'rate_limit.requests_per_second',
    rule: z.number().gt(0, {error: 'requests_per_second must be positive'}),
    type: 'number',
  },
  {
    default: 20,
    description: 'Token bucket size',
    path: 'rate_limit.burst_size',
    rule: range('integer', () => 'burst_size must be at least 1', 1),
    type: 'integer',
  },
  {
    default: null,
    description: 'Keycloak base URL, e.g. https://keycloak.example.com/auth',
    env: ['KEYCLOAK_URL', 'KEYCLOAK_HOST'],
    path: 'keycloak.url',
    rule: text((url) => (url && !/^https?:\/\//.test(url) ? 'Keycloak URL must start with http:// or https://' : null)),
    type: 'string',
  },
  {
    default: 'DominoRealm',
    description: 'Realm of Domino users',
    env: ['KEYCLOAK_REALM'],
    path: 'keycloak.realm',
    type: 'string',
  },
  {default: 'master', description: 'Realm the admin logs in to', path: 'keycloak.admin_realm', type: 'string'},
  {
    default: 'keycloak',
    description: 'Keycloak admin user',
    env: ['KEYCLOAK_USERNAME'],
    path: 'keycloak.username',
    type: 'string',
  },
  {
    default: null,
    description: 'Keycloak admin password (else the keycloak-http secret)',
    env: ['KEYCLOAK_PASSWORD'],
    path: 'keycloak.password',
    secret: true,
    type: 'string',
  },
  {
    default: 7,
    description: 'Images built fewer days ago than this are never candidates',
    path: 'usage.grace_period_days',
    rule: range('integer', () => 'grace_period_days must not be negative', 0),
    type: 'integer',
  },
  {
    default: true,
    description: 'Deletion commands are dry runs unless --apply',
    path: 'security.dry_run_by_default',
    type: 'boolean',
  },
  {
    default: true,
    description: '--apply asks for confirmation unless --force',
    path: 'security.require_confirmation',
    type: 'boolean',
  },
  {
    default: 1000,
    description: 'Largest plan (manifests expected to go) a deletion run accepts; --max-delete overrides',
    env: ['DRC_MAX_DELETE'],
    path: 'security.max_delete',
    type: 'integer',
  },
  {
    default: 4,
    description: 'Manifests deleted at the same time (each still re-checked live right before its DELETE)',
    env: ['DRC_DELETE_CONCURRENCY'],
    path: 'security.delete_concurrency',
    rule: range('integer', (got) => `security.delete_concurrency must be between 1 and 64, got: ${got}`, 1, 64),
    type: 'integer',
  },
  {
    default: [],
    description: 'Tag patterns (glob: * and ?, whole tag) never deleted, whatever a strategy proposes',
    path: 'protect.tags',
    type: 'string[]',
  },
  {
    default: [],
    description: 'Environment ids whose images (tags <id>-*) are never deleted',
    path: 'protect.environment_ids',
    type: 'string[]',
  },
  {
    default: [],
    description: 'Model ids whose images (tags <id>-*) are never deleted',
    path: 'protect.model_ids',
    type: 'string[]',
  },
  {
    default: [],
    description: 'Project ids: the environments and models these projects name are never deleted',
    path: 'protect.project_ids',
    type: 'string[]',
  },
  {
    default: [],
    description: 'Repositories (glob, e.g. dominodatalab/model) never deleted from',
    path: 'protect.repositories',
    type: 'string[]',
  },
  {
    default: 30,
    description:
      'Report retention: after each report is written, older timestamped files of the same report name beyond this many are removed (the file <name>-latest.json points at is always kept; 0 keeps all). Applies to analysis, usage and plan reports; audit reports (<strategy>-audit, the record of what was deleted) are never removed',
    path: 'reports.keep',
    rule: range('integer', (got) => `reports.keep must be a whole number, 0 (keep all) or more, got: ${got}`, 0),
    type: 'integer',
  },
  ...reportKeys,
]

/** Legacy key paths of the predecessor's config.yaml, mapped onto ours. */
export const LEGACY_PATHS: Record<string, string> = {
  'skopeo.rate_limit.burst_size': 'rate_limit.burst_size',
  'skopeo.rate_limit.enabled': 'rate_limit.enabled',
  'skopeo.rate_limit.requests_per_second': 'rate_limit.requests_per_second',
}

/**
 * Keys the predecessor's config.yaml (or an older drc) had that nothing reads any more: loading one warns and
 * ignores it, never fails. The caches they sized are gone (manifests are cached by digest, which never goes
 * stale), and the report names belonged to reports drc writes to its report store instead.
 */
export const DEPRECATED_KEYS: ReadonlySet<string> = new Set([
  ...[
    'archived_tags',
    'deactivated_user_envs',
    'deletion_analysis',
    'old_revisions',
    'unused_environments',
    'unused_references',
  ].map((r) => `reports.${r}`),
  ...['tag_list', 'inspect', 'mongo', 'layer'].flatMap((c) => [`cache.${c}_ttl`, `cache.${c}_max_size`]),
])

export const KEY_BY_PATH = new Map(KEYS.map((k) => [k.path, k]))
