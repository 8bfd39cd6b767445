import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { SafeText, Integer, QueryInteger, Money, inputKeywords } from '../../schemas/index.js'
import { secureServerOptions } from '../../plugins/index.js'
import { problemErrorHandler } from '../../plugins/core/error-handler.js'

async function app () {
  const server = Fastify({ ...secureServerOptions(), ajv: { plugins: [inputKeywords], customOptions: { removeAdditional: false } } })
  server.setErrorHandler(problemErrorHandler)
  server.post(
    '/notes',
    {
      schema: {
        body: Type.Object(
          { title: SafeText({ minLength: 1, maxLength: 40 }), amount: Type.Optional(Money()), count: Type.Optional(Integer({ minimum: 1 })) },
          { additionalProperties: false }
        )
      }
    },
    async (request) => request.body
  )
  server.get('/pages', { schema: { querystring: Type.Object({ limit: QueryInteger({ minimum: 1, maximum: 100 }) }) } }, async (request) => request.query)
  server.get('/loose', { schema: { querystring: Type.Object({ limit: Type.Integer({ minimum: 1 }) }) } }, async (request) => request.query)
  t.teardown(() => server.close())
  await server.ready()
  return server
}

t.test('regression: SafeText refuses C1 controls, bidi overrides, zero-width characters, line separators and lone surrogates', async (t) => {
  const server = await app()
  const hostile: Array<[string, string]> = [
    ['C1 CSI (U+009B)', 'pay \u009B2J'],
    ['right-to-left override (U+202E)', 'invoice\u202Efdp.exe'],
    ['left-to-right isolate (U+2066)', 'a\u2066b'],
    ['zero-width space (U+200B)', 'ad\u200Bmin'],
    ['zero-width joiner (U+200D)', 'a\u200Db'],
    ['byte order mark (U+FEFF)', '\uFEFFtitle'],
    ['word joiner (U+2060)', 'a\u2060b'],
    ['line separator (U+2028)', 'one\u2028two'],
    ['paragraph separator (U+2029)', 'one\u2029two'],
    ['lone high surrogate', 'a\uD800b'],
    ['lone low surrogate', 'a\uDC00b'],
    ['NUL', 'a\u0000b'],
    ['escape (U+001B)', 'a\u001B[31m']
  ]
  for (const [what, title] of hostile) {
    const res = await server.inject({ method: 'POST', url: '/notes', payload: JSON.stringify({ title }), headers: { 'content-type': 'application/json' } })
    t.equal(res.statusCode, 400, what)
    t.match(res.json().errors, [{ in: 'body', field: '/title' }], what)
  }
  const fine = await server.inject({ method: 'POST', url: '/notes', payload: { title: '  Café 🚀 naïve — ok\ttab  ' } })
  t.same(fine.json(), { title: 'Café 🚀 naïve — ok\ttab' }, 'accents, emoji (a surrogate pair), dashes and tabs are text')
})

t.test('regression: SafeText checks minLength after trimming ("   " is not a title)', async (t) => {
  const server = await app()
  const res = await server.inject({ method: 'POST', url: '/notes', payload: { title: '   ' } })
  t.equal(res.statusCode, 400)
  t.match(res.json().detail, /must NOT be shorter than 1 characters once trimmed/)
})

t.test('regression: strict numbers — QueryInteger refuses "0x10", " 42 ", "Infinity", "-Infinity", "1e3"; Integer and Money in bodies', async (t) => {
  const server = await app()
  for (const limit of ['0x10', ' 42 ', '%2042%20', 'Infinity', '-Infinity', '1e3', '4.0', '-1', '0', '101', '', '00', '9007199254740993']) {
    const res = await server.inject({ url: `/pages?limit=${limit}` })
    t.equal(res.statusCode, 400, JSON.stringify(limit))
  }
  t.same((await server.inject({ url: '/pages?limit=42' })).json(), { limit: 42 }, 'a number reaches the handler')
  t.equal(
    (await server.inject({ url: '/loose?limit=Infinity' })).json().limit,
    null,
    'without QueryInteger, Fastify turns "Infinity" into a number (serialised as null): why it exists'
  )

  for (const count of [0, 1.5, 2 ** 53, '3', true, [3]]) {
    t.equal((await server.inject({ method: 'POST', url: '/notes', payload: { title: 't', count } })).statusCode, 400, `count ${JSON.stringify(count)}`)
  }
  for (const amount of ['19.999', '-1.00', '1e3', '01.00', 19.99, '.5', 'NaN']) {
    t.equal((await server.inject({ method: 'POST', url: '/notes', payload: { title: 't', amount } })).statusCode, 400, `amount ${JSON.stringify(amount)}`)
  }
  t.same((await server.inject({ method: 'POST', url: '/notes', payload: { title: 't', amount: '19.99', count: 3 } })).json(), {
    title: 't',
    amount: '19.99',
    count: 3
  })
})
