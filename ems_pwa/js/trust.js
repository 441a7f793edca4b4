// The issuer keys and the signed revocation list the device verifies cards with, offline too.
// Kept in IndexedDB; a fetched revocation list replaces the kept one only if it verifies and
// its version is not lower (docs/card-format.md §5), so a replayed old list cannot un-revoke.
import { verifyCredential, verifyRevocationDocument } from './credential.js'
import './offline-store.js'

const store = globalThis.LifelineStore
const KEYS_URL = '/.well-known/lifeline/keys.json'
const REVOCATIONS_URL = '/.well-known/lifeline/revocations.json'
const FETCH_TIMEOUT_MS = 6000

// {jwks, revocations: the verified list (entries in a Map; IndexedDB keeps Maps) or null,
//  checkedAt: when the server last gave this device a list that verified (ms), or null}
let current = { jwks: null, revocations: null, checkedAt: null }

// {json, at}: ``at`` is when the server sent it (its Date header): now from the network, earlier
// when the service worker answers with the copy it kept, so a kept copy never passes for a fresh one.
async function fetchJson (url) {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS)
  try {
    // Through the service worker: the network when there is one, else its cached copy.
    const response = await fetch(url, { credentials: 'omit', cache: 'no-cache', signal: controller.signal })
    if (!response.ok) return null
    const at = Date.parse(response.headers.get('date') ?? '')
    return { json: await response.json(), at: Number.isNaN(at) ? null : at }
  } catch {
    return null
  } finally {
    clearTimeout(timer)
  }
}

// Load what the device kept (fast, offline), then refresh from the network in the background.
export async function load () {
  const kept = await store.get('trust')
  if (kept?.jwks) current = { jwks: kept.jwks, revocations: kept.revocations ?? null, checkedAt: kept.checkedAt ?? null }
  const refreshing = refresh()
  if (!current.jwks) await refreshing
  return current
}

// One refresh at a time: the timer, a server verdict and the menu may ask at once.
let refreshing = null

export function refresh () {
  refreshing ??= fetchBoth().finally(() => { refreshing = null })
  return refreshing
}

async function fetchBoth () {
  const [keys, doc] = await Promise.all([fetchJson(KEYS_URL), fetchJson(REVOCATIONS_URL)])
  const jwks = keys?.json
  if (!jwks || !Array.isArray(jwks.keys)) return current
  const checked = doc ? await verifyRevocationDocument(doc.json, jwks) : null
  const kept = current.revocations
  const valid = checked?.status === 'valid' && checked.version >= (kept?.version ?? -1)
  // A list that does not verify, or is older than the one kept, is ignored (the kept one was verified when fetched);
  // the list counts as checked when the server sent one that verified.
  const sentAt = valid ? Math.min(doc.at ?? Date.now(), Date.now()) : null
  current = { jwks, revocations: valid ? checked : kept, checkedAt: Math.max(sentAt ?? 0, current.checkedAt ?? 0) || null }
  await store.set('trust', current)
  return current
}

export const summary = () => current.revocations
  ? { version: current.revocations.version, issuedAt: current.revocations.issuedAt, checkedAt: current.checkedAt }
  : null

// How long ago the device last had a list from the server (ms), or null when it never had one.
export const listAge = () => current.checkedAt ? Math.max(0, Date.now() - current.checkedAt) : null

export function verify (text) {
  return verifyCredential(text, { keys: current.jwks, revocations: current.revocations })
}
