import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname

export interface ServerProcess { child: ChildProcess, url: string, output: () => string, exited: Promise<number | null> }

/**
 * `server.ts` as `npm start` runs it (from source, to skip the build), in a process of its own:
 * an instance that can be killed. Resolves once it listens; rejects with its output if it exits first.
 */
export async function startServer (t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'server.ts')], {
    cwd: mkdtempSync(join(tmpdir(), 'warden-server-')),
    // The child's coverage is left out: tsx's transform makes it unreliable (everything shows as covered).
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    await exited
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match !== null) { clearInterval(timer); resolve(match[1]) }
    }, 50)
    void exited.then((code) => { clearInterval(timer); reject(new Error(`server exited with ${code}: ${output}`)) })
  })
  return { child, url, output: () => output, exited }
}
