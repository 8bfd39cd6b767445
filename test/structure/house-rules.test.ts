import t from 'tap'
import ts from 'typescript'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// The rules a newcomer can rely on (the conventions of the codebases we learn from), checked on the source as it
// is: sizes that stay readable, imports that run one way, no circle.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const MAX_FILE_LINES = 300
const MAX_FUNCTION_LINES = 80
const SCHEMES = ['plugins/api-key', 'plugins/basic-auth', 'plugins/oauth2-bearer']
/** The plugin, its option types, their checks at registration, request → principal, the OpenAPI scheme object. */
const SCHEME_FILES = ['index.ts', 'options.ts', 'settings.ts', 'authenticate.ts', 'document.ts']

function sources (dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(root, path)).isDirectory()) return sources(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

/** The published library: what `package.json` `files` ships, whole folders. */
const LIBRARY = ['plugins', 'stores', 'schemas']
/** The reference app: one user of the library, which it reaches through the entry points only. */
const REFERENCE_APP = ['app', 'routes']
const ENTRY_POINTS = ['plugins/index.ts', 'stores/index.ts', 'schemas/index.ts']
const files = [...LIBRARY, ...REFERENCE_APP].flatMap(sources)
const inside =
  (folders: readonly string[]) =>
    (path: string): boolean =>
      folders.some((f) => path.startsWith(`${f}/`))
const isLibrary = inside(LIBRARY)
const isReferenceApp = inside(REFERENCE_APP)
const parsed = new Map(files.map((file) => [file, ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true)]))

interface Import {
  from: string
  to: string
  typeOnly: boolean
}

/** `import type { A }`, or `import { type A, type B }`: erased from the JavaScript. */
function isTypeOnly (clause: ts.ImportClause | undefined): boolean {
  if (clause === undefined) return false
  if (clause.isTypeOnly) return true
  const named = clause.namedBindings
  return clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
}

/** Relative imports (static, re-exports and dynamic `import()`), resolved to repository paths. */
function importsOf (file: string, source: ts.SourceFile): Import[] {
  const found: Import[] = []
  const add = (specifier: string, typeOnly: boolean): void => {
    if (!specifier.startsWith('.')) return
    found.push({ from: file, to: relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts'), typeOnly })
  }
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? isTypeOnly(node.importClause) : node.isTypeOnly
      add(node.moduleSpecifier.text, typeOnly)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, false)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const imports = [...parsed].flatMap(([file, source]) => importsOf(file, source))
const owner = (path: string): string => SCHEMES.find((s) => path.startsWith(`${s}/`)) ?? path

t.test(`no file over ${MAX_FILE_LINES} lines`, async (t) => {
  const long = [...parsed]
    .map(([file, source]) => [file, source.getLineAndCharacterOfPosition(source.end).line] as const)
    .filter(([, lines]) => lines > MAX_FILE_LINES)
  t.same(long, [])
})

t.test(`no function over ${MAX_FUNCTION_LINES} lines`, async (t) => {
  const long: string[] = []
  for (const [file, source] of parsed) {
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const first = source.getLineAndCharacterOfPosition(node.getStart()).line
        const lines = source.getLineAndCharacterOfPosition(node.end).line - first + 1
        if (lines > MAX_FUNCTION_LINES) long.push(`${file}:${first + 1} (${lines} lines)`)
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  t.same(long, [])
})

t.test('every relative import names a file that exists', async (t) => {
  t.same(
    imports.filter((i) => !parsed.has(i.to) && !files.includes(i.to)).map((i) => `${i.from} -> ${i.to}`),
    []
  )
})

t.test('the library never imports the reference app; schemes never import each other', async (t) => {
  t.same(
    imports.filter((i) => isLibrary(i.from) && !isLibrary(i.to)).map((i) => `${i.from} -> ${i.to}`),
    []
  )
  t.same(
    imports.filter((i) => SCHEMES.includes(owner(i.from)) && SCHEMES.includes(owner(i.to)) && owner(i.from) !== owner(i.to)).map((i) => `${i.from} -> ${i.to}`),
    []
  )
})

t.test("the reference app uses the library through its entry points only, as a user's app does", async (t) => {
  t.same(
    imports.filter((i) => isReferenceApp(i.from) && isLibrary(i.to) && !ENTRY_POINTS.includes(i.to)).map((i) => `${i.from} -> ${i.to}`),
    []
  )
})

t.test('every published file is reached from an entry point (a published folder holds only what is published)', async (t) => {
  const edges = new Map<string, string[]>()
  for (const i of imports) edges.set(i.from, [...(edges.get(i.from) ?? []), i.to])
  const reached = new Set<string>()
  const walk = (file: string): void => {
    if (reached.has(file)) return
    reached.add(file)
    for (const next of edges.get(file) ?? []) walk(next)
  }
  ENTRY_POINTS.forEach(walk)
  // The hashing child is started by path (a process of its own), not imported.
  reached.add('plugins/passwords/hashing-child.ts')
  t.same(
    files.filter((f) => isLibrary(f) && !reached.has(f)),
    []
  )
})

t.test('every scheme is a folder of the same shape', async (t) => {
  for (const scheme of SCHEMES) {
    const names = files.filter((f) => f.startsWith(`${scheme}/`)).map((f) => f.slice(scheme.length + 1))
    t.same(
      SCHEME_FILES.filter((n) => !names.includes(n)),
      [],
      `${scheme} has ${SCHEME_FILES.join(', ')}`
    )
  }
})

t.test('stores take from the plugins only types, the core and its errors (what every part shares)', async (t) => {
  const shared = (path: string): boolean => path.startsWith('plugins/core/') || path === 'plugins/errors.ts'
  t.same(
    imports.filter((i) => i.from.startsWith('stores/') && i.to.startsWith('plugins/') && !i.typeOnly && !shared(i.to)).map((i) => `${i.from} -> ${i.to}`),
    []
  )
})

t.test('no import circle, type-only imports included', async (t) => {
  const edges = new Map<string, string[]>()
  for (const i of imports) edges.set(i.from, [...(edges.get(i.from) ?? []), i.to])
  const circles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const walk = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      circles.push([...path.slice(path.indexOf(file)), file].join(' -> '))
      return
    }
    state.set(file, 'open')
    for (const next of edges.get(file) ?? []) walk(next, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) walk(file, [])
  t.same(circles, [])
})

t.test('the rules are checked on the real tree', async (t) => {
  // A rule that reads nothing passes anything: the tree must be the one described here.
  t.ok(files.length > 60, `${files.length} source files read`)
  t.ok(imports.length > 150, `${imports.length} imports read`)
  t.ok(
    imports.some((i) => i.from === 'plugins/oauth2-bearer/index.ts' && i.to === 'plugins/oauth2-bearer/verify.ts'),
    'a known import is seen'
  )
})
