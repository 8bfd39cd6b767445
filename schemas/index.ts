export { Identifier, SafeText, Integer, QueryInteger, Money, StringMap, NormalizedEmail, RichText, sanitizeRichText, RICH_TEXT_POLICY, inputKeywords, NO_CONTROL, PLAIN_TEXT } from './toolkit.js'
export { safePath, UnsafePathError } from './safe-path.js'
