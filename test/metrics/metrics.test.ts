/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import {expect} from 'chai'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {MetricFigures} from '../../packages/core/src/metrics/index.js'

import {
  emitMetrics,
  metricsTargets,
  recordRunMetrics,
  reportsFigures,
  strategyFigures,
} from '../../packages/core/src/metrics/index.js'
import {deletionReport, source} from '../html/fixture.js'
import {type PushgatewayService, startPushgateway} from '../support/pushgateway.js'
import {parseMetrics} from './parse.js'

const audit = () => deletionReport('archived:delete', true, false)

describe('Prometheus metrics', function () {
  this.timeout(120_000)
  let dir: string
  let gateway: PushgatewayService

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-metrics-'))
    gateway = await startPushgateway()
  })

  after(async () => {
    await gateway?.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  it('writes registry and strategy figures of a reports run to the textfile, equal to the report', async () => {
    const src = source(30, false)
    const plan = deletionReport('unused:delete', false, false)
    const figures = reportsFigures('reports', new Date(Date.now() - 1500), src, [
      {
        candidates: plan.planned.map(() => ({kept: null})),
        predicted_freed_bytes: plan.predicted_freed_bytes,
        strategy: plan.strategy,
      },
    ])
    const file = path.join(dir, 'drc.prom')
    await emitMetrics(figures, {metricsFile: file})
    const {value} = parseMetrics(readFileSync(file, 'utf8'))
    for (const r of src.usage.repositories) {
      for (const status of ['used', 'unused', 'unknown'] as const) {
        expect(value('drc_registry_bytes', {repository: r.repository, status})).to.equal(r[status].bytes)
        expect(value('drc_registry_tags', {repository: r.repository, status})).to.equal(r[status].tags)
      }

      const images = src.images.filter((i) => i.repository === r.repository).length
      expect(value('drc_registry_images', {repository: r.repository})).to.equal(images)
    }

    expect(value('drc_strategy_recoverable_bytes', {strategy: 'unused:delete'})).to.equal(plan.predicted_freed_bytes)
    expect(value('drc_strategy_candidate_images', {strategy: 'unused:delete'})).to.equal(plan.planned.length)
    expect(value('drc_command_duration_seconds', {command: 'reports'})).to.be.within(1.4, 60)
    const last = value('drc_command_last_success_timestamp_seconds', {command: 'reports'})!
    expect(Math.abs(last - Date.now() / 1000)).to.be.lessThan(60)
    // Written atomically: no temp file left beside it, readable by node_exporter.
    expect(readdirSync(dir).filter((f) => f.startsWith('drc.prom'))).to.deep.equal(['drc.prom'])
    expect((statSync(file).mode % 0o1000).toString(8)).to.equal('644')
  })

  it('writes a deletion run: deleted / kept / failed, freed predicted and measured, duration, success, lock', async () => {
    const report = audit()
    const file = path.join(dir, 'run.prom')
    await recordRunMetrics(report, {'metrics-file': file}, {measuredFreedBytes: 55_000_000})
    const {value} = parseMetrics(readFileSync(file, 'utf8'))
    const s = {strategy: 'archived:delete'}
    expect(value('drc_run_images', {...s, outcome: 'deleted'})).to.equal(report.counts.deleted)
    expect(value('drc_run_images', {...s, outcome: 'kept'})).to.equal(report.counts.skipped)
    expect(value('drc_run_images', {...s, outcome: 'failed'})).to.equal(report.counts.failed)
    expect(value('drc_run_freed_bytes', {...s, kind: 'predicted'})).to.equal(report.predicted_freed_bytes_deleted)
    expect(value('drc_run_freed_bytes', {...s, kind: 'measured'})).to.equal(55_000_000)
    expect(value('drc_run_duration_seconds', s)).to.equal(60)
    expect(value('drc_run_exit_code', s)).to.equal(report.exit_code)
    expect(value('drc_registry_lock_state', {...s, state: 'relocked'})).to.equal(1)
    expect(value('drc_registry_lock_state', {...s, state: 'RE-LOCK FAILED'})).to.equal(0)
    expect(value('drc_strategy_recoverable_bytes', s)).to.equal(report.predicted_freed_bytes)
    // exit code 4 (one failed item): not a success, so no success timestamp is written.
    expect(value('drc_run_last_success_timestamp_seconds', s)).to.equal(undefined)
  })

  it('stamps the last success only for a run that succeeded; measured freed bytes absent when unknown', async () => {
    const report = {...audit(), counts: {...audit().counts, failed: 0}, exit_code: 0, failed: []}
    const file = path.join(dir, 'ok.prom')
    await recordRunMetrics(report, {'metrics-file': file})
    const {value} = parseMetrics(readFileSync(file, 'utf8'))
    expect(value('drc_run_last_success_timestamp_seconds', {strategy: 'archived:delete'})).to.equal(
      Date.parse(report.finished_at) / 1000,
    )
    expect(value('drc_run_freed_bytes', {kind: 'measured', strategy: 'archived:delete'})).to.equal(undefined)
  })

  it('pushes to a real Pushgateway (job drc, grouped by strategy) and reads the values back', async () => {
    const ok = {...audit(), exit_code: 0}
    await recordRunMetrics(ok, {pushgateway: gateway.url})
    // A later failed run of the same strategy: counts replaced, the last success time kept (push-add).
    const failed = {
      ...audit(),
      counts: {...audit().counts, failed: 7},
      exit_code: 4,
      finished_at: '2026-01-15T15:00:00.000Z',
    }
    await recordRunMetrics(failed, {pushgateway: gateway.url})
    const health: MetricFigures = {
      command: 'health',
      durationSeconds: 2,
      finishedAt: new Date(),
      health: [{name: 'registry_lock', status: 'unhealthy'}],
      success: false,
    }
    await emitMetrics(health, {pushgateway: gateway.url})
    const text = await (await fetch(`${gateway.url}/metrics`)).text()
    const {value} = parseMetrics(text)
    const g = {job: 'drc', strategy: 'archived:delete'}
    expect(value('drc_run_images', {...g, outcome: 'failed'})).to.equal(7)
    expect(value('drc_run_images', {...g, outcome: 'deleted'})).to.equal(1)
    expect(value('drc_run_last_success_timestamp_seconds', g)).to.equal(Date.parse(ok.finished_at) / 1000)
    expect(value('drc_strategy_recoverable_bytes', g)).to.equal(strategyFigures(ok).recoverable_bytes)
    expect(
      value('drc_health_check', {check: 'registry_lock', command: 'health', job: 'drc', status: 'unhealthy'}),
    ).to.equal(1)
    // The API view names the groups.
    const api = (await (await fetch(`${gateway.url}/api/v1/metrics`)).json()) as {
      data: Array<{labels: Record<string, string>}>
    }
    expect(api.data.map((d) => d.labels)).to.deep.include.members([
      {job: 'drc', strategy: 'archived:delete'},
      {command: 'health', job: 'drc'},
    ])
  })

  it('refuses a --pushgateway that is not an http(s) URL before any work (exit 2)', () => {
    expect(() => metricsTargets({pushgateway: 'pushgateway:9091'})).to.throw(/must be an http/)
    expect(metricsTargets({pushgateway: 'http://127.0.0.1:9091'}).pushgateway).to.equal('http://127.0.0.1:9091')
  })
})
