import { errors } from '../errors.js'
import type { RouteDemands, SecurityScheme } from './types.js'

// What a route asks of a token beyond its scopes ('x-dpop', 'x-step-up'), read from its schema
// at ready() and handed to the schemes that take tokens, each returning the scheme as that route uses it.

/** A scheme as a route with demands uses it; step-up is refused by a scheme that cannot read a login's time and class. */
export function forRoute (route: string, scheme: SecurityScheme, demands: RouteDemands): SecurityScheme {
  if (scheme.forRoute !== undefined) return scheme.forRoute(demands)
  if (demands.stepUp !== undefined) {
    throw new errors.WARDEN_ERR_REQUIREMENT(
      route,
      `asks for 'x-step-up' but scheme '${scheme.name}' has no login time or class to check: every scheme of the route must be a token scheme`
    )
  }
  return scheme
}

/** `x-dpop` needs a scheme of the route to take tokens (to have `forRoute`); only those act on it. */
export function takesTokens (route: string, schemes: readonly SecurityScheme[]): void {
  if (!schemes.some((scheme) => scheme.forRoute !== undefined)) {
    throw new errors.WARDEN_ERR_REQUIREMENT(route, "asks for 'x-dpop' but none of its schemes takes tokens (oauth2Bearer)")
  }
}

const ACR = /^[\x21\x23-\x5b\x5d-\x7e]{1,255}$/
/** The DPoP modes a route or a scheme can take. */
export const DPOP_MODES: readonly unknown[] = ['required', 'allowed', 'off']

/**
 * A route's demands beyond scopes, from its schema: `'x-dpop'` and `'x-step-up'`
 * (`{ acr_values?, max_age? }`, RFC 9470's names, as the document shows them). Undefined when it
 * makes none; throws, naming the route, when they are malformed.
 */
export function parseDemands (route: string, schema: { readonly [key: string]: unknown } | object | undefined): RouteDemands | undefined {
  const declared = schema as Readonly<Record<string, unknown>> | undefined
  const dpop = declared?.['x-dpop']
  const stepUp = declared?.['x-step-up']
  if (dpop === undefined && stepUp === undefined) return undefined
  if (dpop !== undefined && !DPOP_MODES.includes(dpop)) throw new errors.WARDEN_ERR_REQUIREMENT(route, "'x-dpop' must be 'required', 'allowed' or 'off'")
  if (stepUp === undefined) return { dpop: dpop as RouteDemands['dpop'] }
  const fault = (what: string): Error => new errors.WARDEN_ERR_REQUIREMENT(route, `'x-step-up' ${what}`)
  if (stepUp === null || typeof stepUp !== 'object' || Array.isArray(stepUp)) throw fault('must be an object { acr_values?, max_age? }')
  const { acr_values: acrValues, max_age: maxAge, ...other } = stepUp as Record<string, unknown>
  if (Object.keys(other).length > 0) throw fault(`has an unknown member '${Object.keys(other)[0]}'`)
  if (acrValues === undefined && maxAge === undefined) throw fault('must name acr_values, max_age or both')
  if (acrValues !== undefined && (!Array.isArray(acrValues) || acrValues.length === 0 || !acrValues.every((v) => typeof v === 'string' && ACR.test(v)))) {
    throw fault('acr_values must be a non-empty array of authentication context class references (no spaces or quotes)')
  }
  if (maxAge !== undefined && (!Number.isSafeInteger(maxAge) || (maxAge as number) < 0 || (maxAge as number) > 31_536_000)) {
    throw fault('max_age must be a whole number of seconds from 0 to 31536000')
  }
  return {
    ...(dpop === undefined ? {} : { dpop: dpop as RouteDemands['dpop'] }),
    stepUp: {
      ...(acrValues === undefined ? {} : { acrValues: [...new Set(acrValues as string[])] }),
      ...(maxAge === undefined ? {} : { maxAge: maxAge as number })
    }
  }
}
