/* global BUILD, LifelineStore */
// Service worker of the EMS app. The server prepends `const BUILD = {version, shell, trust}`
// (app/ems/serving.py): the files of the app shell and a version hashed from them.
//
// Registered with scope "/" so that it can open the app offline at the QR's own URL (/C/…,
// what a phone camera opens). Everything else outside /ems/ (staff UI, API, FHIR) is passed
// to the network untouched: no respondWith, no caching.
importScripts('/ems/js/offline-store.js')

const SHELL_CACHE = `lifeline-ems-shell-${BUILD.version}`
const TRUST_CACHE = 'lifeline-ems-trust'
const APP_PAGE = '/ems/'
const CARD_URL = /^\/[Cc]\/[0-9]+$/
const CARD_PAGE_TIMEOUT_MS = 4000

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL_CACHE)
    // no-cache: revalidate with the server (ETag) so a new version never mixes with stale files.
    await shell.addAll(BUILD.shell.map((url) => new Request(url, { cache: 'no-cache' })))
    const trust = await caches.open(TRUST_CACHE)
    await Promise.all(BUILD.trust.map(async (url) => {
      try {
        const response = await fetch(url, { cache: 'no-cache' })
        if (response.ok) await trust.put(url, response)
      } catch { /* fetched again on the next start */ }
    }))
    await self.skipWaiting()
  })())
})

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('lifeline-ems-shell-') && name !== SHELL_CACHE) await caches.delete(name)
    }
    await self.clients.claim()
  })())
})

async function fromShell (request) {
  const cache = await caches.open(SHELL_CACHE)
  return (await cache.match(request, { ignoreSearch: true })) ?? fetch(request)
}

async function appPage () {
  const cache = await caches.open(SHELL_CACHE)
  return (await cache.match(APP_PAGE)) ?? fetch(APP_PAGE)
}

// Keys and revocation list: the network when it answers, else the last copy (offline verification).
async function networkFirst (request) {
  const cache = await caches.open(TRUST_CACHE)
  try {
    const response = await fetch(request)
    if (response.ok) await cache.put(request.url, response.clone())
    return response
  } catch {
    return (await cache.match(request.url)) ?? Response.error()
  }
}

// The QR's URL: the server's card page when online (it links to the app), else the app itself.
async function cardPage (request) {
  const timeout = new Promise((resolve) => setTimeout(resolve, CARD_PAGE_TIMEOUT_MS, null))
  try {
    const response = await Promise.race([fetch(request), timeout])
    if (response) return response
  } catch { /* offline */ }
  return appPage()
}

self.addEventListener('fetch', (event) => {
  const { request } = event
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== self.location.origin) return
  if (BUILD.trust.includes(url.pathname)) return event.respondWith(networkFirst(request))
  if (url.pathname.startsWith('/ems/')) {
    if (url.pathname === '/ems/sw.js') return
    return event.respondWith(request.mode === 'navigate' ? appPage() : fromShell(request))
  }
  if (request.mode === 'navigate' && CARD_URL.test(url.pathname)) return event.respondWith(cardPage(request))
})

// Background Sync: send queued access records even if the app is closed when the network returns.
self.addEventListener('sync', (event) => {
  if (event.tag === 'lifeline-outbox') {
    event.waitUntil(LifelineStore.flush().then((result) => {
      if (result.left > 0 && result.stopped === 'network') throw new Error('still offline') // retried by the browser
    }))
  }
})
