import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'
import { inProcess, type Argon2Parameters } from './hashing.js'

/**
 * The child process `childProcessHashing()` starts: it hashes what its parent sends over IPC, at
 * the CPU priority given as its argument (`idle` or a nice value), and ends with its parent.
 */
export type HashingRequest =
  | { id: number, op: 'hash', password: string, params: Argon2Parameters }
  | { id: number, op: 'verify', hash: string, password: string }
export type HashingReply = { id: number, value: string | boolean } | { id: number, error: string }

/**
 * Linux sets a priority per thread: this one first, so the threads started later (libuv's pool,
 * where argon2 runs) inherit it, then those already running. `idle` is the idle scheduling class
 * (SCHED_IDLE, set with util-linux's chrt, which Node.js cannot do itself): a waking thread of any
 * other process takes the core from it at once. Without chrt, nice 19.
 */
function lowerPriority (priority: string): void {
  const nice = priority === 'idle' ? 19 : Number(priority)
  setPriority(nice)
  let threads: string[] = []
  try { threads = readdirSync('/proc/self/task') } catch { /* no /proc: other systems set the whole process */ }
  for (const tid of threads) setPriority(Number(tid), nice)
  if (priority === 'idle') spawnSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore' })
}

lowerPriority(process.argv[2])

async function answer (request: HashingRequest): Promise<HashingReply> {
  try {
    const value = request.op === 'hash' ? await inProcess.hash(request.password, request.params) : await inProcess.verify(request.hash, request.password)
    return { id: request.id, value }
  } catch (err) {
    // The message of argon2's own errors (bad parameters), never the password.
    return { id: request.id, error: err instanceof Error ? err.message : 'hashing failed' }
  }
}

process.on('message', (request: HashingRequest) => {
  void answer(request).then((reply) => { process.send!(reply) })
})
process.on('disconnect', () => { process.exit(0) })
