import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    // No JSX anywhere in the repository; leaving the JSX rules out keeps the rule set to what applies.
    noJsx: true,
    ignores: [
      ...resolveIgnoresFromGitignore(),
      // Written by openapi-typescript (npm run sdk:types) and compared byte for byte with its output.
      'test/sdk/openapi.d.ts'
    ]
  }),
  {
    rules: {
      // The house rules cap files and functions by line count; this cap stops code from being packed
      // into long lines to get under them.
      // URLs and regular expression literals are exempt: splitting either one harms it (a URL stops
      // being clickable and searchable, a regex turns into a string concatenation of fragments).
      // Strings, template literals and comments are not exempt: a long message or test name can be
      // split or shortened, and exempting them would let a line of code hide behind one string.
      '@stylistic/max-len': ['error', {
        code: 160,
        tabWidth: 2,
        ignoreUrls: true,
        ignoreRegExpLiterals: true
      }],
      // `void promise` marks a promise deliberately left unawaited (its errors handled inside); as an
      // expression, `void` stays refused.
      'no-void': ['error', { allowAsStatement: true }],
      // TypeScript itself refuses a real redeclaration; this rule would refuse TypeBox's idiom of a
      // schema and its type under one name (typescript-eslint advises leaving it to the compiler).
      '@typescript-eslint/no-redeclare': 'off',
      // The OpenAPI types of openapi-types are named by version (OpenAPIV3_1), not by us.
      camelcase: ['error', { allow: ['^OpenAPIV3_1$'], properties: 'never' }]
    }
  }
]
