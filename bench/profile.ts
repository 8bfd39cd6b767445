import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon, { type Result } from 'autocannon'
import { CONFIGS, LABELS, type Config } from './apps.js'
import { proofClients, proofMaker, type DpopClient } from './dpop-proofs.js'
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

/** A load whose every request was answered 2xx: a profile of refusals would be another thing's. */
function admitted (which: Config, result: Result): Result {
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${which}: ${result.non2xx} non-2xx answers and ${result.errors} errors`)
  return result
}

/**
 * A server under the profiler, loaded at RATE for 2 s (warm-up) then DURATION s: its profile,
 * and the requests it answered. A DPoP row's requests each carry a proof of their own, made
 * before each load, as many as the rate can take.
 */
async function profiled (which: Config, dir: string): Promise<{ data: Profile; requests: number }> {
  const { child, info } = await startServer<{ port: number; headers: Record<string, string>; client?: DpopClient }>('./server.js', [which], {
    pinned,
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`]
  })
  try {
    const { headers, client } = info
    const url = `http://127.0.0.1:${info.port}/hello`
    const proofs = client === undefined ? undefined : proofMaker(client, 'GET', url)
    const run = async (duration: number): Promise<number> => {
      const setupClient = proofs === undefined ? undefined : proofClients(proofs(RATE * duration + 100)).setupClient
      return admitted(which, await autocannon({ url, headers, connections: 50, duration, overallRate: RATE, setupClient })).requests.total
    }
    const requests = (await run(2)) + (await run(DURATION))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    await exited
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!
    return { data: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile, requests }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill()
  }
}

/** µs of self time per request, by function. */
async function profile (which: Config): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-profile-'))
  try {
    const { data, requests } = await profiled(which, dir)
    const nodes = new Map(data.nodes.map((n) => [n.id, n]))
    const self = new Map<string, number>()
    // The warm-up is in the profile too (and start-up, alike for both): spread over every request.
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
