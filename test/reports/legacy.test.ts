import {expect} from 'chai'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {SummaryStats} from '../../packages/core/src/analysis/graph.js'
import type {DrcConfig} from '../../packages/core/src/config/types.js'
import type {ImageAnalysisReport, LayerEntry} from '../../packages/core/src/reports/image-analysis.js'

import {REPORT_NAMES} from '../../packages/core/src/config/keys.js'
import {
  buildLegacyAnalysis,
  legacyFilePath,
  legacyTag,
  writeLegacyFiles,
} from '../../packages/core/src/reports/legacy.js'

/**
 * Three images: environment e1-1, environment e2-1 (also tagged e2-2), model m1-1, and e3-1 made only of shared
 * layers. `base` is used by all four images, `pair` by e1-1 and e2-1; the others by one image each.
 */
const LAYERS: LayerEntry[] = [
  {
    digest: 'sha256:base',
    environments: ['e1', 'e2', 'e3', 'm1'],
    ref_count: 4,
    size: 1000,
    tags: [
      'acme/environment:e1-1',
      'acme/environment:e2-1',
      'acme/environment:e2-2',
      'acme/environment:e3-1',
      'acme/model:m1-1',
    ],
  },
  {digest: 'sha256:m1', environments: ['m1'], ref_count: 1, size: 500, tags: ['acme/model:m1-1']},
  {digest: 'sha256:e1', environments: ['e1'], ref_count: 1, size: 300, tags: ['acme/environment:e1-1']},
  {
    digest: 'sha256:e2',
    environments: ['e2'],
    ref_count: 1,
    size: 200,
    tags: ['acme/environment:e2-1', 'acme/environment:e2-2'],
  },
  {
    digest: 'sha256:pair',
    environments: ['e1', 'e2', 'e3'],
    ref_count: 2,
    size: 100,
    tags: ['acme/environment:e1-1', 'acme/environment:e2-1', 'acme/environment:e2-2', 'acme/environment:e3-1'],
  },
  {digest: 'sha256:e1b', environments: ['e1'], ref_count: 1, size: 7, tags: ['acme/environment:e1-1']},
]

const SUMMARY: SummaryStats = {
  avg_layers_per_image: 2.5,
  avg_ref_count: 1.67,
  shared_layers: 2,
  shared_size_bytes: 1100,
  single_use_layers: 4,
  single_use_size_bytes: 1007,
  total_blobs: 14,
  total_images: 4,
  total_layers: 6,
  total_size_bytes: 2107,
  total_stored_bytes: 3 * 1024 ** 3,
  total_tags: 5,
}

const REPORT = {layers: LAYERS, summary: SUMMARY} as unknown as ImageAnalysisReport

// Keys in the report's layer order (largest first): the written file keeps it, and one test compares its text.
/* eslint-disable perfectionist/sort-objects */
const FINAL_REPORT = {
  'sha256:base': {
    environments: ['e1', 'e2', 'e3', 'm1'],
    size: 1000,
    tags: ['environment:e1-1', 'environment:e2-1', 'environment:e2-2', 'environment:e3-1', 'model:m1-1'],
  },
  'sha256:m1': {environments: ['m1'], size: 500, tags: ['model:m1-1']},
  'sha256:e1': {environments: ['e1'], size: 300, tags: ['environment:e1-1']},
  'sha256:e2': {environments: ['e2'], size: 200, tags: ['environment:e2-1', 'environment:e2-2']},
  'sha256:pair': {
    environments: ['e1', 'e2', 'e3'],
    size: 100,
    tags: ['environment:e1-1', 'environment:e2-1', 'environment:e2-2', 'environment:e3-1'],
  },
  'sha256:e1b': {environments: ['e1'], size: 7, tags: ['environment:e1-1']},
}
/* eslint-enable perfectionist/sort-objects */

