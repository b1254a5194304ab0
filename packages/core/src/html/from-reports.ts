/** The HTML report of a `drc reports` result: usage statuses and owners from the usage graph, strategy reports from disk. */
import type {DrcConfig} from '../config/types.js'
import type {UsageGraph} from '../usage/graph.js'
import type {UsageRules} from '../usage/types.js'
import type {HtmlOptions, HtmlSource} from './data.js'

import {imageTypeOf, tagStatus} from '../usage/join.js'
import {collectStrategyReports} from './collect.js'
import {buildHtmlData} from './data.js'
import {renderHtmlReport} from './render.js'

export interface ReportsHtmlOptions extends Pick<HtmlOptions, 'dominoUrl' | 'now' | 'top'> {
  rules: UsageRules
  usage: UsageGraph
}

export async function reportsHtml(config: DrcConfig, source: HtmlSource, opts: ReportsHtmlOptions): Promise<string> {
  const {audit, strategies} = await collectStrategyReports(config)
  const lookup: HtmlOptions['lookup'] = (repository, tag) => {
    const type = imageTypeOf(repository)
    return {
      status: tagStatus(opts.usage, repository, tag, opts.rules),
      usage: type ? opts.usage.lookup(type, tag) : undefined,
    }
  }

  const data = buildHtmlData(source, strategies, audit, {
    dominoUrl: opts.dominoUrl,
    lookup,
    now: opts.now,
    top: opts.top,
  })
  return renderHtmlReport(data)
}
