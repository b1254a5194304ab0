import type {Document} from 'mongodb'

import type {Owner, TagUsage, UsageSource, WorkspaceUsageType} from './types.js'

import {UsageGraph} from './graph.js'
import {type CollectionName, UsageReader} from './reader.js'
import {hexOf, modelTagKey, objectIdTime, parseRevisionSpec, type RevisionSpec} from './tags.js'
import {latestTimestamp, parseTimestamp} from './timestamps.js'

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

interface EnvInfo {
  activeRevisionId: null | string
  archived: boolean
  name?: string
  ownerId: null | string
  visibility?: string
}

interface RevInfo {
  authorId: null | string
  environmentId: null | string
  repository: string
  tag: null | string
}

interface RunStats {
  count: number
  latest: Date | null
  latestRunId: string
  projectId: null | string
  undated: number
}

interface SessionRefs {
  computeEnvs: Set<string>
  computeRevs: Set<string>
  envs: Set<string>
  revs: Set<string>
  running: boolean
}

const REUSABLE_VOLUME = 'RunReusableVolumeSpecification'
const RUNNING = /^(running|starting|pending|queued|preparing|pulling|restarting)$/i
const SAGA_NAMES = ['ModelVersionDeployment', 'StartModelVersion', 'StopModelVersion']
const SAGA_STATES = new Set(['slug-build-succeeded', 'succeeded'])

