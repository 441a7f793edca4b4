// The issuer keys and the signed revocation list the device verifies cards with, offline too.
// Kept in IndexedDB; a fetched revocation list replaces the kept one only if it verifies and
// its version is not lower (docs/card-format.md §5), so a replayed old list cannot un-revoke.
import { verifyCredential, verifyRevocationDocument } from './credential.js'
import './offline-store.js'

const store = globalThis.LifelineStore
const KEYS_URL = '/.well-known/lifeline/keys.json'
const REVOCATIONS_URL = '/.well-known/lifeline/revocations.json'
const FETCH_TIMEOUT_MS = 6000

// {jwks, revocations: the verified list (entries in a Map; IndexedDB keeps Maps) or null}
let current = { jwks: null, revocations: null }

async function fetchJson (url) {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS)
  try {
    // Through the service worker: the network when there is one, else its cached copy.
    const response = await fetch(url, { credentials: 'omit', cache: 'no-cache', signal: controller.signal })
    return response.ok ? await response.json() : null
  } catch {
    return null
  } finally {
    clearTimeout(timer)
  }
}

// Load what the device kept (fast, offline), then refresh from the network in the background.
export async function load () {
  const kept = await store.get('trust')
  if (kept?.jwks) current = { jwks: kept.jwks, revocations: kept.revocations ?? null }
  const refreshing = refresh()
  if (!current.jwks) await refreshing
  return current
}

export async function refresh () {
  const [jwks, doc] = await Promise.all([fetchJson(KEYS_URL), fetchJson(REVOCATIONS_URL)])
  if (!jwks || !Array.isArray(jwks.keys)) return current
  const checked = doc ? await verifyRevocationDocument(doc, jwks) : null
  const kept = current.revocations
  // A list that does not verify, or is older than the one kept, is ignored (the kept one was verified when fetched).
  const revocations = checked?.status === 'valid' && checked.version >= (kept?.version ?? -1) ? checked : kept
  current = { jwks, revocations }
  await store.set('trust', { jwks, revocations, fetchedAt: Date.now() })
  return current
}

export const summary = () => current.revocations ? { version: current.revocations.version, issuedAt: current.revocations.issuedAt } : null

export function verify (text) {
  return verifyCredential(text, { keys: current.jwks, revocations: current.revocations })
}
