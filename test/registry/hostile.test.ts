import {expect} from 'chai'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {scanRegistry} from '../../packages/core/src/analysis/scan.js'
import {ManifestCache} from '../../packages/core/src/registry/manifest-cache.js'
import {testClient} from './helpers.js'
import {
  type HostileAnswer,
  type HostileRegistry,
  imageManifest,
  OCI_INDEX,
  OCI_MANIFEST,
  sha256,
  startHostileRegistry,
} from './hostile-registry.js'

const REPO = 'acme/environment'
const GOOD = imageManifest(sha256('config'), sha256('layer'))

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(e.parentPath, e.name))
}

describe('a hostile registry cannot make drc write outside its cache, or use a digest it did not check', () => {
  let root: string
  let cacheDir: string
  /** Absolute target a traversal digest aims at, /tmp/x style. */
  let escape: string
  let reg: HostileRegistry | undefined

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'drc-hostile-'))
    cacheDir = path.join(root, 'out', '.cache', 'manifests')
    mkdirSync(cacheDir, {recursive: true})
    escape = path.join(os.tmpdir(), `drc-escape-${path.basename(root)}`)
  })

  afterEach(async () => {
    await reg?.stop()
    reg = undefined
    rmSync(root, {force: true, recursive: true})
    rmSync(escape, {force: true})
  })

  /** `md5:x/../../…/tmp/drc-escape-…`: resolves to `escape` when joined under the cache directory. */
  const traversal = (): string => `md5:x/${'../'.repeat(40)}${escape.slice(1)}`

  async function scanWith(
    tags: string[],
    answer: (repository: string, reference: string) => HostileAnswer | undefined,
  ): Promise<Error | undefined> {
    reg = await startHostileRegistry({[REPO]: tags}, answer)
    const client = testClient(reg.url)
    try {
      await scanRegistry(client, {cache: new ManifestCache(cacheDir), concurrency: 2, repositories: [REPO]})
    } catch (error) {
      return error as Error
    } finally {
      await client.close()
    }

    return undefined
  }

  function expectNothingOutsideCache(): void {
    expect(existsSync(escape), `${escape} was created`).to.equal(false)
    for (const f of filesUnder(root)) expect(f.startsWith(cacheDir + path.sep), f).to.equal(true)
  }

  it('refuses a traversal Docker-Content-Digest header and creates no file', async () => {
    const bad = traversal()
    const error = await scanWith(['t1'], () => ({body: GOOD, digest: bad, mediaType: OCI_MANIFEST}))
    expectNothingOutsideCache()
    expect(error?.name).to.equal('InvalidReferenceError')
    expect(error?.message)
      .to.include('Docker-Content-Digest')
      .and.include(JSON.stringify(bad))
      .and.include(`${REPO}:t1`)
    expect(filesUnder(cacheDir)).to.deep.equal([])
  })

  it('refuses a digest of an algorithm outside the allow-list (never skips verification)', async () => {
    const md5 = `md5:${'0'.repeat(32)}`
    const error = await scanWith(['t1'], () => ({body: GOOD, digest: md5, mediaType: OCI_MANIFEST}))
    expect(error?.name).to.equal('InvalidReferenceError')
    expect(error?.message).to.include('"md5" is not allowed').and.include(md5)
    expectNothingOutsideCache()
  })

  it('verifies sha512 digests too: a wrong sha512 header is a mismatch', async () => {
    const wrong = `sha512:${'a'.repeat(128)}`
    const error = await scanWith(['t1'], () => ({body: GOOD, digest: wrong, mediaType: OCI_MANIFEST}))
    expect(error?.name).to.equal('DigestMismatchError')
    expect(error?.message).to.include(wrong)
  })

  it('refuses a malformed digest inside a manifest body, naming the descriptor', async () => {
    const body = imageManifest(sha256('config'), 'sha256:../../etc/passwd')
    const error = await scanWith(['t1'], () => ({body, digest: sha256(body), mediaType: OCI_MANIFEST}))
    expect(error?.name).to.equal('InvalidReferenceError')
    expect(error?.message).to.include('layers[0]').and.include('sha256:../../etc/passwd')
  })

  it('refuses an index whose child digest is a traversal, and fetches nothing by it', async () => {
    const bad = traversal()
    const index = Buffer.from(
      JSON.stringify({manifests: [{digest: bad, mediaType: OCI_MANIFEST, size: GOOD.length}], mediaType: OCI_INDEX}),
    )
    const error = await scanWith(['t1'], (_repo, ref) =>
      ref === 't1' ? {body: index, digest: sha256(index), mediaType: OCI_INDEX} : {body: GOOD, mediaType: OCI_MANIFEST},
    )
    expectNothingOutsideCache()
    expect(error?.name).to.equal('InvalidReferenceError')
    expect(error?.message).to.include('manifests[0]').and.include(JSON.stringify(bad))
    expect(reg!.requests.filter((r) => r.includes('md5'))).to.deep.equal([])
  })

  it('refuses a tag list entry with `..` and never requests it', async () => {
    const error = await scanWith(['ok', '../../../v2/_catalog'], () => ({
      body: GOOD,
      digest: sha256(GOOD),
      mediaType: OCI_MANIFEST,
    }))
    expect(error?.name).to.equal('InvalidReferenceError')
    expect(error?.message).to.include('tag list of acme/environment').and.include('../../../v2/_catalog')
    expect(reg!.requests.some((r) => r.includes('..'))).to.equal(false)
  })

  it('still scans an honest answer into the cache (directory 0700, files 0600)', async () => {
    reg = await startHostileRegistry({[REPO]: ['t1']}, () => ({
      body: GOOD,
      digest: sha256(GOOD),
      mediaType: OCI_MANIFEST,
    }))
    const client = testClient(reg.url)
    const result = await scanRegistry(client, {
      cache: new ManifestCache(cacheDir),
      concurrency: 2,
      repositories: [REPO],
    })
    await client.close()
    expect(result.repositories).to.deep.equal([{repository: REPO, tags: 1}])
    const files = filesUnder(cacheDir)
    expect(files).to.deep.equal([path.join(cacheDir, 'sha256', sha256(GOOD).slice(7))])
    expect(statSync(files[0]).mode.toString(8).slice(-3)).to.equal('600')
    expect(statSync(path.join(cacheDir, 'sha256')).mode.toString(8).slice(-3)).to.equal('700')
  })
})
