import t, { type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
// The child processes are not this test's code: keep them out of coverage.
const env = { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', npm_config_audit: 'false', npm_config_fund: 'false' }
const secrets = { JWT_SECRET_KEY: randomBytes(32).toString('base64'), API_KEY_SECRET: randomBytes(32).toString('base64') }

/** The README's code blocks of one language, in order. */
function blocks (readme: string, lang: string): string[] {
  return [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1])
}

/** Start a README program that listens, and give its base URL once Fastify says it is listening. */
async function serve (t: Test, cwd: string, file: string, extra: Record<string, string> = {}): Promise<string> {
  // As installed by the README's line: the embedded database, so no DATABASE_URL of this machine's.
  const local: Record<string, string | undefined> = { ...env }
  delete local.DATABASE_URL
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd,
    env: { ...local, ...secrets, PORT: '0', ...extra },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  })
  let output = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${file} did not start: ${output}`))
    }, 60_000)
    const read = (chunk: Buffer): void => {
      output += chunk.toString()
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (listening !== null) {
        clearTimeout(timer)
        resolve(listening[1])
      }
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${file} exited with ${String(code)}: ${output}`))
    })
  })
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString()
})

const DPOP_ALGS = 'ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256 RS384 RS512'

/** Run a README program that reports what it saw as its last line of output (JSON), and read that. */
async function report (cwd: string, file: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd, env: { ...env, ...secrets, PORT: '0' } })
  return JSON.parse(stdout.trim().split('\n').pop()!)
}

