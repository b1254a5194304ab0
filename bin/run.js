#!/usr/bin/env node

import {execute} from '@oclif/core'

// The AWS SDK warns on Node < 22 that SDK releases after January 2027 will need Node 22. drc pins its SDK
// versions (engines node >=20), so the notice does not apply; it only clutters every S3/ECR command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await execute({dir: import.meta.url})
