// Loaded by mocha before any test (see .mocharc.json).
import path from 'node:path'
import {fileURLToPath} from 'node:url'

// In a workspace, @oclif/test would otherwise resolve the wrong package root (style.md §4).
process.env.OCLIF_TEST_ROOT ??= path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
