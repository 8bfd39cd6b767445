import t from 'tap'
import ts from 'typescript'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import * as plugins from '../../plugins/index.js'
import * as schemas from '../../schemas/index.js'
import * as stores from '../../stores/index.js'
import { errors } from '../../plugins/errors.js'
import { checkClaims } from '../../plugins/oauth2-bearer/verify.js'
import { DependencyUnavailable, InvalidDpopProof, InvalidToken, OAuthFailure } from '../../plugins/errors.js'
import { UnsafePathError } from '../../schemas/safe-path.js'
import { DatabaseUnavailable } from '../../stores/index.js'
import { DuplicateError } from '../../app/errors.js'

// Each exported name is a semver promise: the lists below change only on purpose, and every name
// is used (with its misuse refused) in public-api.tst.ts, which `npm run typecheck` compiles.
const root = new URL('../..', import.meta.url).pathname
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

const PLUGIN_VALUES = [
  'ALGORITHMS',
  'API_KEY_LENGTH',
  'API_KEY_PATTERN',
  'API_KEY_PREFIX_LENGTH',
  'API_KEY_PREFIX_PATTERN',
  'Availability',
  'CredentialRefusal',
  'INVALID_CREDENTIALS',
  'InvalidDpopProof',
  'InvalidToken',
  'OAuthFailure',
  'REDACT_PATHS',
  'ScopeDemandRefused',
  'apiKey',
  'basicAuth',
  'canonicalUsername',
  'checkSecurityContract',
  'cors',
  'createPasswordHasher',
  'default',
  'errors',
  'generateApiKey',
  'hijackWithHeaders',
  'invalidFields',
  'isHostEntry',
  'isOrigin',
  'logSerializers',
  'mcpAuthInfo',
  'memoryDpopReplay',
  'memoryLoginAttempts',
  'oauth2Bearer',
  'oauth2Server',
  'openapi',
  'passwordLogin',
  'problem',
  'rateLimit',
  'redactHeaders',
  'requestId',
  'requestIdOptions',
  'secretFault',
  'secureServerOptions',
  'securityEvent',
  'securityHeaders',
  'sendProblem',
  'trustedHosts',
  'warden'
]
const SCHEMA_VALUES = [
  'Identifier',
  'Integer',
  'Money',
  'NO_CONTROL',
  'NormalizedEmail',
  'PLAIN_TEXT',
  'QueryInteger',
  'RICH_TEXT_POLICY',
  'RichText',
  'SafeText',
  'StringMap',
  'Timestamp',
  'UnsafePathError',
  'inputKeywords',
  'safePath',
  'sanitizeRichText'
]
const STORE_VALUES = [
  'DatabaseUnavailable',
  'RevocationList',
  'applyMigrations',
  'isConnectionError',
  'memoryRefreshTokenStore',
  'memoryRevocations',
  'memorySessionStore',
  'migrateWarden',
  'openDatabase',
  'redisDpopReplay',
  'redisLoginAttempts',
  'sqlApiKeyStore',
  'sqlRefreshTokenStore',
  'sqlRevocationStore',
  'wardenStores'
]

/** Every name an entry point exports, types included, as written in its export statements. */
function exportedNames (entry: string): string[] {
  const source = ts.createSourceFile(entry, read(entry), ts.ScriptTarget.Latest)
  return source.statements.flatMap((statement) => {
    const clause = ts.isExportDeclaration(statement) ? statement.exportClause : undefined
    return clause !== undefined && ts.isNamedExports(clause) ? clause.elements.map((e) => e.name.text) : []
  })
}

t.test('the entry points export the chosen values, nothing more', async (t) => {
  t.same(Object.keys(plugins).sort(), [...PLUGIN_VALUES].sort(), 'fastify-warden')
  t.same(Object.keys(schemas).sort(), [...SCHEMA_VALUES].sort(), 'fastify-warden/schemas')
  t.same(Object.keys(stores).sort(), [...STORE_VALUES].sort(), 'fastify-warden/stores')
})

t.test('every exported name, value or type, is used in the type tests', async (t) => {
  const typeTests = read('test/types/public-api.tst.ts')
  for (const [entry, alias] of [
    ['plugins/index.ts', 'W'],
    ['schemas/index.ts', 'S']
  ] as const) {
    const names = exportedNames(entry).filter((name) => name !== 'default')
    t.ok(names.length > 10, `${entry} read`)
    // `W.name`, or the name in the named imports of the file's first lines.
    const from = `'../../${entry.replace('.ts', '.js')}'`
    const imports = typeTests
      .split('\n')
      .filter((line) => line.startsWith('import ') && line.endsWith(from))
      .join('\n')
    const used = (name: string): boolean => new RegExp(`\\b${alias}\\.${name}\\b`).test(typeTests) || new RegExp(`[{,] (?:type )?${name}\\b`).test(imports)
    for (const name of names) t.ok(used(name), `${entry}: ${name}`)
  }
})

