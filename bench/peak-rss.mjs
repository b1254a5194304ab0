// `node --import ./bench/peak-rss.mjs …`: at exit, writes the process's peak resident set (kB) to $BENCH_RSS_FILE.
import {writeFileSync} from 'node:fs'

const file = process.env.BENCH_RSS_FILE
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)))
