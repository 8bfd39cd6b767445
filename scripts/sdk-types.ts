import { readFile, writeFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'

/** TypeScript types for the committed openapi.yaml, as a client team would generate them. */
export async function sdkTypes (): Promise<string> {
  const document = await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8')
  return '// Generated from openapi.yaml by openapi-typescript (npm run sdk:types). Do not edit.\n' + astToString(await openapiTS(document))
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const target = new URL('../test/sdk/openapi.d.ts', import.meta.url)
  await writeFile(target, await sdkTypes())
  process.stdout.write(`wrote ${target.pathname}\n`)
}
