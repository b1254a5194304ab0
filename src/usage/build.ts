import {UsageGraph} from './graph.js'
import {UsageReader} from './reader.js'
import {addConfiguration, readConfiguration} from './sources/configuration.js'
import {envContext, readContext} from './sources/context.js'
import {addActiveRevisions, readEnvironments} from './sources/environments.js'
import {modelTags, readModels} from './sources/models.js'
import {readOwnerNames} from './sources/owners.js'
import {addProjects, readProjects} from './sources/projects.js'
import {addRuns, readRuns} from './sources/runs.js'
import {EnvironmentTagIndex} from './sources/tag-index.js'
import {addWorkspaces, readSessions, readWorkspaces} from './sources/workspaces.js'

/**
 * Restricts the build to what can affect some environments or models: the live re-check before a delete asks
 * this instead of rebuilding the whole graph. The same rules run on the restricted data.
 */
export interface UsageScope {
  environmentIds?: string[]
  modelIds?: string[]
}

export interface BuildOptions {
  /** "Now" for running workspaces (in use right now); defaults to the current time. */
  now?: Date
  /** Called for every document read (progress display; tests use it to fail a source mid-read). */
  onDocument?: (collection: string, count: number) => Promise<void> | void
  scope?: UsageScope
}

/**
 * Reads every usage source of the database (one module per source under ./sources/) and joins them in memory
 * into a {@link UsageGraph}. The sources are read one after the other, in a fixed order, and then attached to the
 * tags in a fixed order, so a graph's source lists are deterministic.
 */
export async function buildUsageGraph(db: import('mongodb').Db, opts: BuildOptions = {}): Promise<UsageGraph> {
  const now = opts.now ?? new Date()
  const {scope} = opts
  const reader = new UsageReader(db, opts.onDocument)
  await reader.init()
  const ctx = await readContext(reader, scope)

  // Read: environments first, since every later source of a scoped build is matched against their ids.
  const {envs, revs} = await readEnvironments(ctx)
  const envCtx = envContext(ctx, envs.keys(), revs.keys())
  const projects = await readProjects(envCtx)
  const runs = await readRuns(envCtx)
  const sessions = await readSessions(envCtx)
  const workspaces = await readWorkspaces(envCtx, sessions, projects)
  const modelSources = await readModels(ctx, envCtx.revIds)
  const configuration = await readConfiguration(envCtx)

  // Assemble: one TagUsage per environment revision tag and per model version.
  const index = new EnvironmentTagIndex(envs, revs)
  addActiveRevisions(index, envs)
  addRuns(index, runs, projects)
  addProjects(index, projects)
  addWorkspaces(index, workspaces, {now, projects, sessions})
  addConfiguration(index, configuration)
  const models = modelTags(index, modelSources)

  await readOwnerNames(ctx, [...index.tags.values(), ...models.values()])
  return new UsageGraph({
    builtAt: now,
    environments: index.tags,
    models,
    scope,
    sources: [...reader.status.values()],
  })
}

export {type ImageType} from './types.js'
