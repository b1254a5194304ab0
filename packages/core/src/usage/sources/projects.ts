import type {Document} from 'mongodb'

import type {EnvContext} from './context.js'
import type {EnvironmentTagIndex} from './tag-index.js'

import {specFilter} from '../ids.js'
import {hexOf, parseRevisionSpec} from '../tags.js'

/** Projects by id: their default environment is a use, and they own runs and workspaces. */
export async function readProjects(ctx: EnvContext): Promise<Map<string, Document>> {
  const projects = new Map<string, Document>()
  if (!ctx.touched) return projects
  // A `SomeRevision(<id>)` default may name a revision of another environment: found by the spec too.
  const filter = ctx.scoped
    ? {
        $or: [
          ctx.idFilter('overrideV2EnvironmentId', ctx.envIds),
          specFilter('defaultEnvironmentRevisionSpec', ctx.revIds),
        ],
      }
    : {}
  for await (const d of ctx.reader.find('projects', filter, {
    defaultEnvironmentRevisionSpec: 1,
    isArchived: 1,
    name: 1,
    overrideV2EnvironmentId: 1,
    ownerId: 1,
  })) {
    const id = hexOf(d._id)
    if (id) projects.set(id, d)
  }

  return projects
}

/** The revision a project's default environment setting points at (null when it has none). */
export function projectDefaultRevision(index: EnvironmentTagIndex, project: Document): null | string {
  const envId = hexOf(project.overrideV2EnvironmentId)
  if (!envId) return null
  return index.resolve(envId, parseRevisionSpec(project.defaultEnvironmentRevisionSpec))
}

export function addProjects(index: EnvironmentTagIndex, projects: Map<string, Document>): void {
  for (const [projectId, p] of projects) {
    if (p.isArchived === true) continue
    const rev = projectDefaultRevision(index, p)
    if (!rev) continue
    index.add(rev, {
      id: projectId,
      kind: 'project',
      lastUsed: null,
      name: p.name,
      ownerId: hexOf(p.ownerId) ?? undefined,
    })
  }
}
