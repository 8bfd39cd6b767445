import { realpath, stat } from 'node:fs/promises'
import { isAbsolute, resolve, sep } from 'node:path'
import { errors } from '../plugins/errors.js'

/**
 * Why a requested path was refused (`WARDEN_ERR_UNSAFE_PATH`); `status` is the answer to give
 * (400, or 404 for nothing there).
 */
export class UnsafePathError extends errors.WARDEN_ERR_UNSAFE_PATH {
  constructor (readonly reason: string, readonly status: 400 | 404 = 400) {
    super(reason)
    this.name = 'UnsafePathError'
    this.statusCode = status
  }
}

/**
 * Resolve `requested` (a path from a URL, already decoded once by the router) inside `base`,
 * for a route that serves files. Refused: NUL bytes, backslashes, absolute paths, `..`
 * segments, still-encoded characters (`%2e%2e%2f`, double encoding), and anything — symlinks
 * included — whose real location is outside `base`. Returns the real path of a regular file:
 * a folder (or anything else that is not a file) is a 404, as a missing one is.
 *
 * @example
 * app.get('/files/*', async (request, reply) => {
 *   const file = await safePath('/srv/files', (request.params as { '*': string })['*'])
 *   return reply.send(createReadStream(file))
 * })
 */
export async function safePath (base: string, requested: string): Promise<string> {
  if (typeof requested !== 'string' || requested.length === 0 || requested.length > 1024) throw new UnsafePathError('path is empty or too long')
  if (requested.includes('\u0000')) throw new UnsafePathError('path contains a NUL byte')
  if (requested.includes('%')) throw new UnsafePathError('path contains encoded characters')
  if (requested.includes('\\')) throw new UnsafePathError('path contains a backslash')
  if (isAbsolute(requested)) throw new UnsafePathError('path is absolute')
  if (requested.split('/').some((segment) => segment === '..')) throw new UnsafePathError('path leaves its folder')
  const root = await realpath(base)
  const target = resolve(root, requested)
  if (target !== root && !target.startsWith(root + sep)) throw new UnsafePathError('path leaves its folder')
  let real: string
  try {
    real = await realpath(target)
  } catch {
    throw new UnsafePathError('no such file', 404)
  }
  if (real !== root && !real.startsWith(root + sep)) throw new UnsafePathError('path leads outside its folder through a link')
  // A folder would be an EISDIR error (a 500) once the route opens it.
  if (!(await stat(real)).isFile()) throw new UnsafePathError('no such file', 404)
  return real
}
