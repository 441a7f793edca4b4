// What the server said of each card this device scanned, kept on the device. Offline, a card the
// server called revoked (or unregistered, expired) is shown so again, even when the kept
// revocation list is older than that answer and would let it pass (docs/ems.md §4).
import './offline-store.js'

const store = globalThis.LifelineStore
const KEY = 'verdicts'
const KEEP = 500 // cards; the oldest answers go first
const NOT_GENUINE = new Set(['revoked', 'expired', 'unregistered'])

const cardKey = (local) => `${local.cardId}:${local.serial}`

export async function remember (local, result) {
  const kept = (await store.get(KEY)) ?? {}
  kept[cardKey(local)] = { status: result.status, newerCardExists: Boolean(result.newer_card_exists), at: Date.now() }
  const keys = Object.keys(kept)
  if (keys.length > KEEP) {
    for (const key of keys.sort((a, b) => kept[a].at - kept[b].at).slice(0, keys.length - KEEP)) delete kept[key]
  }
  await store.set(KEY, kept)
}

// The server's last answer for this card when it was one that must not show as genuine, else null.
export async function recall (local) {
  const known = ((await store.get(KEY)) ?? {})[cardKey(local)]
  return known && NOT_GENUINE.has(known.status) ? known : null
}
