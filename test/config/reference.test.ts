import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {configReferenceMarkdown} from '../../packages/core/src/config/reference.js'
import {REPO_ROOT} from '../support/cli.js'

describe('README configuration reference', () => {
  it('matches the key table (run `npm run readme` after changing src/config/keys.ts)', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
    expect(readme).to.contain(configReferenceMarkdown())
  })
})
