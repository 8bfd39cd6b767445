import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { mkdtemp, mkdir, writeFile, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Identifier, SafeText, StringMap, NormalizedEmail, RichText, inputKeywords, safePath, UnsafePathError, sanitizeRichText } from '../../schemas/index.js'
import { problemErrorHandler } from '../../plugins/core/error-handler.js'

/** The seeds' AgentRunRequest, with the toolkit instead of Pydantic validators. */
const AgentRun = Type.Object(
  {
    agent_id: Identifier(),
    input_text: SafeText({ minLength: 1, maxLength: 50_000, maxBytes: 200_000 }),
    parameters: StringMap({ maxKeys: 20, maxKeyLength: 64, maxValueLength: 1000 }),
    email: Type.Optional(NormalizedEmail()),
    notes: Type.Optional(RichText({ maxLength: 10_000 }))
  },
  { additionalProperties: false }
)

async function toolkitApp () {
  const app = Fastify({ ajv: { plugins: [inputKeywords], customOptions: { removeAdditional: false } } })
  app.setErrorHandler(problemErrorHandler)
  app.post('/agents/run', { schema: { body: AgentRun } }, async (request) => request.body)
  await app.ready()
  return app
}

const valid = { agent_id: 'agent_1-a', input_text: '  hello world  ', parameters: { mode: 'fast' } }

t.test('valid input passes, trimmed and normalised before the handler sees it', async (t) => {
  const app = await toolkitApp()
  const res = await app.inject({ method: 'POST', url: '/agents/run', payload: { ...valid, email: 'Alice@Example.COM' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ...valid, input_text: 'hello world', email: 'alice@example.com' })
})

t.test('hostile input is a 400 naming the field', async (t) => {
  const app = await toolkitApp()
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...valid, agent_id: '../etc' }, '/agent_id'],
    [{ ...valid, agent_id: 'a b' }, '/agent_id'],
    [{ ...valid, agent_id: 'x'.repeat(65) }, '/agent_id'],
    [{ ...valid, agent_id: '' }, '/agent_id'],
    [{ ...valid, input_text: 'nul\u0000byte' }, '/input_text'],
    [{ ...valid, input_text: 'bell\u0007' }, '/input_text'],
    [{ ...valid, input_text: '😀'.repeat(50_001) }, '/input_text'],
    [{ ...valid, parameters: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }, '/parameters'],
    [{ ...valid, parameters: { ['k'.repeat(65)]: 'v' } }, '/parameters'],
    [{ ...valid, parameters: { k: 'v'.repeat(1001) } }, '/parameters/k'],
    [{ ...valid, parameters: { 'nul\u0000': 'v' } }, '/parameters'],
    [{ ...valid, email: 'not an email' }, '/email']
  ]
  for (const [payload, field] of cases) {
    const res = await app.inject({ method: 'POST', url: '/agents/run', payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80))
    t.ok(
      res.json().errors.some((e: { field: string }) => e.field.startsWith(field)),
      `${field}: ${res.json().detail.slice(0, 120)}`
    )
  }
})

t.test('UTF-8 bytes are bounded as well as characters', async (t) => {
  const app = Fastify({ ajv: { plugins: [inputKeywords] } })
  app.setErrorHandler(problemErrorHandler)
  app.post('/t', { schema: { body: Type.Object({ text: SafeText({ maxLength: 10, maxBytes: 12 }) }) } }, async (request) => request.body)
  t.equal((await app.inject({ method: 'POST', url: '/t', payload: { text: 'abcdefghij' } })).statusCode, 200)
  const emoji = await app.inject({ method: 'POST', url: '/t', payload: { text: '😀😀😀😀' } })
  t.equal(emoji.statusCode, 400, '4 characters, 16 bytes')
  t.match(emoji.json().detail, /must NOT be longer than 12 bytes in UTF-8/)
})

