import type {REPORT_NAMES} from './keys.js'

/** The effective configuration, snake_case like the predecessor's config.yaml. */
export interface DrcConfig {
  analysis: {max_workers: number; output_dir: string; timeout: number}
  cache: {enabled: boolean}
  keycloak: {admin_realm: string; password: null | string; realm: string; url: null | string; username: string}
  kubernetes: {
    domino_platform_namespace: string
    kubeconfig: null | string
    registry_config_path: string
    registry_in_cluster: string
    registry_statefulset: string
  }
  mongo: {
    db: string
    host: string
    password: null | string
    port: number
    replicaset: string
    uri: null | string
    username: string
  }
  /** Protect rules: always win over every strategy (design.md "Usage rules decided"). */
  protect: {
    environment_ids: string[]
    model_ids: string[]
    project_ids: string[]
    repositories: string[]
    tags: string[]
  }
  rate_limit: {burst_size: number; enabled: boolean; requests_per_second: number}
  registry: {
    auth_secret: null | string
    ca_file: null | string
    insecure: boolean
    password: null | string
    repository: string
    scan_repositories: string[]
    tls_verify: boolean
    url: string
    username: null | string
  }
  /** Report file names, and `keep`: how many timestamped files per report name retention keeps (0: all). */
  reports: Record<keyof typeof REPORT_NAMES, string> & {keep: number}
  retry: {
    exponential_base: number
    initial_delay: number
    jitter: boolean
    max_delay: number
    max_retries: number
    timeout: number
  }
  s3: {bucket: null | string; ca_file: null | string; endpoint: null | string; prefix: string; region: string}
  security: {
    delete_concurrency: number
    dry_run_by_default: boolean
    max_delete: number
    require_confirmation: boolean
  }
  usage: {grace_period_days: number}
}

export type ValueSource = 'default' | `env:${string}` | `file:${string}` | `flag:${string}`

export interface ConfigIssue {
  message: string
  path: string
}

export interface LoadedConfig {
  config: DrcConfig
  /** Problems that make the configuration unusable; commands that need it refuse with exit code 2. */
  errors: ConfigIssue[]
  /** The file the values came from, if any. */
  file: null | string
  sources: Record<string, ValueSource>
  warnings: ConfigIssue[]
}
