import {createHash} from 'node:crypto'
import {Transform, type TransformCallback} from 'node:stream'

import type {BlobEntry} from './types.js'

import {DrcError} from '../lib/errors.js'

/**
 * Passes a blob's bytes on while hashing them, but holds the last chunk back until the end: only when the
 * bytes are exactly the expected size and digest does it release that chunk and end. On a mismatch it fails
 * instead, so the receiver (an upload with Content-Length = the expected size) never gets a complete body and
 * cannot commit it. `failure` keeps the reason, whatever error the receiver reports for the broken stream.
 */
export class HeldDigestCheck extends Transform {
  failure: DrcError | undefined
  private bytes = 0
  private readonly hash = createHash('sha256')
  private held: Buffer | undefined

  constructor(
    private readonly expected: BlobEntry,
    private readonly what: string,
  ) {
    super()
  }

  _flush(callback: TransformCallback): void {
    const actual = `sha256:${this.hash.digest('hex')}`
    if (actual !== this.expected.digest || this.bytes !== this.expected.size) {
      callback(this.fail(`${this.bytes} bytes hashing to ${actual}`))
      return
    }

    if (this.held) this.push(this.held)
    callback()
  }

  _transform(chunk: Buffer, _enc: string, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
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
