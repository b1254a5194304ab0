// Regenerates the configuration reference in README.md from src/config/keys.ts (`npm run readme` also runs oclif readme).
import {readFileSync, writeFileSync} from 'node:fs'

import {configReferenceMarkdown} from '../packages/core/src/config/reference.js'

const START = '<!-- config-reference -->'
const END = '<!-- config-reference-end -->'
const readme = readFileSync('README.md', 'utf8')
const [before, rest] = readme.split(START)
const [, after] = rest.split(END)
writeFileSync('README.md', `${before}${START}\n${configReferenceMarkdown()}\n${END}${after}`)
