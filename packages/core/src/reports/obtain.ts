import type {DrcConfig} from '../config/types.js'

import {defaultRepositories} from '../analysis/scan.js'
import {analyseRegistry, type AnalysisOptions, type AnalysisRun} from '../analysis/service.js'
import {registryBaseUrl} from '../registry/client.js'
import {kubeSecretReader} from '../registry/open.js'
import {buildImageAnalysisReport, IMAGE_ANALYSIS, type ImageAnalysisReport} from './image-analysis.js'
import {predatesLastDeletion} from './invalidation.js'
import {readLatest, writeReport} from './store.js'

export interface ObtainOptions extends Pick<AnalysisOptions, 'allRepositories' | 'readSecret'> {
  /** Ignore a fresh report and scan again (--generate-reports). */
  generate: boolean
  /** A report older than this is stale and regenerated (the predecessor used 24 h). */
  maxAgeHours: number
  /** No progress output (--json); progress otherwise goes to stderr, so stdout stays clean. */
  quiet: boolean
}

export interface ObtainedAnalysis {
  generatedAt: string
  path: string
  report: ImageAnalysisReport
  /** True when a fresh report was reused instead of scanning. */
  reused: boolean
  run?: AnalysisRun
}

/** Runs the scan as a listr2 task whose title counts tags; silent under --json, else rendered on stderr. */
export async function scanWithProgress(
  config: DrcConfig,
  opts: AnalysisOptions & {quiet: boolean},
): Promise<AnalysisRun> {
  // Quiet (--json): no renderer to drive, so listr2 is not even loaded.
  if (opts.quiet) return analyseRegistry(config, {readSecret: kubeSecretReader(config), ...opts})
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  // Everything the renderer prints goes to stderr: stdout is for the report (and --json).
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  let run: AnalysisRun | undefined
  const tasks = new Listr(
    [
      {
        async task(_ctx, task) {
          let last = 0
          run = await analyseRegistry(config, {
            readSecret: kubeSecretReader(config),
            ...opts,
            onProgress(p) {
              // Re-render at most every 100 ms: a title update per tag would cost more than the HTTP request.
              const now = Date.now()
              if (now - last < 100 && p.tagsDone < p.tagsTotal) return
              last = now
              task.title = `Scanning ${p.repositories} repositories: ${p.tagsDone}/${p.tagsTotal} tags`
            },
          })
          task.title = `Scanned ${run.stats.tags} tags in ${run.repositories.length} repositories (${run.stats.requests} requests, ${(run.stats.duration_ms / 1000).toFixed(1)} s)`
        },
        title: 'Scanning registry',
      },
    ],
    {
      exitOnError: true,
      fallbackRenderer: 'simple',
      fallbackRendererOptions: {logger},
      registerSignalListeners: false,
      renderer: opts.quiet ? 'silent' : 'default',
      rendererOptions: {logger},
    },
  )
  await tasks.run()
  return run!
}

/**
 * A fresh report is only an answer for the registry and repositories it scanned: after the configuration points
 * elsewhere (another registry, other repositories, --all-repositories), it must not be reused.
 */
export function describesScanOf(
  report: Pick<ImageAnalysisReport, 'registry_url' | 'repositories'>,
  config: DrcConfig,
  allRepositories = false,
): boolean {
  if (allRepositories) return false
  if (report.registry_url !== registryBaseUrl(config.registry.url, config.registry.insecure)) return false
  const wanted = defaultRepositories(config.registry.repository, config.registry.scan_repositories).sort()
  const scanned = report.repositories.map((r) => r.repository).sort()
  return wanted.length === scanned.length && wanted.every((r, i) => r === scanned[i])
}

/**
 * The image analysis: the latest report when it is fresh (and not --generate-reports, and not older than drc's
 * last deletion from this registry), else a new scan, written as a new timestamped report. A scan that fails
 * throws before anything is written.
 */
export async function obtainImageAnalysis(config: DrcConfig, opts: ObtainOptions): Promise<ObtainedAnalysis> {
  if (!opts.generate) {
    const latest = await readLatest<ImageAnalysisReport>(config, IMAGE_ANALYSIS.name, {
      maxAgeHours: opts.maxAgeHours,
      schemaVersion: IMAGE_ANALYSIS.version,
    })
    if (
      latest?.fresh &&
      describesScanOf(latest.envelope.data, config, opts.allRepositories) &&
      !(await predatesLastDeletion(config, latest.envelope.generated_at))
    ) {
      return {generatedAt: latest.envelope.generated_at, path: latest.path, report: latest.envelope.data, reused: true}
    }
  }

  const run = await scanWithProgress(config, opts)
  const report = buildImageAnalysisReport(run)
  const written = await writeReport(config, IMAGE_ANALYSIS.name, report, {schemaVersion: IMAGE_ANALYSIS.version})
  return {generatedAt: new Date().toISOString(), path: written.path, report, reused: false, run}
}
