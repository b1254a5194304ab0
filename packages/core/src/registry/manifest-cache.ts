import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, renameSync} from 'node:fs'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'

import {makePrivateDirSync, writePrivateFileSync} from '../lib/private-files.js'
import {isDigest, parseDigest} from './digest.js'

export interface CachedManifest {
  body: Buffer
  mediaType: string
}

/**
 * Manifests on disk keyed by digest. A digest names immutable content, so entries never expire; each read is
 * re-hashed, so a corrupt file is a miss, never a wrong answer. Tag → digest is never stored here.
 * File layout: `<dir>/<algo>/<hex>`, first line the media type, then the exact manifest bytes. Paths are built
 * only from digests that passed digest.ts (allowed algorithm, fixed-length hex), so no entry leaves `dir`.
 */
export class ManifestCache {
  hits = 0
  misses = 0
  /** Directories already created this run: one mkdir per algorithm, not per manifest. */
  private readonly made = new Set<string>()
  private readonly memory = new Map<string, CachedManifest>()

  constructor(readonly dir: string) {}

  static forConfig(config: DrcConfig): ManifestCache | null {
    if (!config.cache.enabled) return null
    return new ManifestCache(path.join(config.analysis.output_dir, '.cache', 'manifests'))
  }

  async get(digest: string): Promise<CachedManifest | null> {
    const mem = this.memory.get(digest)
    if (mem) {
      this.hits++
      return mem
    }

    // An invalid digest never names a file: it is a miss (the caller then asks the registry, which checks it).
    if (!isDigest(digest)) return null
    const [algo, hex] = digest.split(':')
    let raw: Buffer
    try {
      // Synchronous on purpose: manifests are a few KiB in the page cache, and the thread-pool round trip of
      // the async API costs more CPU than the read (measured: ~2x the client CPU of a warm scan).
      raw = readFileSync(path.join(this.dir, algo, hex))
    } catch {
      this.misses++
      return null
    }

    const nl = raw.indexOf(10)
    const body = raw.subarray(nl + 1)
    if (nl < 0 || createHash(algo).update(body).digest('hex') !== hex) {
      this.misses++
      return null
    }

    const entry = {body, mediaType: raw.subarray(0, nl).toString('utf8')}
    this.memory.set(digest, entry)
    this.hits++
    return entry
  }

  /** True when the cache holds at least one manifest (decides whether a scan starts with HEAD or GET). */
  async isWarm(): Promise<boolean> {
    if (this.memory.size > 0) return true
    try {
      return readdirSync(path.join(this.dir, 'sha256')).length > 0
    } catch {
      return false
    }
  }

  async put(digest: string, entry: CachedManifest): Promise<void> {
    const {algorithm: algo, encoded: hex} = parseDigest(digest, 'digest of a manifest to cache')
    this.memory.set(digest, entry)
    const dir = path.join(this.dir, algo)
    if (!this.made.has(dir)) {
      makePrivateDirSync(dir)
      this.made.add(dir)
    }

    // Write then rename, so a crash never leaves a half-written entry under the final name.
    const tmp = path.join(dir, `.${hex}.${process.pid}.${Math.random().toString(36).slice(2)}`)
    writePrivateFileSync(tmp, Buffer.concat([Buffer.from(`${entry.mediaType}\n`), entry.body]))
    renameSync(tmp, path.join(dir, hex))
  }
}
