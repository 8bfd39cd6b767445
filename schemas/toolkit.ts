import { Type, type TInteger, type TString, type TRecord, type TUnsafe } from '@sinclair/typebox'
import sanitizeHtml from 'sanitize-html'
import type { Ajv } from 'ajv'

/**
 * TypeBox building blocks for your own routes — the Pydantic validators of the FastAPI guides,
 * as schemas Fastify enforces and @fastify/swagger documents. Register the keywords they use:
 *
 * @example
 * const app = Fastify({ ajv: { plugins: [inputKeywords] } })
 */

/** Text without control characters other than tab, newline and carriage return (NUL included). */
export const NO_CONTROL = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$'

/**
 * Text a person could have typed: NO_CONTROL, and no C1 controls (U+0080–U+009F, such as U+009B,
 * a terminal's escape), no bidirectional overrides or isolates (U+202A–U+202E, U+2066–U+2069: the
 * "Trojan Source" trick), no zero-width or invisible characters (U+200B–U+200F, U+2060–U+2064,
 * U+FEFF), no line or paragraph separators (U+2028, U+2029: they end lines in logs and scripts),
 * and no lone surrogates (not text at all). Ajv matches patterns per code point, so a paired
 * surrogate (an emoji) passes.
 */
export const PLAIN_TEXT = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u2069\\uFEFF\\uD800-\\uDFFF]*$'

const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** `^[A-Za-z0-9_-]+$`, 1 to `maxLength` (64) characters: ids, slugs, names of things. */
export function Identifier (options: { maxLength?: number; description?: string } = {}): TString {
  return Type.String({
    pattern: '^[A-Za-z0-9_-]+$',
    minLength: 1,
    maxLength: options.maxLength ?? 64,
    ...(options.description === undefined ? {} : { description: options.description })
  })
}

/**
 * Free text (PLAIN_TEXT: no control, invisible or direction-changing characters), trimmed, with
 * `minLength` checked after trimming (`"   "` is not one character), bounded in characters and in
 * UTF-8 bytes (a character can take 4 bytes, so both matter for storage).
 */
export function SafeText (options: { maxLength: number; maxBytes?: number; minLength?: number; description?: string }): TString {
  return Type.String({
    pattern: PLAIN_TEXT,
    minLength: options.minLength ?? 0,
    maxLength: options.maxLength,
    'x-max-bytes': options.maxBytes ?? options.maxLength * 4,
    'x-trim': options.minLength ?? 0,
    ...(options.description === undefined ? {} : { description: options.description })
  })
}

/**
 * A whole number for JSON bodies, always bounded (default: the safe-integer range), so neither
 * Infinity nor a number that has lost its precision gets through.
 */
export function Integer (options: { minimum?: number; maximum?: number; description?: string } = {}): TInteger {
  return Type.Integer({
    minimum: Math.max(options.minimum ?? -MAX_SAFE, -MAX_SAFE),
    maximum: Math.min(options.maximum ?? MAX_SAFE, MAX_SAFE),
    ...(options.description === undefined ? {} : { description: options.description })
  })
}

/**
 * A whole number in a querystring or path parameter, strictly decimal: `"0x10"`, `" 42 "`,
 * `"1e3"`, `"Infinity"` and `"-0"` are refused (Fastify's coercion would turn them into numbers).
 * The handler gets a number.
 */
export function QueryInteger (options: { minimum?: number; maximum?: number; description?: string } = {}): TUnsafe<number> {
  const minimum = Math.max(options.minimum ?? -MAX_SAFE, -MAX_SAFE)
  const maximum = Math.min(options.maximum ?? MAX_SAFE, MAX_SAFE)
  return Type.Unsafe<number>({
    type: 'string',
    pattern: minimum >= 0 ? '^(0|[1-9][0-9]{0,15})$' : '^(0|-?[1-9][0-9]{0,15})$',
    maxLength: 17,
    'x-integer': { minimum, maximum },
    description: options.description ?? `A whole number from ${minimum} to ${maximum}, in decimal digits`
  })
}

/**
 * An amount of money as a decimal string (`"19.99"`), never a binary float: at most `scale`
 * decimals (2) and 15 integer digits; negative only when `signed`.
 */
export function Money (options: { scale?: number; signed?: boolean; description?: string } = {}): TString {
  const scale = options.scale ?? 2
  return Type.String({
    pattern: `^${options.signed === true ? '-?' : ''}(0|[1-9][0-9]{0,14})${scale > 0 ? `(\\.[0-9]{1,${scale}})?` : ''}$`,
    maxLength: 17 + scale,
    description: options.description ?? `An amount as a decimal string with at most ${scale} decimals`
  })
}

/**
 * A date and time (RFC 3339, `2026-12-31T23:59:59Z` or with an offset) that a JavaScript `Date`
 * can hold: a real calendar day, a four-digit year, no leap second (`23:59:60` would pass the
 * `date-time` format and then be an Invalid Date in the handler, a 500). The handler gets the
 * string as sent; `new Date(value)` of it is always valid.
 */
export function Timestamp (options: { description?: string } = {}): TString {
  return Type.String({
    format: 'date-time',
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$',
    maxLength: 35,
    'x-timestamp': true,
    ...(options.description === undefined ? {} : { description: options.description })
  })
}

