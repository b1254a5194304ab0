import type {UsageScope} from './build.js'
import type {SourceStatus} from './reader.js'
import type {ImageType, TagUsage, UsageRules, Verdict} from './types.js'

/** An environment revision as the clone chain rule sees it. */
export interface RevisionNode {
  clonedFrom: null | string
  environmentId: null | string
  tag: null | string
}

import {evaluateUsage} from './predicate.js'
import {modelTagKey} from './tags.js'

export interface UsageGraphData {
  builtAt: Date
  environments: Map<string, TagUsage>
  /** Keyed by model version key `<modelId>-vN` (or the stored tag when it has another form). */
  models: Map<string, TagUsage>
  /**
   * Environment revisions read, by id (tagged or not), with their clone parent: the clone chain rule walks them.
   * Absent in a graph rebuilt from a usage report (which does not record them).
   */
  revisions?: Map<string, RevisionNode>
  scope?: UsageScope
  sources: SourceStatus[]
}

/** The joined usage of every environment and model image tag known to MongoDB. */
export class UsageGraph {
  constructor(readonly data: UsageGraphData) {}

  get builtAt(): Date {
    return this.data.builtAt
  }

  /**
   * Every known tag usage (environment first, then model).
   * @yields one TagUsage per environment revision tag, then per model version
   */
  *all(): Iterable<TagUsage> {
    yield* this.data.environments.values()
    yield* this.data.models.values()
  }

  evaluate(imageType: ImageType, tag: string, rules: UsageRules): Verdict & {usage?: TagUsage} {
    const usage = this.lookup(imageType, tag)
    return {...evaluateUsage(usage, rules), usage}
  }

  /**
   * The usage of a registry tag. Environment tags match exactly. Model tags match the stored full tag or
   * the stored prefix `<modelId>-vN` (the registry tag extends it with `-<ts>_<uid>`).
   */
  lookup(imageType: ImageType, tag: string): TagUsage | undefined {
    if (imageType === 'environment') return this.data.environments.get(tag)
    return this.data.models.get(tag) ?? this.data.models.get(modelTagKey(tag) ?? '')
  }
}