/** Reads every usage source of the database and joins them in memory into a {@link UsageGraph}. */
export async function buildUsageGraph(db: import('mongodb').Db, opts: BuildOptions = {}): Promise<UsageGraph> {
  const {ObjectId} = await import('mongodb')
  const now = opts.now ?? new Date()
  const {scope} = opts
  const reader = new UsageReader(db, opts.onDocument)
  await reader.init()

  // Ids are ObjectIds in Domino; matching the hex string too costs nothing and tolerates string-typed copies.
  const anyOf = (ids: Iterable<string>) => {
    const list = [...new Set(ids)]
    return {$in: [...list.map((id) => ObjectId.createFromHexString(id)), ...list]}
  }

  const envScoped = Boolean(scope)
  const scopeEnvs = scope?.environmentIds ?? []
  const scopeModels = scope?.modelIds ?? []

  // 1. Environments and their revisions: the tags.
  const envs = new Map<string, EnvInfo>()
  const revs = new Map<string, RevInfo>()
  if (!envScoped || scopeEnvs.length > 0) {
    const envFilter = envScoped ? {_id: anyOf(scopeEnvs)} : {}
    for await (const d of reader.find('environments_v2', envFilter, {
      activeRevisionId: 1,
      isArchived: 1,
      name: 1,
      ownerId: 1,
      visibility: 1,
    })) {
      const id = hexOf(d._id)
      if (!id) continue
      envs.set(id, {
        activeRevisionId: hexOf(d.activeRevisionId),
        archived: d.isArchived === true,
        name: typeof d.name === 'string' ? d.name : undefined,
        ownerId: hexOf(d.ownerId),
        visibility: typeof d.visibility === 'string' ? d.visibility : undefined,
      })
    }

    const revFilter = envScoped ? {environmentId: anyOf(scopeEnvs)} : {}
    for await (const d of reader.find('environment_revisions', revFilter, {
      environmentId: 1,
      'metadata.authorId': 1,
      'metadata.dockerImageName': 1,
    })) {
      const id = hexOf(d._id)
      if (!id) continue
      const image = d.metadata?.dockerImageName
      revs.set(id, {
        authorId: hexOf(d.metadata?.authorId),
        environmentId: hexOf(d.environmentId),
        repository: typeof image?.repository === 'string' ? image.repository : '',
        tag: typeof image?.tag === 'string' && image.tag !== '' ? image.tag : null,
      })
    }
  }

  const envIds = envScoped ? scopeEnvs : [...envs.keys()]
  const revIds = [...revs.keys()]
  const envTouched = !envScoped || envIds.length > 0

  // 2. Projects (defaults, run owners).
  const projects = new Map<string, Document>()
  if (envTouched) {
    const filter = envScoped ? {overrideV2EnvironmentId: anyOf(envIds)} : {}
    for await (const d of reader.find('projects', filter, {
      defaultEnvironmentRevisionSpec: 1,
      isArchived: 1,
      name: 1,
      overrideV2EnvironmentId: 1,
      ownerId: 1,
    })) {
      const id = hexOf(d._id)
      if (id) projects.set(id, d)
    }
  }

  // 3. Runs, folded per revision while streaming. FerretDB 1.24 implements only $count/$sum as $group
  // accumulators (no $max/$first), so the maxima are computed here; memory still grows with revisions only.
  const runs = new Map<string, RunStats>()
  if (envTouched) {
    const filter = {
      environmentRevisionId: envScoped ? anyOf(revIds) : {$exists: true},
      'volumeSpecification._t': {$ne: REUSABLE_VOLUME},
    }
    for await (const d of reader.find('runs', filter, {
      completed: 1,
      environmentRevisionId: 1,
      projectId: 1,
      started: 1,
    })) {
      const rev = hexOf(d.environmentRevisionId)
      if (!rev) continue
      let s = runs.get(rev)
      if (!s) {
        s = {count: 0, latest: null, latestRunId: hexOf(d._id) ?? '', projectId: hexOf(d.projectId), undated: 0}
        runs.set(rev, s)
      }

      s.count++
      const t = latestTimestamp([d.completed, d.started])
      if (!t) s.undated++
      else if (!s.latest || t > s.latest) {
        s.latest = t
        s.latestRunId = hexOf(d._id) ?? s.latestRunId
        s.projectId = hexOf(d.projectId)
      }
    }
  }

  // 4. Workspace sessions (ALL of them), then the workspaces they belong to.
  const sessions = new Map<string, SessionRefs>()
  if (envTouched) {
    const filter = envScoped
      ? {
          $or: [
            {environmentRevisionId: anyOf(revIds)},
            {computeClusterEnvironmentRevisionId: anyOf(revIds)},
            {environmentId: anyOf(envIds)},
            {computeClusterEnvironmentId: anyOf(envIds)},
            {'config.environmentId': anyOf(envIds)},
            {'config.computeClusterProps.computeEnvironmentId': anyOf(envIds)},
          ],
        }
      : {}
    for await (const d of reader.find('workspace_session', filter, {
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
      if (typeof d.rawExecutionDisplayStatus === 'string' && RUNNING.test(d.rawExecutionDisplayStatus))
        refs.running = true
    }
  }

  const workspaces: Document[] = []
  if (envTouched) {
    const filter = envScoped
      ? {
          $or: [
            {_id: anyOf(sessions.keys())},
            {'configTemplate.environmentId': anyOf(envIds)},
            {'configTemplate.computeClusterProps.computeEnvironmentId': anyOf(envIds)},
            {projectId: anyOf(projects.keys())},
          ],
        }
      : {}
    for await (const d of reader.find('workspace', filter, {
      configTemplate: 1,
      name: 1,
      ownerId: 1,
      projectId: 1,
      state: 1,
      stateUpdatedAt: 1,
    })) {
      if (d.state !== 'Deleted') workspaces.push(d)
    }
  }

  // 5. Models and versions (+ failed builds, deployment sagas).
  const models = new Map<string, Document>()
  const versions: Document[] = []
  if (!envScoped || revIds.length > 0 || scopeModels.length > 0) {
    let filter: Document = {}
    if (envScoped) {
      const or: Document[] = []
      if (revIds.length > 0) or.push({environmentRevisionId: anyOf(revIds)})
      if (scopeModels.length > 0) or.push({'modelId.value': anyOf(scopeModels)}, {modelId: anyOf(scopeModels)})
      filter = {$or: or}
    }

    for await (const d of reader.find('model_versions', filter, {
      environmentRevisionId: 1,
      'metadata.builds': 1,
      'metadata.createdBy': 1,
      modelId: 1,
    })) {
      versions.push(d)
    }

    const modelIds = new Set(scopeModels)
    for (const v of versions) {
      const m = hexOf(v.modelId)
      if (m) modelIds.add(m)
    }

    const modelFilter = envScoped ? {_id: anyOf(modelIds)} : {}
    for await (const d of reader.find('models', modelFilter, {
      collaboratorSettings: 1,
      isArchived: 1,
      'metadata.createdBy': 1,
      name: 1,
    })) {
      const id = hexOf(d._id)
      if (id) models.set(id, d)
    }
  }

  const failedBuilds = new Set<string>()
  const sagaLatest = new Map<string, {deployed: boolean; started: Date}>()
  if (versions.length > 0) {
    const buildIds = envScoped ? versions.flatMap((v) => buildsOf(v).flatMap((b) => buildIdsOf(b))) : []
    const buildFilter = envScoped ? {_id: anyOf(buildIds), status: 'Failed'} : {status: 'Failed'}
    for await (const d of reader.find('builds', buildFilter, {_id: 1})) {
      const id = hexOf(d._id)
      if (id) failedBuilds.add(id)
    }

    const versionIds = versions.map((v) => hexOf(v._id)).filter((x): x is string => x !== null)
    const sagaFilter: Document = {isCompleted: true, sagaName: {$in: SAGA_NAMES}}
    if (envScoped) sagaFilter['parameters.modelVersionId'] = anyOf(versionIds)
    for await (const d of reader.find('sagas', sagaFilter, {
      'parameters.modelVersionId': 1,
      sagaName: 1,
      started: 1,
      state: 1,
    })) {
      const v = hexOf(d.parameters?.modelVersionId)
      const started = parseTimestamp(d.started)
      if (!v || !started || !SAGA_STATES.has(d.state)) continue
      const prev = sagaLatest.get(v)
      if (!prev || started > prev.started) sagaLatest.set(v, {deployed: d.sagaName === 'StartModelVersion', started})
    }
  }

  // 6. Configuration references.
  const configDocs = async (name: CollectionName, field: string, projection: Document) => {
    const docs: Document[] = []
    if (!envTouched) return docs
    const filter = {[field]: envScoped ? anyOf(envIds) : {$exists: true}}
    for await (const d of reader.find(name, filter, projection)) docs.push(d)
    return docs
  }

  const jobs = await configDocs('scheduler_jobs', 'jobDataPlain.overrideEnvironmentId', {
    jobDataPlain: 1,
    jobName: 1,
    projectId: 1,
  })
  const orgs = await configDocs('organizations', 'defaultV2EnvironmentId', {defaultV2EnvironmentId: 1, name: 1})
  const apps = await configDocs('app_versions', 'environmentId', {
    appId: 1,
    environmentId: 1,
    environmentRevisionId: 1,
    versionNumber: 1,
  })
  const archivedProducts = new Set<string>()
  if (apps.length > 0) {
    const appIds = apps.map((a) => hexOf(a.appId)).filter((x): x is string => x !== null)
    for await (const d of reader.find('model_products', {_id: anyOf(appIds), isArchived: true}, {_id: 1})) {
      const id = hexOf(d._id)
      if (id) archivedProducts.add(id)
    }
  }

  const prefs = await configDocs('userPreferences', 'defaultEnvironmentId', {defaultEnvironmentId: 1, userId: 1})

  // 7. Assemble: one TagUsage per environment revision tag and per model version.
  const envTags = new Map<string, TagUsage>()
  const revTag = new Map<string, TagUsage>()
  for (const [revId, r] of revs) {
    if (!r.tag) continue
    const env = r.environmentId ? envs.get(r.environmentId) : undefined
    let u = envTags.get(r.tag)
    if (!u) {
      u = {
        archived: env?.archived ?? false,
        createdAt: objectIdTime(revId),
        environmentId: r.environmentId ?? undefined,
        imageType: 'environment',
        matchKey: r.tag,
        name: env?.name,
        // The environment's owner owns its images (user-size, domain-spec §3.4); the author only when it is gone.
        owner: owner(env?.ownerId ?? r.authorId),
        repository: r.repository,
        revisionId: revId,
        sources: [],
        tag: r.tag,
      }
      envTags.set(r.tag, u)
    }

    revTag.set(revId, u)
  }

  const resolve = (envId: null | string, spec: RevisionSpec): null | string => {
    if (spec.kind === 'some') return spec.revisionId
    // An unknown spec falls back to the active revision: protecting it is the conservative reading.
    return envId ? (envs.get(envId)?.activeRevisionId ?? null) : null
  }

  const seen = new Set<string>()
  const add = (revId: null | string, source: UsageSource) => {
    if (!revId) return
    const u = revTag.get(revId)
    if (!u) return
    // A workspace is listed once per tag and usage type; other sources once per tag.
    const key = `${u.tag}|${source.kind}|${source.id}|${source.usageType ?? ''}`
    if (seen.has(key)) return
    seen.add(key)
    u.sources.push(source)
  }

  for (const [envId, env] of envs) {
    if (!env.archived && env.activeRevisionId) {
      add(env.activeRevisionId, {
        detail: 'active revision',
        id: envId,
        kind: 'active_revision',
        lastUsed: null,
        name: env.name,
      })
    }
  }

  for (const [revId, s] of runs) {
    add(revId, {
      count: s.count,
      detail: s.undated > 0 ? `${s.undated} run(s) without start/completion time` : undefined,
      id: s.latestRunId,
      kind: 'run',
      // Any undated run makes the age unknown, which counts as in use (domain-spec §6.1 #4).
      lastUsed: s.undated > 0 ? null : s.latest,
      ownerId: (s.projectId && hexOf(projects.get(s.projectId)?.ownerId)) || undefined,
      projectId: s.projectId ?? undefined,
    })
  }

  for (const [projectId, p] of projects) {
    if (p.isArchived === true) continue
    const envId = hexOf(p.overrideV2EnvironmentId)
    if (!envId) continue
    add(resolve(envId, parseRevisionSpec(p.defaultEnvironmentRevisionSpec)), {
      id: projectId,
      kind: 'project',
      lastUsed: null,
      name: p.name,
      ownerId: hexOf(p.ownerId) ?? undefined,
    })
  }

  for (const w of workspaces) {
    const wsId = hexOf(w._id)
    if (!wsId) continue
    const refs = sessions.get(wsId)
    // A running workspace uses its images right now, whatever its last state change says.
    const running = refs?.running || (typeof w.state === 'string' && RUNNING.test(w.state))
    const lastUsed = running ? now : parseTimestamp(w.stateUpdatedAt)
    const base = {id: wsId, kind: 'workspace' as const, lastUsed, name: w.name, ownerId: hexOf(w.ownerId) ?? undefined}
    // eslint-disable-next-line unicorn/consistent-function-scoping -- closes over this workspace's `base`
    const use = (rev: null | string, usageType: WorkspaceUsageType) => add(rev, {...base, usageType})
    const tpl = w.configTemplate ?? {}
    use(resolve(hexOf(tpl.environmentId), parseRevisionSpec(tpl.environmentRevisionSpec)), 'environment')
    use(resolve(hexOf(tpl.computeClusterProps?.computeEnvironmentId), {kind: 'active'}), 'compute_cluster')
    const project = projects.get(hexOf(w.projectId) ?? '')
    if (project) {
      const penv = hexOf(project.overrideV2EnvironmentId)
      if (penv) use(resolve(penv, parseRevisionSpec(project.defaultEnvironmentRevisionSpec)), 'project_default')
    }

    if (refs) {
      for (const r of refs.revs) use(r, 'session')
      for (const e of refs.envs) use(resolve(e, {kind: 'active'}), 'session')
      for (const r of refs.computeRevs) use(r, 'session_compute')
      for (const e of refs.computeEnvs) use(resolve(e, {kind: 'active'}), 'session_compute')
    }
  }

  for (const j of jobs) {
    const envId = hexOf(j.jobDataPlain?.overrideEnvironmentId)
    const spec = j.jobDataPlain?.overrideEnvironmentRevisionSpec ?? j.jobDataPlain?.environmentRevisionSpec
    add(resolve(envId, parseRevisionSpec(spec)), {
      id: hexOf(j._id) ?? '',
      kind: 'scheduler_job',
      lastUsed: null,
      name: j.jobName,
      projectId: hexOf(j.projectId) ?? undefined,
    })
  }

  for (const o of orgs) {
    add(resolve(hexOf(o.defaultV2EnvironmentId), {kind: 'active'}), {
      id: hexOf(o._id) ?? '',
      kind: 'organization',
      lastUsed: null,
      name: o.name,
    })
  }

  for (const a of apps) {
    // Only apps whose product is not archived keep their environment (domain-spec §1.2 model_products).
    if (archivedProducts.has(hexOf(a.appId) ?? '')) continue
    const rev = hexOf(a.environmentRevisionId) ?? resolve(hexOf(a.environmentId), {kind: 'active'})
    add(rev, {
      detail: a.versionNumber === undefined ? undefined : `version ${a.versionNumber}`,
      id: hexOf(a._id) ?? '',
      kind: 'app_version',
      lastUsed: null,
      projectId: hexOf(a.appId) ?? undefined,
    })
  }

  for (const p of prefs) {
    add(resolve(hexOf(p.defaultEnvironmentId), {kind: 'active'}), {
      id: hexOf(p._id) ?? '',
      kind: 'user_preference',
      lastUsed: null,
      ownerId: hexOf(p.userId) ?? undefined,
    })
  }

  const modelTags = new Map<string, TagUsage>()
  for (const v of versions) {
    const versionId = hexOf(v._id)
    const modelId = hexOf(v.modelId)
    if (!versionId) continue
    const model = modelId ? models.get(modelId) : undefined
    const archived = model?.isArchived === true
    const saga = sagaLatest.get(versionId)
    const source: UsageSource = {
      detail: model ? (saga?.deployed ? 'deployed' : undefined) : 'model document missing',
      id: versionId,
      kind: 'model_version',
      lastUsed: saga?.started ?? null,
      name: model?.name,
      ownerId: hexOf(v.metadata?.createdBy) ?? undefined,
      projectId: modelId ?? undefined,
    }
    // Versions of archived models protect nothing; a version whose model is gone is kept (unknown ≠ unused).
    if (!archived) add(hexOf(v.environmentRevisionId), source)
    for (const b of buildsOf(v)) {
      const image = b?.slug?.image
      if (typeof image?.tag !== 'string' || image.tag === '') continue
      const key = modelTagKey(image.tag) ?? image.tag
      let u = modelTags.get(key)
      if (!u) {
        u = {
          archived,
          createdAt: objectIdTime(versionId),
          imageType: 'model',
          matchKey: key,
          modelId: modelId ?? undefined,
          modelVersionId: versionId,
          name: model?.name,
          // The model's Owner collaborator (else its creator) owns every version's image; the version's
          // creator only when the model document is gone.
          owner: owner(modelOwner(model) ?? hexOf(v.metadata?.createdBy)),
          repository: typeof image.repository === 'string' ? image.repository : '',
          sources: [],
          tag: image.tag,
        }
        modelTags.set(key, u)
      }

      const failed = buildIdsOf(b).some((id) => failedBuilds.has(id))
      if (!archived && !failed && !u.sources.some((s) => s.id === versionId)) u.sources.push(source)
    }
  }

  // 8. Names and logins of owners (optional `users`).
  const owners = new Map<string, Owner[]>()
  for (const u of [...envTags.values(), ...modelTags.values()]) {
    if (u.owner) owners.set(u.owner.id, [...(owners.get(u.owner.id) ?? []), u.owner])
  }

  const ownerIds = [...owners.keys()]
  for (let i = 0; i < ownerIds.length; i += 1000) {
    // eslint-disable-next-line no-await-in-loop -- one chunk of ids at a time keeps each $in query bounded
    for await (const d of reader.find(
      'users',
      {_id: anyOf(ownerIds.slice(i, i + 1000))},
      {fullName: 1, 'loginId.id': 1},
    )) {
      for (const o of owners.get(hexOf(d._id) ?? '') ?? []) {
        o.name = typeof d.fullName === 'string' ? d.fullName : undefined
        o.login = typeof d.loginId?.id === 'string' ? d.loginId.id : undefined
      }
    }
  }

  return new UsageGraph({
    builtAt: now,
    environments: envTags,
    models: modelTags,
    scope,
    sources: [...reader.status.values()],
  })
}

function owner(id: null | string): null | Owner {
  return id ? {id} : null
}

function modelOwner(model: Document | undefined): null | string {
  const owners = Array.isArray(model?.collaboratorSettings) ? model.collaboratorSettings : []
  const o = owners.find((c: Document) => c?.role === 'Owner')
  return hexOf(o?.collaboratorId) ?? hexOf(model?.metadata?.createdBy)
}

function buildsOf(version: Document): Document[] {
  return Array.isArray(version.metadata?.builds) ? version.metadata.builds : []
}

function buildIdsOf(build: Document): string[] {
  const list = Array.isArray(build?.buildId) ? build.buildId : [build?.buildId]
  return list.map((b: unknown) => hexOf(b)).filter((x: null | string): x is string => x !== null)
}

export {type ImageType} from './types.js'