/** An object of strings: at most `maxKeys` keys, each key and value bounded, no control bytes. */
export function StringMap (options: { maxKeys: number; maxKeyLength?: number; maxValueLength: number }): TRecord<TString, TString> {
  return Type.Record(Type.String(), Type.String({ maxLength: options.maxValueLength, pattern: NO_CONTROL }), {
    maxProperties: options.maxKeys,
    propertyNames: { maxLength: options.maxKeyLength ?? 64, pattern: NO_CONTROL }
  }) as TRecord<TString, TString>
}

/** An email address, lower-cased before it reaches the handler (so one address is one account). */
export function NormalizedEmail (): TString {
  return Type.String({ format: 'email', maxLength: 254, 'x-lowercase': true })
}

/** Options of the HTML sanitiser: formatting tags, `https` links only, nothing that runs. */
export const RICH_TEXT_POLICY: sanitizeHtml.IOptions = {
  allowedTags: ['p', 'br', 'b', 'i', 'em', 'strong', 'u', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'h3', 'h4'],
  allowedAttributes: { a: ['href', 'title', 'rel'] },
  allowedSchemes: ['https'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }) }
}

/** Clean rich text with RICH_TEXT_POLICY (sanitize-html). */
export function sanitizeRichText (html: string): string {
  return sanitizeHtml(html, RICH_TEXT_POLICY)
}

/** Rich text that reaches the handler already sanitised (see `sanitizeRichText`). */
export function RichText (options: { maxLength: number }): TString {
  return Type.String({ maxLength: options.maxLength, pattern: '^[^\\u0000]*$', 'x-sanitize-html': true })
}

/**
 * The keywords the building blocks use, for Fastify's `ajv.plugins`: `x-trim` (with the minimum
 * length once trimmed), `x-lowercase`, `x-sanitize-html` and `x-integer` rewrite the value,
 * `x-max-bytes` bounds its UTF-8 length.
 */
/** Whether the day of an RFC 3339 date exists (Date.parse rolls 2026-02-30 over to March in some engines). */
function realDay (value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number)
  const last = new Date(0)
  last.setUTCFullYear(year, month, 0)
  return month >= 1 && month <= 12 && day >= 1 && day <= last.getUTCDate()
}

export function inputKeywords (ajv: Ajv): Ajv {
  const rewrite = (keyword: string, change: (value: string) => string): void => {
    ajv.addKeyword({
      keyword,
      type: 'string',
      modifying: true,
      schemaType: 'boolean',
      compile: (enabled: boolean) => (data: string, context?: { parentData?: Record<string | number, unknown>; parentDataProperty?: string | number }) => {
        if (enabled && context?.parentData !== undefined && context.parentDataProperty !== undefined) {
          context.parentData[context.parentDataProperty] = change(data)
        }
        return true
      }
    })
  }
  rewrite('x-lowercase', (value) => value.toLowerCase())
  ajv.addKeyword({
    keyword: 'x-trim',
    type: 'string',
    modifying: true,
    schemaType: 'number',
    error: { message: (context: { schema: unknown }) => `must NOT be shorter than ${String(context.schema)} characters once trimmed` },
    compile: (minLength: number) => (data: string, context?: { parentData?: Record<string | number, unknown>; parentDataProperty?: string | number }) => {
      const trimmed = data.trim()
      if (trimmed.length < minLength) return false
      if (context?.parentData !== undefined && context.parentDataProperty !== undefined) context.parentData[context.parentDataProperty] = trimmed
      return true
    }
  })
  ajv.addKeyword({
    keyword: 'x-integer',
    type: 'string',
    modifying: true,
    schemaType: 'object',
    error: {
      message: (context: { schema: unknown }) => {
        const { minimum, maximum } = context.schema as { minimum: number; maximum: number }
        return `must be a whole number from ${minimum} to ${maximum}`
      }
    },
    compile:
      (bounds: { minimum: number; maximum: number }) =>
        (data: string, context?: { parentData?: Record<string | number, unknown>; parentDataProperty?: string | number }) => {
          const value = Number(data)
          if (!Number.isSafeInteger(value) || value < bounds.minimum || value > bounds.maximum) return false
          if (context?.parentData !== undefined && context.parentDataProperty !== undefined) context.parentData[context.parentDataProperty] = value
          return true
        }
  })
  rewrite('x-sanitize-html', sanitizeRichText)
  ajv.addKeyword({
    keyword: 'x-timestamp',
    type: 'string',
    schemaType: 'boolean',
    error: { message: 'must be a date and time a JavaScript Date can hold (a real day, no leap second)' },
    validate: (enabled: boolean, data: string) => !enabled || (!/:60(\.|[Zz+-])/.test(data) && Number.isFinite(Date.parse(data)) && realDay(data))
  })
  ajv.addKeyword({
    keyword: 'x-max-bytes',
    type: 'string',
    schemaType: 'number',
    error: { message: (context: { schema: unknown }) => `must NOT be longer than ${String(context.schema)} bytes in UTF-8` },
    validate: (limit: number, data: string) => Buffer.byteLength(data, 'utf8') <= limit
  })
  return ajv
}
