import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

t.test('openapi.yaml passes Spectral with the OWASP ruleset: zero errors (npm run lint:openapi)', async (t) => {
  const root = new URL('../..', import.meta.url).pathname
  const cli = new URL('../../node_modules/@stoplight/spectral-cli/dist/index.js', import.meta.url).pathname
  // Spectral exits 1 when it finds errors; the JSON report says which.
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'lint', 'openapi.yaml', '--format', 'json', '--fail-severity', 'error', '--quiet'], {
    cwd: root,
    env: { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' }
  }).catch((err: { stdout: string }) => ({ stdout: err.stdout }))
  const results = JSON.parse(stdout.trim() === '' ? '[]' : stdout) as Array<{ code: string; severity: number; path: string[]; message: string }>
  const errors = results.filter((r) => r.severity === 0).map((r) => `${r.code} at ${r.path.join('.')}: ${r.message}`)
  t.same(errors, [])
})
