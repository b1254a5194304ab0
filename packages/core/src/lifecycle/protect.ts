import type {Db, Document} from 'mongodb'

import type {DrcConfig} from '../config/types.js'
import type {Candidate, SkippedItem} from './types.js'

import {hexOf, loadIdFilter} from '../usage/ids.js'
import {parseRevisionSpec} from '../usage/tags.js'
import {normalizeRepository} from './digest-plan.js'

/** A whole-string glob: `*` any run of characters, `?` one; everything else literal. */
export function globRegExp(glob: string): RegExp {
  const body = [...glob].map((ch) =>
    ch === '*' ? '.*' : ch === '?' ? '.' : ch.replaceAll(/[$()+.[\\\]^{|}]/g, String.raw`\$&`),
  )
  return new RegExp(`^${body.join('')}$`)
}

/** A rule of `protect.*` and what it names; `rule` is how the plan names it. */
interface Rule {
  matches(repository: string, tag: string): boolean
  rule: string
}

/** An id's images: tags `<id>` or `<id>-…` (environment tags start with the environment id, model tags with the model id). */
const ownsTag = (id: string, tag: string) => {
  const t = tag.toLowerCase()
  return t === id || t.startsWith(`${id}-`)
}

/**
 * What the projects of `protect.project_ids` name, read from MongoDB: environments (project override, revision
 * specs, workspaces, scheduler jobs, runs) and models. A revision named by a spec protects its whole environment.
 */
async function projectRules(db: Db, projectIds: string[]): Promise<Rule[]> {
  if (projectIds.length === 0) return []
  const idf = await loadIdFilter()
  const envs = new Map<string, string>()
  const models = new Map<string, string>()
  const revisions = new Map<string, string>()
  const add = (map: Map<string, string>, id: unknown, why: string) => {
    const hex = hexOf(id)
    if (hex && !map.has(hex)) map.set(hex, why)
  }

  const read = async (collection: string, query: Document, projection: Document, each: (d: Document) => void) => {
    const cursor = db.collection(collection).find({...query}, {projection})
    for await (const d of cursor) each(d)
  }

  const inProjects = (field: string) => idf(field, projectIds)
  await read(
    'projects',
    idf('_id', projectIds),
    {defaultEnvironmentRevisionSpec: 1, overrideV2EnvironmentId: 1},
    (p) => {
      const why = `project ${hexOf(p._id)}`
      add(envs, p.overrideV2EnvironmentId, why)
      const spec = parseRevisionSpec(p.defaultEnvironmentRevisionSpec)
      if (spec.kind === 'some') add(revisions, spec.revisionId, why)
    },
  )
  await read('workspace', inProjects('projectId'), {configTemplate: 1, projectId: 1}, (w) => {
    const why = `workspace ${hexOf(w._id)} of project ${hexOf(w.projectId)}`
    add(envs, w.configTemplate?.environmentId, why)
    add(envs, w.configTemplate?.computeClusterProps?.computeEnvironmentId, why)
    const spec = parseRevisionSpec(w.configTemplate?.environmentRevisionSpec)
    if (spec.kind === 'some') add(revisions, spec.revisionId, why)
  })
  await read('scheduler_jobs', inProjects('projectId'), {jobDataPlain: 1, projectId: 1}, (j) =>
    add(envs, j.jobDataPlain?.overrideEnvironmentId, `scheduler job ${hexOf(j._id)} of project ${hexOf(j.projectId)}`),
  )
  await read('runs', inProjects('projectId'), {environmentId: 1, projectId: 1}, (r) =>
    add(envs, r.environmentId, `run ${hexOf(r._id)} of project ${hexOf(r.projectId)}`),
  )
  await read('models', inProjects('projectId'), {projectId: 1}, (m) =>
    add(models, m._id, `project ${hexOf(m.projectId)}`),
  )
  if (revisions.size > 0)
    await read('environment_revisions', idf('_id', revisions.keys()), {environmentId: 1}, (r) =>
      add(envs, r.environmentId, revisions.get(hexOf(r._id) ?? '') ?? 'a project'),
    )
  const rule = (id: string, kind: string, why: string): Rule => ({
    matches: (_repository, tag) => ownsTag(id, tag),
    rule: `protect.project_ids: ${why} names ${kind} ${id}`,
  })
  return [
    ...[...envs].map(([id, why]) => rule(id, 'environment', why)),
    ...[...models].map(([id, why]) => rule(id, 'model', why)),
  ]
}

const lower = (ids: string[]) => ids.map((id) => id.trim().toLowerCase()).filter(Boolean)

/** The protect rules of the configuration, each able to name itself. */
async function protectRules(config: DrcConfig, db: Db): Promise<Rule[]> {
  const p = config.protect
  const rules: Rule[] = []
  for (const glob of p.tags) {
    const re = globRegExp(glob)
    // A pattern naming a repository (`repo:tag`) matches the full reference, otherwise the tag.
    const full = glob.includes(':')
    rules.push({matches: (r, t) => re.test(full ? `${r}:${t}` : t), rule: `protect.tags "${glob}"`})
  }

  for (const glob of p.repositories) {
    const re = globRegExp(normalizeRepository(glob))
    rules.push({matches: (r) => re.test(r), rule: `protect.repositories "${glob}"`})
  }

  for (const id of lower(p.environment_ids))
    rules.push({matches: (_r, t) => ownsTag(id, t), rule: `protect.environment_ids ${id}`})
  for (const id of lower(p.model_ids)) rules.push({matches: (_r, t) => ownsTag(id, t), rule: `protect.model_ids ${id}`})
  rules.push(...(await projectRules(db, lower(p.project_ids))))
  return rules
}

/**
 * Protect rules always win (design.md "Usage rules decided"): a candidate a rule matches is taken out before the
 * plan is made, so its digest (and every digest it shares) stays; the plan lists it with the rule that kept it.
 */
export async function applyProtectRules(
  candidates: readonly Candidate[],
  config: DrcConfig,
  db: Db,
): Promise<{candidates: Candidate[]; kept: SkippedItem[]}> {
  const rules = await protectRules(config, db)
  if (rules.length === 0) return {candidates: [...candidates], kept: []}
  const kept: SkippedItem[] = []
  const left: Candidate[] = []
  const seen = new Set<string>()
  for (const c of candidates) {
    const repository = normalizeRepository(c.repository)
    const hit = rules.find((r) => r.matches(repository, c.tag))
    if (!hit) {
      left.push(c)
      continue
    }

    const key = `${repository}:${c.tag}`
    if (!seen.has(key)) kept.push({reason: `protected by ${hit.rule}`, repository, tag: c.tag})
    seen.add(key)
  }

  return {candidates: left, kept}
}
