import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createInterface } from 'node:readline'

/** What the benchmarks share: pinning, starting a bench server, reading CPU time, medians. */

/**
 * Put this load generator on CPU 1 (taskset, util-linux), so a server started `pinned` has CPU 0
 * to itself; false where taskset is missing.
 */
export function pinLoadGenerator (): boolean {
  return spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' }).status === 0
}

/**
 * Start a compiled bench script (`npm run bench` builds first: the JavaScript users run, not a
 * loader's transform) and read the JSON line it prints once it listens.
 */
export async function startServer<T> (
  script: string,
  args: string[],
  options: { pinned: boolean; nodeFlags?: string[] }
): Promise<{ child: ChildProcess; info: T }> {
  const command = [process.execPath, ...(options.nodeFlags ?? []), new URL(script, import.meta.url).pathname, ...args]
  const child = options.pinned
    ? spawn('taskset', ['-c', '0', ...command], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  const first = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()
  return { child, info: JSON.parse(first.value as string) as T }
}

/** CPU time (user + system, all threads) a process has used, in µs (clock ticks of 10 ms). */
export function cpuTime (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/** CPU time (µs) of a process and of every process it started (the reference app's hashing process). */
export function treeCpuTime (pid: number): number {
  return cpuTime(pid) + descendants(pid).reduce((sum, child) => sum + cpuTime(child), 0)
}

function descendants (pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  )
  return children.flatMap((child) => [child, ...descendants(child)])
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The value below which a share `q` of the values lie (nearest rank). */
export function quantile (values: number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/** `min–max`, for a range printed beside a median. */
export function range (values: number[], digits: number): string {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
}
