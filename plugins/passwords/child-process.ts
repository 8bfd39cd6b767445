import { fork, type ChildProcess } from 'node:child_process'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errors } from '../errors.js'
import type { Hashing } from './hashing.js'
import type { HashingReply, HashingRequest } from './hashing-child.js'

// The child's entry beside this file: `.js` from the package, `.ts` when run from source.
const entry = new URL(`./hashing-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

/**
 * This process's Node.js options, for the child (a loader such as tsx, memory limits), less those
 * that would make it run something else or clash with this one: code given with -e/-p and its
 * --input-type, and a debugger's port.
 */
function childExecArgv (): string[] {
  const kept: string[] = []
  const args = process.execArgv
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (['-e', '--eval', '-p', '--print', '-pe', '--input-type'].includes(arg)) i++
    else if (!/^--(eval|print|input-type|inspect|debug)/.test(arg)) kept.push(arg)
  }
  return kept
}

interface Child {
  process: ChildProcess
  pending: Map<number, { resolve: (value: string | boolean) => void; reject: (err: Error) => void }>
}

type Request = HashingRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never

/**
 * While a check is pending, the child holds this process open, until its answer or the child's
 * end has been heard; while nothing is, it does not.
 */
function holdOpen (c: Child, hold: boolean): void {
  const channel = c.process.channel as { ref: () => void; unref: () => void } | undefined
  if (hold) {
    channel?.ref()
    c.process.ref()
  } else {
    channel?.unref()
    c.process.unref()
  }
}

function settled (c: Child, id: number): void {
  c.pending.delete(id)
  if (c.pending.size === 0) holdOpen(c, false)
}

/**
 * Hashing in a child process at a lower CPU priority (`'idle'`, or a nice value): the kernel gives
 * its threads only the CPU the event loop and everything else leave, so a login storm's hashing
 * cannot delay the other routes' answers. Started on the first hash, again after a crash (the
 * checks it held fail with `WARDEN_ERR_HASHING`); it ends with `close()` or with this process,
 * and never keeps this process alive while nothing is asked of it.
 */
export function childProcessHashing (priority: 'idle' | number): Hashing {
  let child: Child | undefined
  let next = 0

  function start (): Child {
    const started: Child = {
      process: fork(entry, [String(priority)], { execArgv: childExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      pending: new Map()
    }
    started.process.on('message', (reply: HashingReply) => {
      const call = started.pending.get(reply.id)
      if (call === undefined) return
      settled(started, reply.id)
      if ('error' in reply) call.reject(new errors.WARDEN_ERR_HASHING(reply.error))
      else call.resolve(reply.value)
    })
    const ended = (why: string): void => {
      if (child === started) child = undefined
      for (const call of started.pending.values()) call.reject(new errors.WARDEN_ERR_HASHING(why))
      started.pending.clear()
    }
    started.process.on('exit', (code, signal) => {
      ended(`the hashing process ended (${signal ?? `exit code ${String(code)}`})`)
    })
    started.process.on('error', (err) => {
      ended(`the hashing process failed (${err.message})`)
    })
    holdOpen(started, false)
    return started
  }

  async function call (request: Request): Promise<string | boolean> {
    child ??= start()
    const c = child
    const id = next++
    return await new Promise((resolve, reject) => {
      if (c.pending.size === 0) holdOpen(c, true)
      c.pending.set(id, { resolve, reject })
      c.process.send({ ...request, id }, (err) => {
        if (err === null || !c.pending.has(id)) return
        settled(c, id)
        reject(new errors.WARDEN_ERR_HASHING(err.message))
      })
    })
  }

  return {
    async hash (password, params) {
      return (await call({ op: 'hash', password, params })) as string
    },
    async verify (hash, password) {
      return (await call({ op: 'verify', hash, password })) as boolean
    },
    async close () {
      const c = child
      child = undefined
      // A process that has ended is forgotten at its exit event, so this one still runs.
      if (c === undefined) return
      const exited = new Promise((resolve) => c.process.once('exit', resolve))
      // Held open until the process has ended, or a caller awaiting close() could be left behind.
      c.process.ref()
      c.process.disconnect()
      await exited
    }
  }
}