t.test('every error code: an entry of the list, under its own name, with a doc comment', async (t) => {
  const source = read('plugins/errors.ts')
  t.equal(plugins.errors, errors)
  for (const [key, ErrorClass] of Object.entries(errors)) {
    const err = new ErrorClass('a', 'b', 'c')
    t.equal(err.code, key)
    t.ok(err instanceof Error, `${key} is an Error`)
    t.match(source, new RegExp(`\\*/\\n {2}${key}: createError[<(]`), `${key} has its doc comment`)
  }
})

t.test('every error a user can catch carries a code of the list (or, for the reference app, its own)', async (t) => {
  const coded = [
    [new InvalidToken('iss', 'claims', { sub: 'u' }, 'iss'), 'WARDEN_ERR_INVALID_TOKEN', 401, 'iss'],
    [new InvalidToken('bad signature', 'signature'), 'WARDEN_ERR_INVALID_TOKEN', 401, 'bad signature'],
    [
      new OAuthFailure('invalid_client', 'Client authentication failed.', 401),
      'WARDEN_ERR_OAUTH',
      401,
      'token request refused (invalid_client): Client authentication failed.'
    ],
    [new InvalidDpopProof('nonce missing', 'use_dpop_nonce'), 'WARDEN_ERR_INVALID_DPOP_PROOF', 401, 'nonce missing'],
    [new DependencyUnavailable('apiKey', new Error('down')), 'WARDEN_ERR_DEPENDENCY', 503, "security scheme 'apiKey' could not check the credential"],
    [new UnsafePathError('no such file', 404), 'WARDEN_ERR_UNSAFE_PATH', 404, 'path refused: no such file']
  ] as const
  for (const [err, code, status, message] of coded) {
    t.equal(err.code, code, err.name)
    t.equal(err.statusCode, status, `${err.name}: status`)
    t.equal(err.message, message, `${err.name}: message`)
    t.ok(err instanceof errors[code], `${err.name} is an instance of errors.${code}`)
  }
  t.equal(new DependencyUnavailable('apiKey', 'down').cause, 'down', 'the cause is kept')
  const rules = { issuers: ['i'], audiences: ['a'], tokenTypes: ['at+jwt'], requireJti: false, clockTolerance: 0, now: () => 10_000 }
  const payload = (claims: object): string => Buffer.from(JSON.stringify(claims)).toString('base64url')
  t.throws(
    () => checkClaims(payload({ iss: 'i', aud: 'a', sub: 'u', exp: 1 }), rules),
    { code: 'WARDEN_ERR_INVALID_TOKEN', kind: 'expired', reason: 'expired', claim: 'exp', message: 'expired' },
    'a claim refused names it'
  )
  t.throws(() => checkClaims(payload({ iss: 'x', aud: 'a', sub: 'u', exp: 100 }), rules), {
    code: 'WARDEN_ERR_INVALID_TOKEN',
    kind: 'claims',
    reason: 'iss',
    claim: 'iss'
  })
  t.equal(plugins.InvalidToken, InvalidToken)
  t.equal(schemas.UnsafePathError, UnsafePathError)
  t.ok(Object.hasOwn(errors, new DatabaseUnavailable(new Error('x')).code), "the stores' DatabaseUnavailable too")
  const duplicate = new DuplicateError('email')
  t.same(
    { code: duplicate.code, statusCode: duplicate.statusCode, field: duplicate.field },
    { code: 'APP_ERR_DUPLICATE', statusCode: 409, field: 'email' },
    "the reference app's DuplicateError"
  )
})

// Errors are recognised by their code or class, never by their text. The exceptions are errors of
// other libraries that carry no code: Redis replies, whose first word is the error's kind (RESP),
// and pg's own connection errors.
const READS_MESSAGE = new RegExp(
  [
    String.raw`\.message\??\.(?:includes|startsWith|endsWith|match|indexOf|search|split)\(`,
    String.raw`\.message\s*[!=]==?`,
    String.raw`\.(?:test|exec)\((?:[^)]*\.)?message\b`
  ].join('|')
)
const THIRD_PARTY: Record<string, RegExp> = {
  'plugins/hardening/rate-limit-counters.ts': /'NOSCRIPT'/,
  'app/redis.ts': /READONLY|WRONGPASS/,
  'stores/sql/connection-errors.ts': /PG_MESSAGES/
}

function sources (dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(root, path)).isDirectory()) return sources(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

t.test('no error is recognised by its message', async (t) => {
  const found: string[] = []
  for (const file of ['plugins', 'stores', 'schemas', 'app', 'routes'].flatMap(sources)) {
    read(file)
      .split('\n')
      .forEach((line, i) => {
        if (!READS_MESSAGE.test(line) || THIRD_PARTY[file]?.test(line) === true) return
        found.push(`${file}:${i + 1}: ${line.trim()}`)
      })
  }
  t.same(found, [], 'by code or class instead')
})
