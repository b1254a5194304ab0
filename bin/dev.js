#!/usr/bin/env -S node --import tsx --no-warnings=ExperimentalWarning

import {execute} from '@oclif/core'
import {fileURLToPath} from 'node:url'

import {dropStaleManifest} from '../dist/hooks/stale-manifest.js'

// As bin/run.js: a manifest older than the last build would hide new commands.
dropStaleManifest(fileURLToPath(new URL('..', import.meta.url)))
await execute({development: true, dir: import.meta.url})
