/**
 * The one table of configuration keys: file path, type, default, environment variables, secrecy.
 * Loading, validation, `drc config show` and the README's configuration reference all read it.
 */
export type KeyType = 'boolean' | 'integer' | 'number' | 'string' | 'string[]'

export interface KeySpec {
  default: boolean | null | number | string | string[]
  description: string
  /** Environment variables that set this key; the first one present wins. */
  env?: string[]
  path: string
  secret?: boolean
  type: KeyType
}

export const REPORT_NAMES = {
  archived_tags: 'archived-tags.json',
  deactivated_user_envs: 'deactivated-user-envs.json',
  deletion_analysis: 'deletion-analysis.json',
  filtered_layers: 'filtered-layers.json',
  image_analysis: 'final-report.json',
  images_report: 'images-report',
  layers_and_sizes: 'layers-and-sizes.json',
  mongodb_usage: 'mongodb_usage_report.json',
  old_revisions: 'old-revisions.json',
  tag_sums: 'tag-sums.json',
  tags_per_layer: 'tags-per-layer.json',
  unused_environments: 'unused-environments.json',
  unused_references: 'unused-references.json',
} as const

const reportKeys: KeySpec[] = Object.entries(REPORT_NAMES).map(([name, file]) => ({
  default: file,
  description: `File name of the ${name.replaceAll('_', ' ')} report (bare name: under analysis.output_dir)`,
  path: `reports.${name}`,
  type: 'string',
}))

export const KEYS: KeySpec[] = [
  {
    default: 'docker-registry:5000',
    description: 'Registry host[:port], optionally with http:// or https://',
    env: ['REGISTRY_URL'],
    path: 'registry.url',
    type: 'string',
  },
  {
    default: 'dominodatalab',
    description: 'Base repository; images live in <repository>/environment and <repository>/model',
    env: ['REPOSITORY'],
    path: 'registry.repository',
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
    type: 'string',
  },
  {
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
    type: 'string[]',
  },
  {
    default: 'domino-platform',
    description: 'Namespace of the Domino platform (registry, MongoDB secrets)',
    env: ['DOMINO_PLATFORM_NAMESPACE'],
    path: 'kubernetes.domino_platform_namespace',
    type: 'string',
  },
  {
    default: 'docker-registry',
    description: 'StatefulSet of the in-cluster registry (deletion unlock/re-lock)',
    env: ['DRC_REGISTRY_STATEFULSET'],
    path: 'kubernetes.registry_statefulset',
    type: 'string',
  },
  {
    default: 'auto',
    description: 'Is the registry in the cluster: auto (detect from its service), true or false',
    env: ['DRC_REGISTRY_IN_CLUSTER'],
    path: 'kubernetes.registry_in_cluster',
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
    secret: true,
    type: 'string',
  },
  {
    default: 'mongodb-replicaset',
    description: 'MongoDB host',
    env: ['MONGODB_HOST'],
    path: 'mongo.host',
    type: 'string',
  },
  {default: 27_017, description: 'MongoDB port', env: ['MONGODB_PORT'], path: 'mongo.port', type: 'integer'},
  {default: 'rs0', description: 'MongoDB replica set name (empty: none)', path: 'mongo.replicaset', type: 'string'},
  {default: 'domino', description: 'MongoDB database', env: ['MONGODB_DB'], path: 'mongo.db', type: 'string'},
  {default: 'admin', description: 'MongoDB user', env: ['MONGODB_USERNAME'], path: 'mongo.username', type: 'string'},
  {
    default: null,
    description: 'MongoDB password (else read from the mongodb-replicaset-admin secret)',
    env: ['MONGODB_PASSWORD'],
    path: 'mongo.password',
    secret: true,
    type: 'string',
  },
  {default: 4, description: 'Parallel registry requests', path: 'analysis.max_workers', type: 'integer'},
  {
    default: 300,
    description:
      'Stall timeout of a registry analysis, seconds: it aborts (naming how far it got, writing no report) when no tag has been scanned for this long. Not a limit on the whole scan, so large registries are never cut off',
    path: 'analysis.timeout',
    type: 'integer',
  },
  {
    default: 'reports',
    description: 'Directory of reports, journals and caches',
    env: ['OUTPUT_DIR'],
    path: 'analysis.output_dir',
    type: 'string',
  },
  {
    default: 3,
    description: 'Retries of a failed registry/Kubernetes call (network errors, 5xx, 429)',
    path: 'retry.max_retries',
    type: 'integer',
  },
  {default: 1, description: 'First retry delay, seconds', path: 'retry.initial_delay', type: 'number'},
  {default: 60, description: 'Longest retry delay, seconds', path: 'retry.max_delay', type: 'number'},
  {default: 2, description: 'Backoff multiplier', path: 'retry.exponential_base', type: 'number'},
  {default: true, description: 'Randomise retry delays', path: 'retry.jitter', type: 'boolean'},
  {default: 300, description: 'Timeout of one call, seconds', path: 'retry.timeout', type: 'integer'},
  {default: true, description: 'Cache manifests on disk by digest', path: 'cache.enabled', type: 'boolean'},
  {
    default: 1800,
    description: 'Tag list cache TTL, seconds (within one run)',
    path: 'cache.tag_list_ttl',
    type: 'integer',
  },
  {default: 100, description: 'Tag list cache size', path: 'cache.tag_list_max_size', type: 'integer'},
  {default: 3600, description: 'Inspect cache TTL, seconds', path: 'cache.inspect_ttl', type: 'integer'},
  {default: 1000, description: 'Inspect cache size', path: 'cache.inspect_max_size', type: 'integer'},
  {default: 600, description: 'Mongo cache TTL, seconds', path: 'cache.mongo_ttl', type: 'integer'},
  {default: 500, description: 'Mongo cache size', path: 'cache.mongo_max_size', type: 'integer'},
  {default: 7200, description: 'Layer cache TTL, seconds', path: 'cache.layer_ttl', type: 'integer'},
  {default: 2000, description: 'Layer cache size', path: 'cache.layer_max_size', type: 'integer'},
  {
    default: null,
    description: 'S3 bucket for backups (empty: backups off)',
    env: ['S3_BUCKET'],
    path: 's3.bucket',
    type: 'string',
  },
  {default: 'us-west-2', description: 'S3 region', env: ['S3_REGION', 'AWS_REGION'], path: 's3.region', type: 'string'},
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
    type: 'string',
  },
  {default: true, description: 'Apply the registry request rate limit', path: 'rate_limit.enabled', type: 'boolean'},
  {
    default: 10,
    description: 'Registry requests per second (token bucket refill)',
    path: 'rate_limit.requests_per_second',
    type: 'number',
  },
  {default: 20, description: 'Token bucket size', path: 'rate_limit.burst_size', type: 'integer'},
  {
    default: null,
    description: 'Keycloak base URL, e.g. https://keycloak.example.com/auth',
    env: ['KEYCLOAK_URL', 'KEYCLOAK_HOST'],
    path: 'keycloak.url',
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
  ...reportKeys,
]

/** Legacy key paths of the predecessor's config.yaml, mapped onto ours. */
export const LEGACY_PATHS: Record<string, string> = {
  'skopeo.rate_limit.burst_size': 'rate_limit.burst_size',
  'skopeo.rate_limit.enabled': 'rate_limit.enabled',
  'skopeo.rate_limit.requests_per_second': 'rate_limit.requests_per_second',
}

export const KEY_BY_PATH = new Map(KEYS.map((k) => [k.path, k]))
