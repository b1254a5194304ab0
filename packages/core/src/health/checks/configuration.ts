import type {HealthCheck} from '../types.js'

/** Re-states the loader's validation: every bad key with its rule, so the other results can be trusted. */
export const configurationCheck: HealthCheck = {
  name: 'configuration',
  optional: false,
  required: true,
  async run({loaded}) {
    const details = {file: loaded.file, warnings: loaded.warnings.map((w) => `${w.path}: ${w.message}`)}
    if (loaded.errors.length === 0) return {details, message: 'Configuration is valid', status: 'healthy'}
    const problems = loaded.errors.map((e) => (e.message.startsWith(e.path) ? e.message : `${e.path}: ${e.message}`))
    return {
      details: {...details, errors: problems},
      message: `Configuration validation failed: ${problems.join('; ')}`,
      status: 'unhealthy',
      suggestions: [
        'fix the values named above (file, environment variable or flag)',
        'run `drc config show` to see where each value comes from',
      ],
    }
  },
}
