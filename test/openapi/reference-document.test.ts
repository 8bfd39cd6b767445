import t from 'tap'
import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse } from 'yaml'
import { referenceDocument } from '../../scripts/openapi.js'
import { openStores } from '../../app/stores.js'
import { closeSharedDatabase, testDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('openapi.yaml is what the reference app generates (run `npm run openapi` after changing a route)', async (t) => {
  const generated = await referenceDocument(await openStores({ database: await testDatabase(t, 'pglite') }))
  const committed = await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8')
  t.equal(committed, generated, 'openapi.yaml has drifted from the app: regenerate it with npm run openapi')
})

t.test('the committed document is valid OpenAPI 3.1 and every operation states its security', async (t) => {
  const doc = parse(await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
  await SwaggerParser.validate(structuredClone(doc))
  const operations = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>).flatMap(
    ([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op }))
  )
  t.ok(operations.length >= 12)
  for (const { name, op } of operations) {
    t.ok(Array.isArray(op.security), `${name} states its security`)
    if ((op.security as unknown[]).length > 0) t.ok('401' in op.responses, `${name} documents 401`)
  }
  t.same(
    operations
      .filter(({ op }) => (op.security as unknown[]).length === 0)
      .map((o) => o.name)
      .sort(),
    [
      'GET /.well-known/oauth-authorization-server',
      'GET /.well-known/oauth-protected-resource',
      'GET /health',
      'POST /auth/revoke',
      'POST /auth/token',
      'POST /login'
    ]
  )
})
