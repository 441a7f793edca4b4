// IndexedDB store shared by the page and the service worker: the device token, the crew
// session, the trusted keys and revocation list, and the outbox of access records made
// without network. Written as a plain script (no import/export) because the service worker
// is a classic worker (importScripts) while the page loads it as a module; both then use
// globalThis.LifelineStore. A record leaves the outbox only when the server has confirmed it.
(function () {
  'use strict'
  const DB_NAME = 'lifeline-ems'
  const DB_VERSION = 1
  const OFFLINE_URL = '/api/v1/scans/offline'
  const DEVICE_HEADER = 'X-Lifeline-Device'
  let opening = null
  let flushing = null

  function request (req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
  }

  function open () {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, DB_VERSION)
        req.onupgradeneeded = () => {
          const db = req.result
          if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv')
          if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'client_id' })
        }
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => { opening = null; reject(req.error) }
      })
    }
    return opening
  }

  async function tx (store, mode, work) {
    const db = await open()
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode)
      let result
      Promise.resolve(work(transaction.objectStore(store))).then((value) => { result = value }, reject)
      // Resolved only once the transaction is durable: a queued record survives an app restart.
      transaction.oncomplete = () => resolve(result)
      transaction.onerror = () => reject(transaction.error)
      transaction.onabort = () => reject(transaction.error)
    })
  }

  const get = (key) => tx('kv', 'readonly', (store) => request(store.get(key)))
  const set = (key, value) => tx('kv', 'readwrite', (store) => { store.put(value, key) })
  const remove = (key) => tx('kv', 'readwrite', (store) => { store.delete(key) })

  const outboxAll = () => tx('outbox', 'readonly', (store) => request(store.getAll()))
  const outboxCount = () => tx('outbox', 'readonly', (store) => request(store.count()))
  const outboxAdd = (record) => tx('outbox', 'readwrite', (store) => { store.put(record) })
  const outboxDelete = (clientId) => tx('outbox', 'readwrite', (store) => { store.delete(clientId) })

  // Queue an access record: {client_id, card_id, serial, scanned_at, incident, reason, scanned_by}.
  function enqueue (body) {
    return outboxAdd({ client_id: body.client_id, body, queued_at: new Date().toISOString(), attempts: 0, last_status: null })
  }

  async function sendAll () {
    const session = await get('session')
    const deviceToken = await get('deviceToken')
    const records = await outboxAll()
    if (!session || !deviceToken) return { sent: 0, left: records.length, stopped: 'signed_out' }
    let sent = 0
    for (const record of records) {
      let response
      try {
        response = await fetch(OFFLINE_URL, {
          method: 'POST',
          credentials: 'omit',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.token}`, [DEVICE_HEADER]: deviceToken },
          body: JSON.stringify(record.body)
        })
      } catch {
        return { sent, left: records.length - sent, stopped: 'network' }
      }
      if (response.status === 200 || response.status === 201) {
        await outboxDelete(record.client_id)
        sent += 1
      } else if (response.status === 401 || response.status === 403) {
        return { sent, left: records.length - sent, stopped: 'auth', status: response.status }
      } else {
        // Kept, never dropped: shown as unsent until the server accepts it.
        await outboxAdd({ ...record, attempts: record.attempts + 1, last_status: response.status })
      }
    }
    return { sent, left: records.length - sent, stopped: null }
  }

  // One flush at a time per context; the server ignores a record it already has (client_id).
  function flush () {
    if (!flushing) flushing = sendAll().finally(() => { flushing = null })
    return flushing
  }

  globalThis.LifelineStore = Object.freeze({ get, set, remove, enqueue, outboxAll, outboxCount, flush, DEVICE_HEADER })
})()