/** What each README program must do when it runs: the behaviour a reader of the README expects. */
const scenarios: Record<string, (t: Test, cwd: string) => Promise<void>> = {
  async 'notes-app.ts' (t, cwd) {
    const base = await serve(t, cwd, 'notes-app.ts')
    const login = await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ada', password: 'correct horse battery staple' }))
    t.equal(login.status, 200, 'the password grant of the README works')
    const tokens = (await login.json()) as { access_token: string; refresh_token: string; scope: string }
    t.equal(tokens.scope, 'notes:read notes:write')
    const wrong = await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ada', password: 'wrong' }))
    t.same(await wrong.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' })

    const anonymous = await fetch(`${base}/notes`)
    t.equal(anonymous.status, 401)
    t.match(anonymous.headers.get('www-authenticate'), /^Bearer realm="api"/)
    const bearer = { authorization: `Bearer ${tokens.access_token}` }
    t.same(await (await fetch(`${base}/notes`, { headers: bearer })).json(), { owner: 'u-1', notes: [] })
    t.same(await (await fetch(`${base}/me`, { headers: bearer })).json(), { id: 'u-1', name: 'Ada' }, 'the typed current user')

    const writer = (await (
      await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ada', password: 'correct horse battery staple', scope: 'notes:write' }))
    ).json()) as { access_token: string }
    t.equal((await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${writer.access_token}` } })).status, 403, 'a token without notes:read')

    const refreshed = await fetch(`${base}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
    t.equal(refreshed.status, 200)
    const next = (await refreshed.json()) as { access_token: string }
    const replay = await fetch(`${base}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
    t.equal(replay.status, 400, 'a replayed refresh token is refused')
    t.equal((await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${next.access_token}` } })).status, 401, '…and its session with it')

    const fresh = (await (
      await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ada', password: 'correct horse battery staple' }))
    ).json()) as { access_token: string }
    const auth = { authorization: `Bearer ${fresh.access_token}`, 'content-type': 'application/json' }
    const bad = await fetch(`${base}/api-keys`, { method: 'POST', headers: auth, body: JSON.stringify({ name: '' }) })
    t.equal(bad.status, 400)
    const created = await fetch(`${base}/api-keys`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'ci' }) })
    t.equal(created.status, 201)
    const { key } = (await created.json()) as { key: string }
    t.match(key, /^wdn_/)
    t.equal((await fetch(`${base}/notes`, { headers: { 'x-api-key': key } })).status, 200, 'the new API key reads notes')
    t.equal((await fetch(`${base}/notes`, { headers: { 'x-api-key': key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A') } })).status, 401)

    const doc = (await (await fetch(`${base}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>
      components: { securitySchemes: Record<string, { flows?: Record<string, { refreshUrl?: string }> }> }
    }
    t.same(doc.paths['/notes'].get.security, [{ oauth2: ['notes:read'] }, { apiKey: ['notes:read'] }, { basic: ['notes:read'] }])
    t.equal(doc.components.securitySchemes.oauth2.flows?.password.refreshUrl, '/auth/token')
    t.equal((await fetch(`${base}/health`)).status, 200)

    // Issue 17: what the README's program now does for a user's app.
    t.equal(
      (await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ADA', password: 'correct horse battery staple' }))).status,
      200,
      'one account in any case of its name'
    )
    const basicAda = { authorization: 'Basic ' + Buffer.from('ada:correct horse battery staple').toString('base64') }
    t.equal((await fetch(`${base}/notes`, { headers: basicAda })).status, 200, "Basic through the token endpoint's login")
    const badUrl = await fetch(`${base}/notes/%ZZ?api_key=wdn_planted_secret_in_url`)
    t.equal(badUrl.status, 400, 'a malformed URL is a 400')
    t.equal(badUrl.headers.get('content-type'), 'application/problem+json; charset=utf-8')
    t.notMatch(await badUrl.text(), /planted/, 'and echoes nothing of it')
    const session = (await (
      await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ada', password: 'correct horse battery staple' }))
    ).json()) as { access_token: string; refresh_token: string }
    const changed = await fetch(`${base}/me/password`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${session.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'a brand new password 42' })
    })
    t.equal(changed.status, 204)
    t.equal((await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${session.access_token}` } })).status, 401, 'a password change ends the sessions')
    t.equal((await fetch(`${base}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: session.refresh_token }))).status, 400)
    t.equal(
      (await fetch(`${base}/auth/token`, form({ grant_type: 'password', username: 'ada', password: 'a brand new password 42' }))).status,
      200,
      'the new password logs in'
    )
    const guesses = []
    for (let i = 0; i < 6; i++) {
      guesses.push((await fetch(`${base}/notes`, { headers: { authorization: 'Basic ' + Buffer.from(`ada:guess ${i}`).toString('base64') } })).status)
    }
    t.same(guesses.slice(0, 4), [401, 401, 401, 401], 'wrong Basic passwords are refused…')
    t.equal(guesses[5], 429, '…until the lockout and the address budget stop the guessing')
  },

  async 'agents-app.ts' (t, cwd) {
    await mkdir(join(cwd, 'files'), { recursive: true })
    await writeFile(join(cwd, 'files', 'hello.txt'), 'hello')
    const base = await serve(t, cwd, 'agents-app.ts', { FILES_DIR: join(cwd, 'files') })
    const post = async (body: unknown) =>
      await fetch(`${base}/agents/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const ok = await post({
      agent_id: 'agent_1',
      input_text: '  hello  ',
      parameters: { a: 'b' },
      email: 'Ada@Example.COM',
      notes: '<a href="javascript:x()">x</a><b>b</b>'
    })
    t.equal(ok.status, 200)
    t.same(
      await ok.json(),
      {
        accepted: {
          agent_id: 'agent_1',
          input_text: 'hello',
          parameters: { a: 'b' },
          email: 'ada@example.com',
          notes: '<a rel="noopener noreferrer nofollow">x</a><b>b</b>'
        }
      },
      'trimmed, lower-cased, the javascript: link dropped'
    )
    t.equal((await post({ agent_id: 'no spaces allowed', input_text: 'x', parameters: {} })).status, 400)
    t.equal((await post({ agent_id: 'a', input_text: 'x', parameters: {}, extra: 1 })).status, 400)
    t.equal(await (await fetch(`${base}/files/hello.txt`)).text(), 'hello')
    t.equal((await fetch(`${base}/files/..%2fpackage.json`)).status, 400)
    t.equal((await fetch(`${base}/files/missing.txt`)).status, 404)
    await mkdir(join(cwd, 'files', 'folder'), { recursive: true })
    t.equal((await fetch(`${base}/files/folder`)).status, 404, 'regression: a folder is not a file (it was a 500, EISDIR)')
  },

  async 'typed-app.ts' (t, cwd) {
    // A token of the Quick start's app, as the README says: the same secret, issuer and audience.
    const notes = await serve(t, cwd, 'notes-app.ts')
    const base = await serve(t, cwd, 'typed-app.ts')
    const login = await fetch(
      `${notes}/auth/token`,
      form({ grant_type: 'password', username: 'ada', password: 'correct horse battery staple', scope: 'notes:write' })
    )
    const { access_token: token } = (await login.json()) as { access_token: string }
    const post = async (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }, folder = 'work') =>
      await fetch(`${base}/folders/${folder}/notes`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body)
      })
    const created = await post({ title: '  Plan  ', tags: ['q3'] })
    t.equal(created.status, 201)
    t.same(await created.json(), { folder: 'work', title: 'Plan', tags: ['q3'], pinned: false, author: 'u-1' }, 'the typed body, params and principal')
    t.equal((await post({ title: 'x', tags: [], author: 'eve' })).status, 400, 'a field outside the schema')
    t.equal((await post({ tags: [] })).status, 400, 'a missing field')
    t.equal((await post({ title: 'x', tags: [] }, undefined, 'not%20an%20id')).status, 400, 'params are checked too')
    const anonymous = await post({ title: 'x', tags: [] }, {})
    t.equal(anonymous.status, 401)
    t.match(anonymous.headers.get('www-authenticate'), /^Bearer realm="api"/)
  },

  async 'dpop-app.ts' (t, cwd) {
    // Server and client in one program: it prints what each request got, then closes.
    t.same(await report(cwd, 'dpop-app.ts'), {
      tokenType: 'DPoP',
      notes: 200,
      replayed: 401,
      vault: 200,
      stolen: [
        401,
        `Bearer realm="api", error="invalid_token", scope="notes:read", DPoP realm="api", algs="${DPOP_ALGS}", error="invalid_token", scope="notes:read"`
      ],
      refreshWithoutKey: 400,
      refreshWithKey: 200,
      bearerTokenType: 'Bearer',
      bearerNotes: 200,
      bearerVault: 401
    }, 'a bound token works only with proofs of its key, a bearer client as before')
  },

  async 'step-up-app.ts' (t, cwd) {
    const stepUp = 'error="insufficient_user_authentication", error_description="A login with a stronger authentication method is required.", ' +
      'acr_values="urn:example:mfa", max_age="600", scope="payments:write"'
    t.same(await report(cwd, 'step-up-app.ts'), {
      balance: 200,
      passwordOnly: [401, `Bearer realm="api", ${stepUp}`],
      wrongCode: 401,
      withCode: 201
    }, 'a password-only token is told to step up; the second factor\'s tokens pay')
  },

  async 'mcp-app.ts' (t, cwd) {
    // An MCP server and the official SDK's client in one program.
    t.same(await report(cwd, 'mcp-app.ts'), {
      tools: ['whoami', 'read_note', 'write_note'],
      whoami: { client: 'agent-1', scopes: ['mcp', 'notes:read'] },
      read: 'note n-1',
      write: 403,
      written: 'saved',
      anonymous: [
        401,
        'Bearer realm="api", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp"',
        'https://agent.example.com'
      ]
    }, 'tools run with the caller\'s AuthInfo; a tool whose scope the token lacks is a 403; a 401 names the scope and the metadata')
  },

  async 'contract.test.ts' (t, cwd) {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--test-reporter=tap', 'contract.test.ts'], { cwd, env: { ...env, ...secrets } })
    t.match(stdout, /# pass 1\n/, 'the README contract test passes')
  }
}

t.test(
  'the packed package in a fresh project: the README install line, its programs compile (strict, skipLibCheck off) and run',
  { timeout: 400_000 },
  async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), 'warden-consumer-'))
    // Its node_modules weigh ~50 MB: never left behind.
    t.teardown(async () => {
      await rm(scratch, { recursive: true, force: true })
    })
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 })
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>
    const files = packed.files.map((f) => f.path)
    t.ok(
      files.includes('dist/plugins/index.js') &&
        files.includes('dist/plugins/index.d.ts') &&
        files.includes('dist/schemas/index.js') &&
        files.includes('dist/stores/index.d.ts'),
      'the build and its types are in the package, stores included'
    )
    t.same(
      files.filter(
        (f) =>
          f.startsWith('test/') ||
          f.startsWith('dist/routes/') ||
          /^dist\/(app|server|config)\./.test(f) ||
          /^dist\/stores\/(identity|users|migrations|errors)\./.test(f) ||
          f.endsWith('.map') ||
          f.includes('.env')
      ),
      [],
      'no tests, no reference app, no source maps, no secrets'
    )

    const readme = await readFile(join(root, 'README.md'), 'utf8')
    // Every TypeScript block that imports the package is a whole program, named by its first line.
    const programs = blocks(readme, 'ts').filter((code) => /from 'fastify-warden/.test(code))
    for (const code of programs) t.match(code, /^\/\/ file: [\w.-]+\.ts\n/, 'a README block that imports fastify-warden is a whole program')
    const named = Object.fromEntries(programs.map((code) => [/^\/\/ file: ([\w.-]+\.ts)/.exec(code)![1], code]))
    t.same(Object.keys(named).sort(), Object.keys(scenarios).sort(), 'every README program is run by this test')
    // The README's own install lines, with the package from the tarball.
    const installed = new Set(blocks(readme, 'sh').flatMap((sh) => [...sh.matchAll(/^npm install (fastify-warden .*)$/gm)].flatMap((m) => m[1].split(/\s+/))))
    t.ok(installed.has('fastify') && installed.has('@electric-sql/pglite'), `install lines found: ${[...installed].join(' ')}`)

    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    await writeFile(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node']
        },
        include: ['*.ts']
      })
    )
    await writeFile(join(scratch, 'app.ts'), await readFile(new URL('./consumer.ts.txt', import.meta.url), 'utf8'))
    for (const [file, code] of Object.entries(named)) await writeFile(join(scratch, file), code)
    const version = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).devDependencies.typescript as string
    const packages = [...installed].map((p) => (p === 'fastify-warden' ? join(scratch, packed.filename) : p))
    await run('npm', ['install', '--no-audit', '--no-fund', ...packages, `typescript@${version}`, '@types/node@22', 'tsx@4'], {
      cwd: scratch,
      env,
      maxBuffer: 16 * 1024 * 1024
    })

    const tsc = join(scratch, 'node_modules/.bin/tsc')
    const typeCheck = async (): Promise<string> =>
      await run(tsc, ['-p', '.'], { cwd: scratch, env }).then(
        () => '',
        (err: { stdout: string }) => err.stdout
      )
    t.equal(await typeCheck(), '', 'the consumer and every README program type-check against the published types, with skipLibCheck off')
    // A new project gets the newest @types/node, whose `node:crypto` has dropped names (JsonWebKey,
    // in 26) the published declarations must not lean on; the oldest supported one was checked above.
    const npmOptions = { cwd: scratch, env, maxBuffer: 16 * 1024 * 1024 }
    await run('npm', ['install', '--no-audit', '--no-fund', '@types/node@latest'], npmOptions)
    const typesNode = join(scratch, 'node_modules/@types/node/package.json')
    const newest = JSON.parse(await readFile(typesNode, 'utf8')).version as string
    t.equal(await typeCheck(), '', `…and against @types/node ${newest}, the newest`)

    const result = await run(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: scratch, env })
    t.same(JSON.parse(result.stdout.trim().split('\n').pop()!), {
      status: 401,
      challenge: ['Bearer realm="api", scope="orders:read"', 'ApiKey realm="api", header="X-API-Key", scope="orders:read"'],
      findings: []
    })
    for (const [file, scenario] of Object.entries(scenarios)) {
      await t.test(`README program ${file}`, async (t) => {
        await scenario(t, scratch)
      })
    }

    // The user-app suites once more, against the installed package instead of the source: every
    // registration order, and the token endpoint's RFC 6749/7009 cases.
    const suites = ['test/core/registration-order.test.ts', 'test/oauth2-server/user-app.test.ts']
    const clean = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TAP')))
    // Each file runs as a plain node process (not a nested tap run, which would reset the outer coverage).
    for (const suite of suites) {
      const again = await run(process.execPath, ['--import', 'tsx', suite], {
        cwd: root,
        env: { ...clean, WARDEN_PACKAGE_DIR: scratch },
        maxBuffer: 16 * 1024 * 1024
      }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout })
      )
      t.equal(
        again.code,
        0,
        `${suite} passes against the packed package${
          again.code === 0
            ? ''
            : ':\n' +
              again.out
                .split('\n')
                .filter((l) => /not ok/.test(l))
                .join('\n')
        }`
      )
      t.match(again.out, /^# \{ total: \d+, pass: \d+ \}$|^1\.\.\d+$/m, `${suite} ran its tests`)
    }
  }
)
