export { Identifier, SafeText, StringMap, NormalizedEmail, RichText, sanitizeRichText, RICH_TEXT_POLICY, inputKeywords } from './toolkit.js'
export { safePath, UnsafePathError } from './safe-path.js'
