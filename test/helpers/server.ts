import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname

export interface Running {
  child: ChildProcess
  /** Everything it printed so far, stdout and stderr. */
  output: () => string
  exited: Promise<number | null>
  /** Resolves when `output` matches. */
  printed: (pattern: RegExp) => Promise<RegExpExecArray>
}

/** `server.ts` as `npm start` runs it (from source, to skip the build), in an empty directory, on a free port. */
export function spawnServer (env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'app', 'server.ts')], {
    cwd: mkdtempSync(join(tmpdir(), 'warden-server-')),
    // The child's coverage is left out: tsx's transform makes it unreliable (everything shows as covered).
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const printed = async (pattern: RegExp): Promise<RegExpExecArray> => await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = pattern.exec(output)
      if (match !== null) { clearInterval(timer); resolve(match) }
    }, 50)
    void exited.then((code) => {
      const match = pattern.exec(output)
      clearInterval(timer)
      if (match !== null) resolve(match)
      else reject(new Error(`server exited with ${code}: ${output}`))
    })
  })
  return { child, output: () => output, exited, printed }
}

/** The server started and listening; rejects with its output when it exits first. */
export async function startServer (env: Record<string, string>): Promise<Running & { url: string }> {
  const running = spawnServer(env)
  const [, url] = await running.printed(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  return { ...running, url }
}
