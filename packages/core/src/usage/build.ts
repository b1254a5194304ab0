import {UsageGraph} from './graph.js'
import {UsageReader} from './reader.js'
import {addConfiguration, readConfiguration} from './sources/configuration.js'
import {envContext, readContext} from './sources/context.js'
import {addActiveRevisions, readCloneDescendants, readEnvironments} from './sources/environments.js'
import {modelTags, readModels} from './sources/models.js'
import {readOwnerNames} from './sources/owners.js'
import {addProjects, readProjects} from './sources/projects.js'
import {addRuns, readRuns} from './sources/runs.js'
import {EnvironmentTagIndex} from './sources/tag-index.js'
import {addWorkspaces, readSessions, readWorkspaces, readWorkspaceSessions} from './sources/workspaces.js'

/**
 * Restricts the build to what can affect some environments or models: the live re-check before a delete asks
 * this instead of rebuilding the whole graph. The same rules run on the restricted data.
 */
export interface UsageScope {
  /** Environments read in full (with everything that names them). */
  environmentIds?: string[]
  modelIds?: string[]
  /** Model image tags whose verdict must be exact (their versions are found by slug tag as well). */
  modelTags?: string[]
  /** Revisions whose tags' verdicts must be exact: read by id, and whatever can name them is read too. */
  revisionIds?: string[]
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
  const {envIds, envs, revs} = await readEnvironments(ctx)
  const envCtx = envContext(ctx, envIds, revs.keys())
  const projects = await readProjects(envCtx)
  const runs = await readRuns(envCtx, now)
  let sessions = await readSessions(envCtx)
  const workspaces = await readWorkspaces(envCtx, sessions, projects)
  // A scoped build has read only the sessions naming the scope: whether a workspace runs needs all of its sessions.
  if (ctx.scoped) sessions = await readWorkspaceSessions(envCtx, workspaces)
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
  // The clone chain rule needs every kept descendant of the scope's revisions (the full build has them all).
  const revisions = new Map(revs)
  if (ctx.scoped) for (const [id, r] of await readCloneDescendants(ctx, revs.keys())) revisions.set(id, r)
  return new UsageGraph({
    builtAt: now,
    environments: index.tags,
    models,
    revisions,
    scope,
    sources: [...reader.status.values()],
  })
}

export {type ImageType} from './types.js'
