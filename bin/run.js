#!/usr/bin/env node

import {execute} from '@oclif/core'
import {fileURLToPath} from 'node:url'

import {dropStaleManifest} from '../dist/hooks/stale-manifest.js'

// The AWS SDK warns on Node < 22 that SDK releases after January 2027 will need Node 22. drc pins its SDK
// versions (engines node >=20), so the notice does not apply; it only clutters every S3/ECR command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

// A checkout's manifest older than its last build would hide new commands (dist/hooks/stale-manifest.js).
dropStaleManifest(fileURLToPath(new URL('..', import.meta.url)))
await execute({dir: import.meta.url})
