// The baselines of the registry-scan bench, each run as its own process (plain JavaScript, so no TypeScript
// loader's start-up is counted): list every repository's tags, then GET (or HEAD) every manifest with the full
// Accept list, `concurrency` requests in flight over keep-alive connections, bodies read in full. Nothing else.
//   node bench/bare-loop.mjs <fetch|http> <GET|HEAD> <registry url> <concurrency> <accept> <repo>...
import http from 'node:http'

const [client, method, base, concurrencyArg, accept, ...repos] = process.argv.slice(2)
const concurrency = Number(concurrencyArg)
const agent = new http.Agent({keepAlive: true, maxSockets: concurrency})

async function viaFetch(url, verb) {
  // Global fetch: stable from Node 21, present (undici) in the Node 20 this runs on.
  // eslint-disable-next-line n/no-unsupported-features/node-builtins
  const res = await fetch(url, {headers: {accept}, method: verb})
  const body = verb === 'HEAD' ? '' : await res.text()
  return {body, link: res.headers.get('link'), status: res.status}
}

function viaHttp(url, verb) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {agent, headers: {accept}, method: verb}, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () =>
        resolve({body: Buffer.concat(chunks).toString('utf8'), link: res.headers.link ?? null, status: res.statusCode}),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const call = client === 'fetch' ? viaFetch : viaHttp

async function listTags(repo) {
  const tags = []
  let next = `/v2/${repo}/tags/list?n=1000`
  while (next) {
    // eslint-disable-next-line no-await-in-loop -- pages follow each other
    const res = await call(base + next, 'GET')
    if (res.status !== 200) throw new Error(`tags/list ${repo} → ${res.status}`)
    tags.push(...JSON.parse(res.body).tags)
    next = /<([^>]+)>;\s*rel="next"/.exec(res.link ?? '')?.[1]
  }

  return tags.map((tag) => ({repo, tag}))
}

const work = (await Promise.all(repos.map((r) => listTags(r)))).flat()
let i = 0
await Promise.all(
  Array.from({length: concurrency}, async () => {
    while (i < work.length) {
      const {repo, tag} = work[i++]
      // eslint-disable-next-line no-await-in-loop -- each worker runs its requests one after the other
      const res = await call(`${base}/v2/${repo}/manifests/${tag}`, method)
      if (res.status !== 200) throw new Error(`${method} ${repo}:${tag} → ${res.status}`)
    }
  }),
)
agent.destroy()
process.stdout.write(JSON.stringify({tags: work.length}))
