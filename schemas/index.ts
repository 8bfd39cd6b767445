// The public surface of `fastify-warden/schemas`: input schemas and their keywords, the text
// patterns they use, and the path check for routes that serve files. Each name is a semver promise.
export {
  Identifier,
  SafeText,
  Integer,
  QueryInteger,
  Money,
  Timestamp,
  StringMap,
  NormalizedEmail,
  RichText,
  sanitizeRichText,
  RICH_TEXT_POLICY,
  inputKeywords,
  NO_CONTROL,
  PLAIN_TEXT
} from './toolkit.js'
export { safePath, UnsafePathError } from './safe-path.js'
