import { Agent, request } from 'node:http'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'

export interface SteadyOptions {
  url: string
  headers: Record<string, string>
  /** Requests per second, sent one every 1/rate s (not in bursts). */
  rate: number
  /** Seconds. */
  duration: number
}

export interface SteadyResult {
  /** Responses with a 2xx status. */
  ok: number
  /** ms from when each request was due to its response's end, for every request sent. */
  latencies: number[]
  /** The largest delay, ms, between a request's due time and its sending (this generator's own lag). */
  lag: number
}

/**
 * An open-loop load: request i is due at start + i/rate and its latency runs from then, so a
 * server that stalls is charged for every request that waited, including those not yet sent
 * (no coordinated omission). autocannon's `overallRate` sends each connection's quota for the
 * second at once and then pauses, which makes bursts of the offered rate; its latency histogram
 * then weights every answer by its own latency (an expected interval of 1 ms).
 */
export async function steadyLoad (options: SteadyOptions): Promise<SteadyResult> {
  const { rate, duration } = options
  const target = new URL(options.url)
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const total = Math.round(rate * duration)
  const latencies: number[] = []
  let ok = 0
  let lag = 0
  let sent = 0
  const start = performance.now() + 10
  const due = (i: number): number => start + i * 1000 / rate
  try {
    await new Promise<void>((resolve, reject) => {
      let answered = 0
      const settle = (at: number): void => {
        latencies.push(performance.now() - at)
        if (++answered === total) resolve()
      }
      const send = (at: number): void => {
        const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: options.headers, agent }, (res) => {
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) ok++
          res.resume()
          res.on('end', () => { settle(at) })
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end()
      }
      const tick = (): void => {
        const now = performance.now()
        while (sent < total && due(sent) <= now) {
          lag = Math.max(lag, now - due(sent))
          send(due(sent++))
        }
        if (sent < total) setTimeout(tick, Math.max(0, due(sent) - performance.now()))
      }
      setTimeout(tick, 10)
    })
  } finally {
    agent.destroy()
  }
  return { ok, latencies, lag }
}

/**
 * The same load from a thread of its own, so the other load this process drives (a login storm's
 * hundreds of connections) does not delay its sending or its reading of answers.
 */
export async function steadyLoadApart (options: SteadyOptions): Promise<SteadyResult> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { steady: options } })
  try {
    return await new Promise<SteadyResult>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
  } finally {
    await worker.terminate()
  }
}

if (!isMainThread && (workerData as { steady?: SteadyOptions } | null)?.steady !== undefined) {
  parentPort!.postMessage(await steadyLoad((workerData as { steady: SteadyOptions }).steady))
}
