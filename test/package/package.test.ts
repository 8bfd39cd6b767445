import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
// The child processes are not this test's code: keep them out of coverage.
const env = { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', npm_config_audit: 'false', npm_config_fund: 'false' }

t.test('the packed package installs into a fresh ESM project with only fastify, type-checks and runs', { timeout: 300_000 }, async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'warden-consumer-'))
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 })
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string, files: Array<{ path: string }> }>
  const files = packed.files.map((f) => f.path)
  t.ok(files.includes('dist/plugins/index.js') && files.includes('dist/plugins/index.d.ts') && files.includes('dist/schemas/index.js') && files.includes('dist/stores/index.d.ts'), 'the build and its types are in the package, stores included')
  t.same(files.filter((f) => f.startsWith('test/') || f.startsWith('dist/routes/') || /^dist\/(app|server|config)\./.test(f) || /^dist\/stores\/(identity|users|migrations|errors)\./.test(f) || f.endsWith('.map') || f.includes('.env')), [], 'no tests, no reference app, no source maps, no secrets')

  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await writeFile(join(scratch, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] }, include: ['app.ts'] }))
  await writeFile(join(scratch, 'app.ts'), await readFile(new URL('./consumer.ts.txt', import.meta.url), 'utf8'))
  const version = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).devDependencies.typescript as string
  await run('npm', ['install', '--no-audit', '--no-fund', join(scratch, packed.filename), 'fastify@5', `typescript@${version}`, '@types/node@20', 'tsx@4'], { cwd: scratch, env, maxBuffer: 16 * 1024 * 1024 })

  const tsc = await run(join(scratch, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: scratch, env }).then(() => '', (err: { stdout: string }) => err.stdout)
  t.equal(tsc, '', 'the consumer type-checks against the published types, with skipLibCheck off')

  const result = await run(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: scratch, env })
  t.same(JSON.parse(result.stdout.trim().split('\n').pop()!), {
    status: 401,
    challenge: ['Bearer realm="api"', 'ApiKey realm="api", header="X-API-Key"'],
    findings: []
  })
})
