import type {Document} from 'mongodb'

import type {WorkspaceUsageType} from '../types.js'
import type {EnvContext} from './context.js'
import type {EnvironmentTagIndex} from './tag-index.js'

import {specFilter} from '../ids.js'
import {hexOf, parseRevisionSpec} from '../tags.js'
import {parseTimestamp} from '../timestamps.js'
import {projectDefaultRevision} from './projects.js'
import {FINAL_STATUS} from './runs.js'

/** What the sessions of one workspace used. */
export interface SessionRefs {
  computeEnvs: Set<string>
  computeRevs: Set<string>
  envs: Set<string>
  revs: Set<string>
  running: boolean
}

const RUNNING = /^(running|starting|pending|queued|preparing|pulling|restarting)$/i

/** A session that has not ended (a status that is not final; no status and no end time) uses its images now. */
function sessionInProgress(d: Document): boolean {
  const status = d.rawExecutionDisplayStatus
  if (typeof status === 'string') return !FINAL_STATUS.test(status)
  return !parseTimestamp(d.completed)
}

/**
 * Workspace sessions (ALL of them), folded per workspace. A scoped build reads the sessions that name the scope,
 * and `readWorkspaceSessions` then reads every session of the workspaces found (whether one runs decides "now").
 */
export async function readSessions(ctx: EnvContext): Promise<Map<string, SessionRefs>> {
  if (!ctx.touched) return new Map()
  const {envIds, idFilter, revIds} = ctx
  const filter = ctx.scoped
    ? {
        $or: [
          idFilter('environmentRevisionId', revIds),
          idFilter('computeClusterEnvironmentRevisionId', revIds),
          idFilter('environmentId', envIds),
          idFilter('computeClusterEnvironmentId', envIds),
          idFilter('config.environmentId', envIds),
          idFilter('config.computeClusterProps.computeEnvironmentId', envIds),
        ],
      }
    : {}
  return foldSessions(ctx, filter)
}

/** Scoped builds: every session of the given workspaces. */
export async function readWorkspaceSessions(
  ctx: EnvContext,
  workspaces: Document[],
): Promise<Map<string, SessionRefs>> {
  const ids = workspaces.map((w) => hexOf(w._id)).filter((x): x is string => x !== null)
  return foldSessions(ctx, ctx.idFilter('workspaceId', ids))
}

async function foldSessions(ctx: EnvContext, filter: Document): Promise<Map<string, SessionRefs>> {
  const sessions = new Map<string, SessionRefs>()
  for await (const d of ctx.reader.find('workspace_session', filter, {
    completed: 1,
    computeClusterEnvironmentId: 1,
    computeClusterEnvironmentRevisionId: 1,
    'config.computeClusterProps.computeEnvironmentId': 1,
    'config.environmentId': 1,
    environmentId: 1,
    environmentRevisionId: 1,
    rawExecutionDisplayStatus: 1,
    workspaceId: 1,
  })) {
    const ws = hexOf(d.workspaceId)
    if (!ws) continue
    let refs = sessions.get(ws)
    if (!refs) {
      refs = {computeEnvs: new Set(), computeRevs: new Set(), envs: new Set(), revs: new Set(), running: false}
      sessions.set(ws, refs)
    }

    const rev = hexOf(d.environmentRevisionId)
    const env = hexOf(d.environmentId) ?? hexOf(d.config?.environmentId)
    if (rev) refs.revs.add(rev)
    else if (env) refs.envs.add(env)
    const crev = hexOf(d.computeClusterEnvironmentRevisionId)
    const cenv = hexOf(d.computeClusterEnvironmentId) ?? hexOf(d.config?.computeClusterProps?.computeEnvironmentId)
    if (crev) refs.computeRevs.add(crev)
    else if (cenv) refs.computeEnvs.add(cenv)
    if (sessionInProgress(d)) refs.running = true
  }

  return sessions
}

/** The workspaces that are not deleted: those of the sessions, of the environments, or of the projects read. */
export async function readWorkspaces(
  ctx: EnvContext,
  sessions: Map<string, SessionRefs>,
  projects: Map<string, Document>,
): Promise<Document[]> {
  const workspaces: Document[] = []
  if (!ctx.touched) return workspaces
  const {envIds, idFilter, revIds} = ctx
  const filter = ctx.scoped
    ? {
        $or: [
          idFilter('_id', sessions.keys()),
          idFilter('configTemplate.environmentId', envIds),
          idFilter('configTemplate.computeClusterProps.computeEnvironmentId', envIds),
          idFilter('projectId', projects.keys()),
          specFilter('configTemplate.environmentRevisionSpec', revIds),
        ],
      }
    : {}
  for await (const d of ctx.reader.find('workspace', filter, {
    configTemplate: 1,
    name: 1,
    ownerId: 1,
    projectId: 1,
    state: 1,
    stateUpdatedAt: 1,
  })) {
    if (d.state !== 'Deleted') workspaces.push(d)
  }

  return workspaces
}

export function addWorkspaces(
  index: EnvironmentTagIndex,
  workspaces: Document[],
  {now, projects, sessions}: {now: Date; projects: Map<string, Document>; sessions: Map<string, SessionRefs>},
): void {
  for (const w of workspaces) {
    const wsId = hexOf(w._id)
    if (!wsId) continue
    const refs = sessions.get(wsId)
    // A running workspace uses its images right now, whatever its last state change says.
    const running = refs?.running || (typeof w.state === 'string' && RUNNING.test(w.state))
    const lastUsed = running ? now : parseTimestamp(w.stateUpdatedAt)
    const base = {
      // The state is named in the reason: a workspace that exists protects its configuration (see ../types.ts).
      detail: typeof w.state === 'string' ? w.state.toLowerCase() : 'state unknown',
      id: wsId,
      kind: 'workspace' as const,
      lastUsed,
      name: w.name,
      ownerId: hexOf(w.ownerId) ?? undefined,
    }
    // eslint-disable-next-line unicorn/consistent-function-scoping -- closes over this workspace's `base`
    const use = (rev: null | string, usageType: WorkspaceUsageType) => index.add(rev, {...base, usageType})
    const tpl = w.configTemplate ?? {}
    use(index.resolve(hexOf(tpl.environmentId), parseRevisionSpec(tpl.environmentRevisionSpec)), 'environment')
    use(index.active(hexOf(tpl.computeClusterProps?.computeEnvironmentId)), 'compute_cluster')
    const project = projects.get(hexOf(w.projectId) ?? '')
    if (project) use(projectDefaultRevision(index, project), 'project_default')
    if (refs) {
      for (const r of refs.revs) use(r, 'session')
      for (const e of refs.envs) use(index.active(e), 'session')
      for (const r of refs.computeRevs) use(r, 'session_compute')
      for (const e of refs.computeEnvs) use(index.active(e), 'session_compute')
    }
  }
}
