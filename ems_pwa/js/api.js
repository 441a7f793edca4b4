// Calls to the service. Cookies are never sent (credentials: 'omit'): the app authenticates
// with its bearer token and device token only, so a staff session in the same browser cannot
// mix in. A request that cannot reach the server resolves to {offline: true} instead of
// throwing, so every caller has an offline branch; a slow network counts as offline after
// `timeout` ms, because a crew must not wait at the scene.
import './offline-store.js'

const store = globalThis.LifelineStore
export const DEVICE_HEADER = store.DEVICE_HEADER

async function headers (extra = {}) {
  const [session, deviceToken] = await Promise.all([store.get('session'), store.get('deviceToken')])
  const out = { Accept: 'application/json', ...extra }
  if (session?.token) out.Authorization = `Bearer ${session.token}`
  if (deviceToken) out[DEVICE_HEADER] = deviceToken
  return out
}

// → {ok, status, data} or {offline: true}
export async function call (path, { method = 'GET', json, form, timeout = 8000 } = {}) {
  if (navigator.onLine === false) return { offline: true }
  const extra = json !== undefined ? { 'Content-Type': 'application/json' } : {}
  const body = json !== undefined ? JSON.stringify(json) : form
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeout)
  try {
    const response = await fetch(path, { method, body, credentials: 'omit', headers: await headers(extra), signal: controller.signal })
    const data = await response.json().catch(() => null)
    return { ok: response.ok, status: response.status, data }
  } catch {
    return { offline: true }
  } finally {
    clearTimeout(timer)
  }
}

// The text of an error answer: the service's Japanese message, or the first validation message.
export function errorText (data) {
  const detail = data?.detail
  if (typeof detail === 'string') return detail
  if (Array.isArray(detail) && detail[0]?.msg) return detail[0].msg
  return null
}