t.test('rich text: allow-listed tags and attributes, https links only, scripts and handlers gone', async (t) => {
  const cases: Array<[string, string]> = [
    ['<p>Hello <b>world</b></p>', '<p>Hello <b>world</b></p>'],
    ['<script>alert(1)</script><p>x</p>', '<p>x</p>'],
    ['<img src=x onerror=alert(1)>', ''],
    ['<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'],
    ['<a href="http://plain.example.com">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'],
    ['<a href="//evil.example.com">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'],
    ['<a href="https://ok.example.com" onclick="steal()" style="x">x</a>', '<a href="https://ok.example.com" rel="noopener noreferrer nofollow">x</a>'],
    ['<iframe src="https://evil.example.com"></iframe>', ''],
    ['<svg><script>alert(1)</script></svg>', ''],
    ['<p style="background:url(javascript:x)">y</p>', '<p>y</p>']
  ]
  for (const [input, output] of cases) t.equal(sanitizeRichText(input), output, input)
  const app = await toolkitApp()
  const res = await app.inject({ method: 'POST', url: '/agents/run', payload: { ...valid, notes: '<b>ok</b><script>x</script>' } })
  t.equal(res.json().notes, '<b>ok</b>', 'sanitised by the schema, before the handler')
})

t.test('Timestamp: what a JavaScript Date can hold, nothing else', async (t) => {
  const { Timestamp } = await import('../../schemas/index.js')
  const app = Fastify({ ajv: { plugins: [inputKeywords] } })
  app.post('/t', { schema: { body: Type.Object({ at: Timestamp() }) } }, async (request) => ({ ms: new Date((request.body as { at: string }).at).getTime() }))
  const post = async (at: string) => await app.inject({ method: 'POST', url: '/t', payload: { at } })
  for (const at of ['2026-12-31T23:59:59Z', '2099-01-01T00:00:00+02:00', '2028-02-29T12:00:00.123Z', '0001-01-01T00:00:00Z']) {
    const res = await post(at)
    t.equal(res.statusCode, 200, at)
    t.equal(res.json().ms, Date.parse(at), `${at}: the handler's Date is valid`)
  }
  for (const at of [
    '2026-12-31T23:59:60Z',
    '2026-02-30T00:00:00Z',
    '2027-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2026-12-31',
    'tomorrow',
    '2026-12-31T24:00:00Z'
  ]) {
    const res = await post(at)
    t.equal(res.statusCode, 400, `${at}: a 400, not a 500`)
  }
  await app.close()
})

t.test('safePath: stays inside its folder, whatever the request says', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'warden-files-'))
  const base = join(root, 'public')
  await mkdir(join(base, 'docs'), { recursive: true })
  await writeFile(join(base, 'docs', 'a.txt'), 'a')
  await writeFile(join(root, 'secret.txt'), 'secret')
  await symlink(join(root, 'secret.txt'), join(base, 'link-out'))
  await symlink(join(base, 'docs', 'a.txt'), join(base, 'link-in'))
  t.equal(await safePath(base, 'docs/a.txt'), join(await import('node:fs/promises').then((fs) => fs.realpath(base)), 'docs', 'a.txt'))
  t.ok((await safePath(base, 'link-in')).endsWith(join('docs', 'a.txt')), 'a link inside the folder is fine')
  const refused: Array<[string, number]> = [
    ['../secret.txt', 400],
    ['docs/../../secret.txt', 400],
    ['/etc/passwd', 400],
    ['docs/a.txt\u0000.png', 400],
    ['%2e%2e%2fsecret.txt', 400],
    ['%252e%252e%252f', 400],
    ['..\\secret.txt', 400],
    ['link-out', 400],
    ['', 400],
    ['docs/missing.txt', 404],
    // Regression: a folder was returned, and the README's download route answered 500 (EISDIR).
    ['docs', 404],
    ['docs/', 404],
    ['.', 404]
  ]
  for (const [requested, status] of refused) {
    const err = await safePath(base, requested).then(
      () => undefined,
      (e: unknown) => e
    )
    t.ok(err instanceof UnsafePathError, JSON.stringify(requested))
    t.equal((err as UnsafePathError).status, status, `${JSON.stringify(requested)}: ${(err as Error).message}`)
  }
})
