import type {ConfigIssue, DrcConfig} from './types.js'

import {mongoUriProblem} from './mongo-uri.js'
import {caFileProblem} from './tls.js'

const REPOSITORY = /^[\w\-/]+$/
const DNS_LABEL = /^[a-z\d]([a-z\d-]*[a-z\d])?$/
const HOST_PORT = /^[\w.-]+(:\d{1,5})?$/
const IP_LIKE = /^\d+\.\d+\.\d+\.\d+$/

export function stripScheme(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')
}

export function isValidRegistryUrl(url: string): boolean {
  if (!url || /\s/.test(url)) return false
  return stripScheme(url).length > 0
}

export function isValidRepository(name: string): boolean {
  return REPOSITORY.test(name)
}

export function isValidKubernetesName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && DNS_LABEL.test(name)
}

export function isValidS3Bucket(name: string): boolean {
  return name.length >= 3 && name.length <= 63 && DNS_LABEL.test(name) && !IP_LIKE.test(name)
}

type Report = (path: string, message: string) => void
type Rules = (c: DrcConfig, err: Report, warn: Report) => void

const registryRules: Rules = (c, err, warn) => {
  if (!c.registry.url) err('registry.url', 'Registry URL is required (set registry.url or REGISTRY_URL)')
  else if (!isValidRegistryUrl(c.registry.url))
    err('registry.url', `Registry URL '${c.registry.url}' is invalid: use host[:port], without spaces`)
  else if (!HOST_PORT.test(stripScheme(c.registry.url)))
    warn('registry.url', `Registry URL '${c.registry.url}' is not of the form host[:port]`)

  if (!c.registry.repository)
    err('registry.repository', 'Repository name is required (set registry.repository or REPOSITORY)')
  else if (!isValidRepository(c.registry.repository))
    err(
      'registry.repository',
      `Repository name '${c.registry.repository}' contains invalid characters (allowed: letters, digits, _ - /)`,
    )
  for (const [key, file] of [
    ['registry.ca_file', c.registry.ca_file],
    ['s3.ca_file', c.s3.ca_file],
  ] as const) {
    const problem = file ? caFileProblem(file) : null
    if (problem) err(key, problem)
  }

  if (!c.registry.tls_verify)
    warn('registry.tls_verify', 'false: the registry certificate is not verified (prefer registry.ca_file)')
  for (const repo of c.registry.scan_repositories)
    if (!isValidRepository(repo))
      err('registry.scan_repositories', `Repository name '${repo}' contains invalid characters`)
}

const kubernetesRules: Rules = (c, err) => {
  const ns = c.kubernetes.domino_platform_namespace
  if (!isValidKubernetesName(ns))
    err(
      'kubernetes.domino_platform_namespace',
      `Namespace '${ns}' is not a valid Kubernetes name (lowercase letters, digits and '-', at most 253 characters)`,
    )
  if (!isValidKubernetesName(c.kubernetes.registry_statefulset))
    err(
      'kubernetes.registry_statefulset',
      `StatefulSet '${c.kubernetes.registry_statefulset}' is not a valid Kubernetes name`,
    )
  if (!['auto', 'false', 'true'].includes(c.kubernetes.registry_in_cluster))
    err('kubernetes.registry_in_cluster', `must be auto, true or false, got: ${c.kubernetes.registry_in_cluster}`)
}

const mongoRules: Rules = (c, err) => {
  if (c.mongo.uri) {
    const problem = /^mongodb(\+srv)?:\/\//.test(c.mongo.uri)
      ? mongoUriProblem(c.mongo.uri)
      : 'MongoDB URI must start with mongodb:// or mongodb+srv://'
    if (problem?.startsWith('MongoDB URI')) err('mongo.uri', problem)
    else if (problem)
      err('mongo.uri', `MongoDB URI does not parse: ${problem} (the URI is not shown: it may hold a password)`)
  } else {
    if (!c.mongo.host) err('mongo.host', 'MongoDB host is required')
    if (!c.mongo.db) err('mongo.db', 'MongoDB database is required')
  }

  if (!Number.isInteger(c.mongo.port) || c.mongo.port < 1 || c.mongo.port > 65_535)
    err('mongo.port', `MongoDB port must be an integer between 1 and 65535, got: ${c.mongo.port}`)
}

const analysisRules: Rules = (c, err, warn) => {
  if (c.analysis.max_workers < 1) err('analysis.max_workers', 'max_workers must be at least 1')
  else if (c.analysis.max_workers > 100) warn('analysis.max_workers', 'max_workers above 100 may overload the registry')
  if (c.analysis.timeout < 1) err('analysis.timeout', 'timeout must be at least 1 second')
  else if (c.analysis.timeout > 3600) warn('analysis.timeout', 'timeout above 3600 seconds')
  if (!c.analysis.output_dir) err('analysis.output_dir', 'output_dir is required')
}

const retryRules: Rules = (c, err, warn) => {
  const r = c.retry
  if (r.max_retries < 0) err('retry.max_retries', 'max_retries must not be negative')
  else if (r.max_retries > 10) warn('retry.max_retries', 'max_retries above 10')
  if (r.initial_delay < 0) err('retry.initial_delay', 'initial_delay must not be negative')
  if (r.max_delay < 0) err('retry.max_delay', 'max_delay must not be negative')
  if (r.max_delay < r.initial_delay) err('retry.max_delay', 'max_delay must not be less than initial_delay')
  if (r.exponential_base < 1) err('retry.exponential_base', 'exponential_base must be at least 1')
  if (r.timeout < 1) err('retry.timeout', 'retry timeout must be at least 1 second')
}

const cacheRules: Rules = (c, err) => {
  if (!c.cache.enabled) return
  for (const [key, value] of Object.entries(c.cache))
    if (typeof value === 'number' && value < 0) err(`cache.${key}`, `${key} must not be negative`)
}

const s3Rules: Rules = (c, err) => {
  if (!c.s3.bucket) return
  if (!isValidS3Bucket(c.s3.bucket))
    err(
      's3.bucket',
      `S3 bucket name '${c.s3.bucket}' is invalid: 3-63 lowercase letters, digits and '-', not an IP address`,
    )
  if (!c.s3.region) err('s3.region', 'S3 region is required when a bucket is set')
}

const otherRules: Rules = (c, err) => {
  if (c.rate_limit.requests_per_second <= 0)
    err('rate_limit.requests_per_second', 'requests_per_second must be positive')
  if (c.rate_limit.burst_size < 1) err('rate_limit.burst_size', 'burst_size must be at least 1')
  if (c.usage.grace_period_days < 0) err('usage.grace_period_days', 'grace_period_days must not be negative')
  if (c.keycloak.url && !/^https?:\/\//.test(c.keycloak.url))
    err('keycloak.url', 'Keycloak URL must start with http:// or https://')
}

const RULES: Rules[] = [
  registryRules,
  kubernetesRules,
  mongoRules,
  analysisRules,
  retryRules,
  cacheRules,
  s3Rules,
  otherRules,
]

/** The predecessor's rules, each problem naming its key; all problems are reported together. */
export function validateConfig(c: DrcConfig): {errors: ConfigIssue[]; warnings: ConfigIssue[]} {
  const errors: ConfigIssue[] = []
  const warnings: ConfigIssue[] = []
  for (const rules of RULES)
    rules(
      c,
      (path, message) => errors.push({message, path}),
      (path, message) => warnings.push({message, path}),
    )
  return {errors, warnings}
}
