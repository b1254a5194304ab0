// `node --import ./record.mjs …`: writes every module the process loads, one URL or path a line, to
// $DRC_RECORD_IMPORTS — ESM through a resolve hook, CommonJS through require's cache at exit.
import {appendFileSync} from 'node:fs'
// module.register: a release candidate in Node 20.19 (the engines floor), stable since 22.
// eslint-disable-next-line n/no-unsupported-features/node-builtins
import {createRequire, register} from 'node:module'

const file = process.env.DRC_RECORD_IMPORTS
if (!file) throw new Error('DRC_RECORD_IMPORTS is not set')
register(new URL('resolve-hook.mjs', import.meta.url), {data: {file}})
const {cache} = createRequire(import.meta.url)
process.on('exit', () => {
  appendFileSync(file, Object.keys(cache).join('\n') + '\n')
})