describe('legacy analysis files (predecessor shapes)', () => {
  it('names tags by image type, not repository', () => {
    expect(legacyTag('acme/environment:abc-1')).to.equal('environment:abc-1')
    expect(legacyTag('reg/team/dominodatalab/model:x-2')).to.equal('model:x-2')
    expect(legacyTag('model:x')).to.equal('model:x')
  })

  it('builds the six objects exactly', () => {
    const a = buildLegacyAnalysis(REPORT)
    expect(a.image_analysis).to.deep.equal(FINAL_REPORT)
    // Largest first, as in the report.
    expect(Object.keys(a.image_analysis)).to.deep.equal(LAYERS.map((l) => l.digest))
    expect(a.tags_per_layer).to.deep.equal({
      'sha256:base': 4,
      'sha256:e1': 1,
      'sha256:e1b': 1,
      'sha256:e2': 1,
      'sha256:m1': 1,
      'sha256:pair': 2,
    })
    expect(a.layers_and_sizes).to.deep.equal({
      'sha256:base': 1000,
      'sha256:e1': 300,
      'sha256:e1b': 7,
      'sha256:e2': 200,
      'sha256:m1': 500,
      'sha256:pair': 100,
    })
    expect(a.filtered_layers).to.deep.equal({
      'sha256:e1': FINAL_REPORT['sha256:e1'],
      'sha256:e1b': FINAL_REPORT['sha256:e1b'],
      'sha256:e2': FINAL_REPORT['sha256:e2'],
      'sha256:m1': FINAL_REPORT['sha256:m1'],
    })
    // Only single-use layers count; e2-1 and e2-2 are one image, so both carry its own layer; e3-1 has none.
    expect(a.tag_sums).to.deep.equal({
      'environment:e1-1': {environments: ['e1'], size: 307},
      'environment:e2-1': {environments: ['e2'], size: 200},
      'environment:e2-2': {environments: ['e2'], size: 200},
      'environment:e3-1': {environments: ['e3'], size: 0},
      'model:m1-1': {environments: ['m1'], size: 500},
    })
    expect(Object.keys(a.tag_sums)).to.deep.equal([
      'model:m1-1',
      'environment:e1-1',
      'environment:e2-1',
      'environment:e2-2',
      'environment:e3-1',
    ])
    expect(a.images_report).to.deep.equal({
      layers: FINAL_REPORT,
      summary: {...SUMMARY, shared_size_gb: 0, single_use_size_gb: 0, total_size_gb: 0},
    })
    const big = {
      ...SUMMARY,
      shared_size_bytes: 1.5 * 1024 ** 3,
      single_use_size_bytes: 0.25 * 1024 ** 3,
      total_size_bytes: 1.75 * 1024 ** 3,
    }
    expect(
      buildLegacyAnalysis({layers: [], summary: big} as unknown as ImageAnalysisReport).images_report,
    ).to.deep.equal({
      layers: {},
      summary: {...big, shared_size_gb: 1.5, single_use_size_gb: 0.25, total_size_gb: 1.75},
    })
  })

  it('places a bare name under output_dir, keeps a path with a directory, and puts the timestamp before .json', () => {
    const config = {analysis: {output_dir: '/data/out'}} as DrcConfig
    const now = new Date('2026-01-15T14:30:00.123Z')
    expect(legacyFilePath(config, 'final-report.json', now)).to.equal(
      '/data/out/final-report-2026-01-15T14-30-00Z.json',
    )
    expect(legacyFilePath(config, 'images-report', now)).to.equal('/data/out/images-report-2026-01-15T14-30-00Z.json')
    expect(legacyFilePath(config, '/elsewhere/tag-sums.json', now)).to.equal(
      '/elsewhere/tag-sums-2026-01-15T14-30-00Z.json',
    )
  })

  it('writes six plain 2-space JSON files named from reports.*', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drc-legacy-'))
    try {
      const config = {analysis: {output_dir: dir}, reports: {...REPORT_NAMES}} as unknown as DrcConfig
      const written = await writeLegacyFiles(config, REPORT, new Date('2026-01-15T14:30:00Z'))
      expect(readdirSync(dir).sort()).to.deep.equal([
        'filtered-layers-2026-01-15T14-30-00Z.json',
        'final-report-2026-01-15T14-30-00Z.json',
        'images-report-2026-01-15T14-30-00Z.json',
        'layers-and-sizes-2026-01-15T14-30-00Z.json',
        'tag-sums-2026-01-15T14-30-00Z.json',
        'tags-per-layer-2026-01-15T14-30-00Z.json',
      ])
      const text = readFileSync(written.image_analysis, 'utf8')
      expect(text).to.equal(`${JSON.stringify(FINAL_REPORT, null, 2)}\n`)
      expect(JSON.parse(readFileSync(written.tags_per_layer, 'utf8'))).to.deep.include({'sha256:pair': 2})
      expect(path.basename(written.images_report)).to.equal('images-report-2026-01-15T14-30-00Z.json')
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})
