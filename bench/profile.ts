import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { CONFIGS, LABELS, type Config } from './apps.js'
import { pinLoadGenerator, startServer } from './measure.js'

/**
 * Where a configuration's server spends its CPU beyond the bare route's: both servers run under
 * `--cpu-prof` at the same offered rate, and their samples are compared per request, function
 * by function (self time). `node dist/bench/profile.js bearer` after `npm run build`.
 */
const config = (process.argv[2] ?? 'bearer') as Config
if (!CONFIGS.includes(config)) throw new Error(`unknown configuration ${config}; one of ${CONFIGS.join(', ')}`)
const RATE = Number(process.env.BENCH_RATE ?? 15_000)
const DURATION = Number(process.env.BENCH_DURATION ?? 6)
const ROWS = Number(process.env.BENCH_ROWS ?? 25)
// The server on CPU 0 under the profiler, this load generator on CPU 1.
const pinned = pinLoadGenerator()

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** µs of self time per request, by function. */
async function profile (which: Config): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-profile-'))
  try {
    const {
      child,
      info: { port, headers }
    } = await startServer<{ port: number; headers: Record<string, string> }>('./server.js', [which], {
      pinned,
      nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`]
    })
    const url = `http://127.0.0.1:${port}/hello`
    const warm = await autocannon({ url, headers, connections: 50, duration: 2 })
    const result = await autocannon({ url, headers, connections: 50, duration: DURATION, overallRate: RATE })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    await exited
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile
    const nodes = new Map(data.nodes.map((n) => [n.id, n]))
    const self = new Map<string, number>()
    // The warm-up is in the profile too (and start-up, alike for both): spread over every request.
    const requests = warm.requests.total + result.requests.total
    data.samples.forEach((id, i) => {
      const { functionName, url: source } = nodes.get(id)!.callFrame
      const where = source
        .replace(/^.*node_modules\//, '')
        .replace(/^.*\/dist\//, '')
        .replace(/^file:\/\//, '')
      const key = `${functionName || '(anonymous)'}${where === '' ? '' : ' ' + where}`
      self.set(key, (self.get(key) ?? 0) + (data.timeDeltas[i] ?? 0) / requests)
    })
    return self
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const bare = await profile('bare')
const measured = await profile(config)
const busy = (m: Map<string, number>): number => [...m].filter(([k]) => k !== '(idle)').reduce((sum, [, v]) => sum + v, 0)
console.log(
  `\n${LABELS[config]} against the bare route, ${RATE} req/s offered for ${DURATION} s each, ` +
    `${pinned ? 'server on CPU 0, load on CPU 1' : 'unpinned'}, under --cpu-prof (which slows the server)`
)
console.log(`busy µs per request: bare ${busy(bare).toFixed(1)}, ${config} ${busy(measured).toFixed(1)}\n`)
console.log('| function (self time) | bare µs/request | this µs/request | added |')
console.log('| --- | ---: | ---: | ---: |')
const rows = [...new Set([...bare.keys(), ...measured.keys()])]
  .filter((k) => k !== '(idle)')
  .map((k) => ({ k, a: bare.get(k) ?? 0, b: measured.get(k) ?? 0 }))
  .sort((x, y) => y.b - y.a - (x.b - x.a))
for (const { k, a, b } of rows.slice(0, ROWS)) console.log(`| ${k} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b - a).toFixed(2)} |`)
