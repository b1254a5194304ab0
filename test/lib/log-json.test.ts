import type {Config} from '@oclif/core'

import {ux} from '@oclif/core'
import {captureOutput} from '@oclif/test'
import {expect} from 'chai'

import {BaseCommand} from '../../packages/core/src/lib/base-command.js'

class Print extends BaseCommand<typeof Print> {
  static value: unknown

  async run(): Promise<void> {
    this.logJson(Print.value)
  }
}

/** What the command prints for `value`, and what oclif's own logJson (colorizeJson) would print. */
async function both(value: unknown, theme?: Config['theme']): Promise<{drc: string; oclif: string}> {
  Print.value = value
  const config = {theme} as unknown as Config
  const {error, stdout} = await captureOutput(() => new Print([], config).run())
  if (error) throw error
  return {drc: stdout, oclif: `${ux.colorizeJson(value, {pretty: true, theme: theme?.json})}\n`}
}

// BaseCommand.logJson skips oclif's colour tokenizer when no colour applies: the bytes must not change.
describe('BaseCommand.logJson prints exactly what oclif would', () => {
  it('an envelope with nested rows, unicode, escapes, numbers, booleans and nulls', async () => {
    const value = {
      result: {
        images: [{digest: 'sha256:ab', freed: 0, size: 1.5e21, tags: ['a"b', String.raw`c\d`, 'é ✓ \u0001']}],
        none: null,
        ok: true,
      },
      status: 0,
      warnings: [],
    }
    const {drc, oclif} = await both(value)
    expect(drc).to.equal(oclif)
    expect(JSON.parse(drc)).to.deep.equal(value)
  })

  it('a string (oclif parses it and pretty-prints the value) and a cycle (oclif names it)', async () => {
    const text = await both('{"a":[1,2]}')
    expect(text.drc).to.equal(text.oclif)
    expect(text.drc).to.contain('\n  "a": [\n')
    const cyclic: Record<string, unknown> = {name: 'x'}
    cyclic.self = cyclic
    const cycle = await both(cyclic)
    expect(cycle.drc).to.equal(cycle.oclif)
    expect(cycle.drc).to.contain('[Circular ~]')
  })

  it('with a JSON theme and no colour on stdout (not a terminal)', async () => {
    const theme = {json: {key: 'blue', string: 'green'}} as unknown as Config['theme']
    const {drc, oclif} = await both({a: 'b'}, theme)
    expect(drc).to.equal(oclif)
    expect(drc).to.equal('{\n  "a": "b"\n}\n')
  })
})
