import { spawn } from 'node:child_process'
import { Socket } from 'node:net'

/** A `redis-server` of this test's own, which it may stop (never the shared one). */
export interface RedisProcess {
  port: number
  stop: () => Promise<void>
}

async function answers (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = new Socket()
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => {
      resolve(false)
    })
    socket.connect(port, '127.0.0.1')
  })
}

/** `redis-server` on `port` (TCP or, with `--port 0`, TLS at `--tls-port`), no persistence; resolves once it accepts connections. */
export async function startRedisServer (port: number, args: string[] = []): Promise<RedisProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const listening = args.includes('--tls-port') ? Number(args[args.indexOf('--tls-port') + 1]) : port
  for (let i = 0; !(await answers(listening)); i++) {
    if (child.exitCode !== null || i > 100) throw new Error(`redis-server did not start: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    port: listening,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL')
      await exited
    }
  }
}
