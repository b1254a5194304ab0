/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- a CommonJS mocha reporter file */
const Mocha = require('mocha')
// Mocha's spec reporter plus the one line CI reads: "N passed, N failed" (hook failures count as failed).
// With DRC_TEST_SUMMARY_FILE set (scripts/test.sh), the line goes to that file so the script can print it last.
const fs = require('node:fs')

const {EVENT_RUN_END} = Mocha.Runner.constants

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const {failures = 0, passes = 0} = runner.stats ?? {}
      const line = `${passes} passed, ${failures} failed`
      if (process.env.DRC_TEST_SUMMARY_FILE) fs.writeFileSync(process.env.DRC_TEST_SUMMARY_FILE, `${line}\n`)
      else console.log(line)
    })
  }
}

module.exports = SpecWithSummary
