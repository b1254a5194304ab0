import {createHash} from 'node:crypto'
import {Transform, type TransformCallback} from 'node:stream'

import type {BlobEntry} from './types.js'

import {DrcError} from '../lib/errors.js'

/** Counts and hashes the bytes of one blob as they pass; what to do with a mismatch is the subclass's. */
abstract class BlobDigestCheck extends Transform {
  protected bytes = 0
  private readonly hash = createHash('sha256')

  constructor(
    protected readonly expected: BlobEntry,
    protected readonly what: string,
  ) {
    super()
  }

  /** Once, at the end: null when the bytes were exactly the expected size and digest, else what they were. */
  protected mismatch(): null | string {
    const actual = `sha256:${this.hash.digest('hex')}`
    return actual === this.expected.digest && this.bytes === this.expected.size
      ? null
      : `${this.bytes} bytes hashing to ${actual}`
  }

  protected see(chunk: Buffer): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
  }
}

/**
 * Passes bytes through while hashing them; at the end fails (so the upload aborts and nothing is stored)
 * unless they are exactly the expected size and digest.
 */
export class DigestCheck extends BlobDigestCheck {
  _flush(callback: TransformCallback): void {
    const got = this.mismatch()
    if (got) {
      callback(
        new DrcError(
          `${this.what}: the registry sent ${got}, expected ${this.expected.size} bytes of ${this.expected.digest}; nothing was stored`,
          {suggestions: ['the registry storage may be corrupt; run `registry garbage-collect` or re-push the image']},
        ),
      )
      return
    }

    callback()
  }

  _transform(chunk: Buffer, _enc: string, callback: TransformCallback): void {
    this.see(chunk)
    callback(null, chunk)
  }
}

/**
 * Passes a blob's bytes on while hashing them, but holds the last chunk back until the end: only when the
 * bytes are exactly the expected size and digest does it release that chunk and end. On a mismatch it fails
 * instead, so the receiver (an upload with Content-Length = the expected size) never gets a complete body and
 * cannot commit it. `failure` keeps the reason, whatever error the receiver reports for the broken stream.
 */
export class HeldDigestCheck extends BlobDigestCheck {
  failure: DrcError | undefined
  private held: Buffer | undefined

  _flush(callback: TransformCallback): void {
    const got = this.mismatch()
    if (got) {
      callback(this.fail(got))
      return
    }

    if (this.held) this.push(this.held)
    callback()
  }

  _transform(chunk: Buffer, _enc: string, callback: TransformCallback): void {
    this.see(chunk)
    if (this.bytes > this.expected.size) {
      callback(this.fail(`more than ${this.expected.size} bytes`))
      return
    }

    const previous = this.held
    this.held = chunk
    callback(null, previous)
  }

  private fail(got: string): DrcError {
    this.failure = new DrcError(
      `${this.what}: the backup holds ${got}, expected ${this.expected.size} bytes of ${this.expected.digest}; the upload was not committed`,
      {suggestions: ['the backup is corrupt; run `drc backup verify`, and back the image up again if it still exists']},
    )
    return this.failure
  }
}
