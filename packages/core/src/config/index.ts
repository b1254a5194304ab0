export {KEYS, REPORT_NAMES} from './keys.js'
export {loadConfig, reportPath} from './load.js'
export {flattenConfig, REDACTED, redactValue} from './redact.js'
export type {ConfigIssue, DrcConfig, LoadedConfig, ValueSource} from './types.js'
export {
  isValidKubernetesName,
  isValidRegistryUrl,
  isValidRepository,
  isValidS3Bucket,
  stripScheme,
  validateConfig,
} from './validate.js'
