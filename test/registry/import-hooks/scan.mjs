// The scan path alone, as a child process: configuration from the environment, then the image analysis
// (`drc report image-size --generate-reports` without oclif, which imports every command to list them).
import {loadConfig} from '../../../packages/core/dist/config/load.js'
import {obtainImageAnalysis} from '../../../packages/core/dist/reports/obtain.js'

const {config} = await loadConfig({cwd: process.cwd()})
const got = await obtainImageAnalysis(config, {generate: true, maxAgeHours: 24, quiet: true})
process.stdout.write(JSON.stringify({images: got.report.images.length, tags: got.run?.stats.tags}))
