// The EMS field app: enroll the device, sign the crew in, scan, verify on the device first,
// then show the emergency summary from POST /api/v1/scans (which writes the audit record
// before it answers). Without network: the verified card, the fridge-sheet notice, and an
// access record queued in IndexedDB until the server confirms it.
import { call, errorText } from './api.js'
import { currentLanguage, setLanguage, t, translateServerText } from './i18n.js'
import './offline-store.js'
import { Scanner } from './scanner.js'
import * as trust from './trust.js'
import * as verdicts from './verdicts.js'
import { cardFacts, h, notice, renderSummary, renderVerdict } from './views.js'

const store = globalThis.LifelineStore
const $ = (id) => document.getElementById(id)
const CARD_NUMBER = /^[0-9A-F]{16}[0-9]{1,5}$/
const compact = (text) => text.normalize('NFKC').replace(/[\s\-\u2010-\u2015\u30fc]/g, '').toUpperCase()
const FLUSH_EVERY_MS = 30000
// While online the revocation list is fetched again this often, so an offline verdict is at most this old.
const TRUST_REFRESH_MS = 10 * 60 * 1000
// Offline, a list older than this gets a warning: a card revoked since may still look genuine.
const TRUST_STALE_MS = 24 * 60 * 60 * 1000
// Between scans the camera stays open this long, so the next card reads at once.
const CAMERA_WARM_MS = 2 * 60 * 1000
// A hardware scanner (keyboard wedge) types a character every few ms; people are far slower.
const WEDGE_KEY_GAP_MS = 60
const WEDGE_IDLE_MS = 400
const CARD_URL = /^https?:\/\/[^/\s]+\/c\/[0-9]+$/i

const state = { screen: null, prefs: { lang: 'ja', theme: 'auto' }, pending: null, lastAudit: null }
let scanner = null

// --- screens, network, outbox --------------------------------------------------------------

let cameraTimer = null

function show (screen) {
  state.screen = screen
  for (const section of document.querySelectorAll('.screen')) section.hidden = section.id !== `screen-${screen}`
  document.body.dataset.screen = screen
  clearTimeout(cameraTimer)
  if (screen === 'scan') startCamera()
  else if (screen === 'result' || screen === 'destination') {
    // Between scans: decoding pauses, the camera stays open for a while (opening it again takes a second).
    scanner?.pause()
    cameraTimer = setTimeout(() => scanner?.stop(), CAMERA_WARM_MS)
  } else scanner?.stop()
  window.scrollTo(0, 0)
}

function updateNet () {
  const online = navigator.onLine !== false
  $('net').classList.toggle('offline', !online)
  $('net-text').textContent = t(online ? 'net.online' : 'net.offline')
}

async function updateOutbox () {
  const count = await store.outboxCount()
  $('outbox').hidden = count === 0
  $('outbox-text').textContent = t('outbox.count', { n: count })
  $('outbox-count').textContent = String(count)
  $('menu-outbox').textContent = String(count)
  return count
}

async function flushOutbox () {
  if (navigator.onLine === false) return updateOutbox()
  const result = await store.flush().catch(() => null)
  if (result?.stopped === 'auth') await checkSignedIn()
  await updateOutbox()
  return result
}

async function requestBackgroundSync () {
  try {
    const registration = await navigator.serviceWorker?.ready
    await registration?.sync?.register('lifeline-outbox')
  } catch { /* Background Sync is optional: the app also sends on start and when back online */ }
}

// --- session and device --------------------------------------------------------------------

async function currentSession () {
  const session = await store.get('session')
  return session && session.expiresAt > Date.now() ? session : null
}

async function checkSignedIn () {
  if (await currentSession()) return true
  await store.remove('session')
  return false
}

async function deviceStopped (message) {
  await store.remove('session')
  await store.remove('deviceToken')
  show('enroll')
  showError('enroll-error', translateServerText(message))
}

// A 401 means the session ended (shift over), or the device was disabled or replaced centrally.
async function handleUnauthorized (data) {
  const message = errorText(data)
  const known = message ? translateServerText(message) : null
  if (known === t('device.disabled') || known === t('device.unknown')) {
    await deviceStopped(message)
    return true
  }
  await store.remove('session')
  return false
}

function showError (id, message) {
  const element = $(id)
  element.textContent = message ?? ''
  element.hidden = !message
}

async function enroll (event) {
  event.preventDefault()
  showError('enroll-error', null)
  const answer = await call('/api/v1/devices/enroll', { method: 'POST', json: { code: $('enroll-code').value } })
  if (answer.offline) return showError('enroll-error', t('enroll.offline'))
  if (!answer.ok) return showError('enroll-error', errorText(answer.data) ?? t('error.generic'))
  await store.set('deviceToken', answer.data.device_token)
  await store.set('device', answer.data.device)
  $('enroll-code').value = ''
  await showSignIn()
}

async function showSignIn () {
  const device = await store.get('device')
  $('signin-device').textContent = device ? `${device.name}（${device.organisation}）` : '—'
  show('signin')
}

async function signIn (event) {
  event.preventDefault()
  showError('signin-error', null)
  const username = $('signin-username').value.trim()
  const form = new URLSearchParams({ username, password: $('signin-password').value })
  const choosing = !$('signin-new').hidden
  if (choosing) {
    form.set('new_password', $('signin-new-password').value)
    form.set('new_password2', $('signin-new-password2').value)
  }
  const answer = await call('/api/v1/auth/token', { method: 'POST', form })
  if (answer.offline) return showError('signin-error', t('signin.offline'))
  if (!answer.ok) {
    if (answer.status === 401 && await handleUnauthorized(answer.data)) return
    // An initial password from the administrator: the same form asks for the crew member's own.
    if (answer.status === 403 && answer.data?.code === 'password_change_required') {
      $('signin-new').hidden = false
      $('signin-new-password').focus()
    }
    return showError('signin-error', errorText(answer.data) ?? t('error.generic'))
  }
  for (const id of ['signin-password', 'signin-new-password', 'signin-new-password2']) $(id).value = ''
  $('signin-new').hidden = true
  await store.set('session', { token: answer.data.access_token, expiresAt: Date.now() + answer.data.expires_in * 1000, username })
  flushOutbox()
  const pending = state.pending
  state.pending = null
  if (pending) await pending()
  else show('scan')
}

// --- scanning ------------------------------------------------------------------------------

let cameraStarting = null

function startCamera () {
  cameraStarting ??= openCamera().finally(() => { cameraStarting = null })
  return cameraStarting
}

async function openCamera () {
  scanner ??= new Scanner($('video'), handleText, (same) => { $('camera-note').textContent = t(same ? 'scan.same_card' : 'scan.aim') })
  if (scanner.running) return
  if (scanner.resume()) {
    $('camera-note').textContent = t('scan.aim')
    return
  }
  $('camera-note').textContent = t('scan.starting')
  const started = await scanner.start()
  if (state.screen !== 'scan') return scanner.stop()
  $('camera-note').textContent = t(started ? 'scan.aim' : 'scan.no_camera')
  $('camera').classList.toggle('unavailable', !started)
  const torch = $('torch')
  torch.disabled = !scanner.hasTorch()
  torch.querySelector('[data-i18n]').textContent = t(torch.disabled ? 'scan.torch_none' : 'scan.torch')
}

function incident () {
  return $('incident').value.trim()
}

// The incident number and reason stay filled for the next scans, across reloads and when the app
// is opened from a card's page, until the crew clears them or the shift (the sign-in) ends.
async function saveIncident () {
  const session = await currentSession()
  const kept = { incident: $('incident').value, reason: $('purpose').value, until: session?.expiresAt ?? Date.now() + 12 * 3600 * 1000 }
  if (kept.incident || kept.reason) await store.set('incident', kept)
  else await store.remove('incident')
}

async function restoreIncident () {
  const kept = await store.get('incident')
  if (kept && kept.until > Date.now()) {
    $('incident').value = kept.incident ?? ''
    $('purpose').value = kept.reason ?? ''
  } else if (kept) await store.remove('incident')
}

async function clearIncident () {
  $('incident').value = ''
  $('purpose').value = ''
  await store.remove('incident')
  $('incident').focus()
}

// The reason entered before scanning (optional); asked for when the person has no consent on record.
function purpose () {
  return $('purpose').value.trim()
}

function resetResult () {
  renderVerdict($('verdict'), 'checking')
  $('result-notice').replaceChildren()
  $('summary').replaceChildren()
  $('card-facts').replaceChildren()
  $('reason-form').hidden = true
  $('choose-destination').hidden = true
  delete document.body.dataset.result
  state.lastAudit = null
}

const addNotice = (...nodes) => $('result-notice').append(...nodes)

// Text from the camera, a paste, a hardware scanner or the entry field.
export async function handleText (raw) {
  performance.mark('lifeline:qr')
  const text = String(raw ?? '').trim()
  if (CARD_NUMBER.test(compact(text))) return lookUpNumber(text)
  show('result')
  resetResult()
  const local = await trust.verify(text)
  renderVerdict($('verdict'), local.status, { newerCardExists: local.newerCardExists })
  if (local.status === 'genuine') $('card-facts').replaceChildren(cardFacts(local))
  if (local.status === 'unknown_key') {
    addNotice(notice('warn', null, t('result.keys_old')))
    trust.refresh()
  }
  const request = (reason) => call('/api/v1/scans', { method: 'POST', json: { qr: text, incident: incident(), reason } })
  await consult(request, { local })
}

async function lookUpNumber (text) {
  show('result')
  resetResult()
  addNotice(notice('info', null, t('result.by_number')))
  const request = (reason) => call('/api/v1/scans/card-number', { method: 'POST', json: { card_number: text, incident: incident(), reason } })
  await consult(request, { local: null })
}

// Ask the server (which audits, then answers); fall back to the offline path.
async function consult (request, { local, reason = purpose() }) {
  const signedIn = Boolean(await currentSession())
  // Offline, an ended shift changes nothing: the card is checked here and the record queued.
  if (!signedIn && navigator.onLine !== false) return signedOut(local, () => consultAgain(request, local))
  const answer = signedIn ? await request(reason) : { offline: true }
  if (answer.offline) return offline(local)
  if (answer.status === 401) {
    if (await handleUnauthorized(answer.data)) return
    return signedOut(local, () => consultAgain(request, local))
  }
  if (answer.status === 422 && typeof answer.data?.detail === 'string') return askReason(answer.data.detail, request, local)
  if (!answer.ok) return addNotice(notice('bad', null, errorText(answer.data) ?? t('result.server_error')))
  render(answer.data, local)
}

async function consultAgain (request, local) {
  show('result')
  await consult(request, { local })
}

// Statuses after which the device's list may be behind the server's: fetch it again at once.
const LIST_BEHIND = new Set(['revoked', 'unknown_key', 'unregistered', 'expired'])

function render (result, local) {
  renderVerdict($('verdict'), result.status, { newerCardExists: result.newer_card_exists, message: result.message })
  if (local?.cardId) verdicts.remember(local, result)
  if (LIST_BEHIND.has(result.status) && local?.status !== result.status) trust.refresh()
  if (!result.summary) {
    addNotice(notice('bad', null, t('result.no_data')))
    return
  }
  if (result.emergency_access) addNotice(notice('warn', null, t('result.emergency')))
  renderSummary($('summary'), result.summary)
  performance.mark('lifeline:rendered')
  performance.measure('lifeline:scan', 'lifeline:qr', 'lifeline:rendered')
  document.body.dataset.result = 'summary'
  state.lastAudit = result.audit_id
  $('choose-destination').hidden = false
}

async function offline (local) {
  if (!local) {
    renderVerdict($('verdict'), 'unverified')
    addNotice(notice('warn', t('result.offline_title'), t('result.number_offline')))
    return
  }
  // What the server last said of this very card outranks a list that may be older (revoked stays revoked).
  const known = local.status === 'genuine' ? await verdicts.recall(local) : null
  if (known) {
    renderVerdict($('verdict'), known.status, { newerCardExists: known.newerCardExists })
    addNotice(notice('info', null, t('result.known_verdict', { date: new Date(known.at).toLocaleString(locale()) })))
  }
  if (local.status !== 'genuine' || known) {
    addNotice(notice('bad', null, t('result.no_data')))
    return
  }
  const session = await store.get('session')
  await store.enqueue({
    client_id: crypto.randomUUID(), card_id: local.cardId, serial: local.serial, scanned_at: new Date().toISOString(),
    incident: incident(), reason: purpose(), scanned_by: session?.username ?? ''
  })
  addNotice(notice('warn', t('result.offline_title'), t('result.offline_body')), listAgeNotice(),
    notice({ style: 'info', icon: 'upload' }, null, t('result.queued')))
  document.body.dataset.result = 'offline'
  await updateOutbox()
  requestBackgroundSync()
}

const locale = () => currentLanguage() === 'ja' ? 'ja-JP' : 'en-GB'

// How old the revocation list behind an offline "genuine" is; a warning when it is too old to trust.
function listAgeNotice () {
  const age = trust.listAge()
  if (age === null) return notice('warn', null, t('result.list_never'))
  const hours = Math.floor(age / 3600000)
  const text = hours < 1 ? t('result.list_age_minutes', { n: Math.floor(age / 60000) }) : t('result.list_age_hours', { n: hours })
  return age > TRUST_STALE_MS ? notice('warn', null, `${text} ${t('result.list_stale')}`) : notice('info', null, text)
}

function signedOut (local, retry) {
  state.pending = retry
  if (local && local.status !== 'genuine') return addNotice(notice('bad', null, t('result.no_data')))
  const button = h('button', { type: 'button', class: 'primary', text: t('result.sign_in') })
  button.addEventListener('click', showSignIn)
  addNotice(notice('info', null, t('result.signed_out')), button)
}

function askReason (message, request, local) {
  const form = $('reason-form')
  $('reason-message').textContent = translateServerText(message)
  form.hidden = false
  $('reason').value = purpose()
  form.onsubmit = async (event) => {
    event.preventDefault()
    const reason = $('reason').value.trim()
    if (!reason) return $('reason').focus()
    form.hidden = true
    await consult(request, { local, reason })
  }
  $('reason').focus()
}

// A hardware scanner (keyboard wedge) types the QR text, usually followed by Enter, into whatever
// has the focus. A fast burst that is a card's URL is a scan, even in the incident field: the
// field gets back what it held before the burst. Outside fields, anything typed and ended with
// Enter is handed over (a card number, say).
function listenForKeyboardScanner () {
  let burst = null // { text, last, field, before }
  let idle = null

  const finish = (event) => {
    const { text, field, before } = burst
    burst = null
    clearTimeout(idle)
    event?.preventDefault()
    if (field) {
      field.value = before
      field.dispatchEvent(new Event('input', { bubbles: true }))
    }
    handleText(text)
  }

  document.addEventListener('keydown', (event) => {
    if (state.screen !== 'scan' && state.screen !== 'result') return
    const now = performance.now()
    const field = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement ? event.target : null
    const gap = field ? WEDGE_KEY_GAP_MS : WEDGE_KEY_GAP_MS * 20
    if (!burst || now - burst.last > gap || burst.field !== field) burst = { text: '', last: now, field, before: field?.value ?? '' }
    burst.last = now
    clearTimeout(idle)
    if (event.key === 'Enter') {
      if (CARD_URL.test(burst.text) || (!field && burst.text.length > 8)) finish(event)
      else burst = null
      return
    }
    if (event.key.length !== 1) return
    burst.text += event.key
    // A scanner set up without Enter: a complete card URL and then silence is a scan too.
    if (CARD_URL.test(burst.text)) idle = setTimeout(() => burst && CARD_URL.test(burst.text) && finish(), WEDGE_IDLE_MS)
  }, true)
  document.addEventListener('paste', (event) => {
    if (event.target instanceof HTMLInputElement || state.screen !== 'scan') return
    const text = event.clipboardData?.getData('text')
    if (text) handleText(text)
  })
}

function submitEntry (event) {
  event.preventDefault()
  const text = $('entry').value.trim()
  if (!text) return $('entry').focus()
  if (!CARD_NUMBER.test(compact(text)) && !/^https?:\/\//i.test(text)) return ($('camera-note').textContent = t('scan.not_card'))
  $('entry').value = ''
  handleText(text)
}

// --- destination ---------------------------------------------------------------------------

async function showDestinations () {
  show('destination')
  showError('destination-error', null)
  const answer = await call('/api/v1/institutions?kind=hospital')
  let hospitals = answer.ok ? answer.data : null
  if (hospitals) await store.set('hospitals', hospitals)
  else {
    hospitals = (await store.get('hospitals')) ?? []
    showError('destination-error', t(answer.offline ? 'destination.offline' : 'error.generic'))
  }
  $('hospitals').replaceChildren(...hospitals.map((hospital) => {
    const button = h('button', { type: 'button', class: 'choice' }, h('strong', { text: hospital.name }), h('span', { text: hospital.role_note }))
    button.addEventListener('click', () => chooseDestination(hospital))
    return h('li', {}, button)
  }))
}

async function chooseDestination (hospital) {
  const answer = await call(`/api/v1/scans/${state.lastAudit}/destination`, { method: 'POST', json: { institution_id: hospital.id } })
  if (answer.offline) return showError('destination-error', t('destination.offline'))
  if (!answer.ok) return showError('destination-error', errorText(answer.data) ?? t('error.generic'))
  show('result')
  addNotice(notice('ok', null, t('result.destination_done', { name: hospital.name })))
  watchAcknowledgement(state.lastAudit, hospital.name)
}

// --- the hospital's acknowledgement (regional network, issue 8) ----------------------------
// Polls GET /api/v1/scans/{audit}/destination every 5 s until the receiving hospital acknowledges
// the handoff, the crew scans someone else, or 30 minutes pass.

function watchAcknowledgement (audit, name, startedAt = Date.now()) {
  setTimeout(async () => {
    if (state.lastAudit !== audit || Date.now() - startedAt > 30 * 60 * 1000) return
    const answer = await call(`/api/v1/scans/${audit}/destination`)
    if (answer.ok && answer.data.acknowledged_at) {
      addNotice(notice('ok', null, t('result.destination_ack', { name: answer.data.institution_name ?? name })))
      return
    }
    watchAcknowledgement(audit, name, startedAt)
  }, 5000)
}

// --- menu, language, theme -----------------------------------------------------------------

function applyTheme (theme) {
  if (theme === 'auto') delete document.documentElement.dataset.theme
  else document.documentElement.dataset.theme = theme
  $('toggle-theme').textContent = t(`menu.theme_${theme}`)
}

async function savePrefs () {
  await store.set('prefs', state.prefs)
}

// The menu shows only what can be used now: before enrolment, language, display and the key list.
async function showMenu () {
  const [session, device, token] = await Promise.all([currentSession(), store.get('device'), store.get('deviceToken')])
  for (const id of ['menu-row-user', 'menu-row-shift', 'sign-out', 'send-outbox']) $(id).hidden = !session
  for (const id of ['menu-row-device', 'menu-row-outbox']) $(id).hidden = !token
  $('menu-user').textContent = session?.username ?? ''
  $('menu-shift').textContent = session ? new Date(session.expiresAt).toLocaleString(locale()) : ''
  $('menu-device').textContent = device ? `${device.name}（${device.organisation}）` : ''
  const list = trust.summary()
  $('menu-trust').textContent = list
    ? t('menu.trust', { version: list.version, date: new Date(list.checkedAt ?? list.issuedAt * 1000).toLocaleString(locale()) })
    : t('menu.trust_none')
  await updateOutbox()
  state.back = state.screen
  show('menu')
}

function setLanguageAndRefresh (lang) {
  state.prefs.lang = lang
  setLanguage(lang)
  const button = $('toggle-language')
  button.textContent = lang === 'ja' ? 'English' : '日本語'
  button.lang = lang === 'ja' ? 'en' : 'ja'
  applyTheme(state.prefs.theme)
  updateNet()
  updateOutbox()
}

function bindEvents () {
  $('enroll-form').addEventListener('submit', enroll)
  $('signin-form').addEventListener('submit', signIn)
  $('entry-form').addEventListener('submit', submitEntry)
  $('incident-form').addEventListener('submit', (event) => event.preventDefault())
  $('type-number').addEventListener('click', () => { $('entry').scrollIntoView({ block: 'center' }); $('entry').focus() })
  $('torch').addEventListener('click', async () => {
    const on = await scanner?.toggleTorch()
    $('torch').setAttribute('aria-pressed', String(Boolean(on)))
  })
  $('switch-camera').addEventListener('click', () => scanner?.switchCamera())
  $('scan-next').addEventListener('click', () => show('scan'))
  $('incident').addEventListener('input', saveIncident)
  $('purpose').addEventListener('input', saveIncident)
  $('clear-incident').addEventListener('click', clearIncident)
  $('choose-destination').addEventListener('click', showDestinations)
  $('destination-back').addEventListener('click', () => show('result'))
  for (const chip of document.querySelectorAll('.chip')) chip.addEventListener('click', () => { $('reason').value = chip.dataset.reason })
  $('menu-button').addEventListener('click', showMenu)
  $('menu-back').addEventListener('click', () => show(state.back && state.back !== 'menu' ? state.back : 'scan'))
  $('toggle-language').addEventListener('click', async () => {
    setLanguageAndRefresh(currentLanguage() === 'ja' ? 'en' : 'ja')
    await savePrefs()
  })
  $('toggle-theme').addEventListener('click', async () => {
    const order = ['auto', 'dark', 'light']
    state.prefs.theme = order[(order.indexOf(state.prefs.theme) + 1) % order.length]
    applyTheme(state.prefs.theme)
    await savePrefs()
  })
  $('refresh-trust').addEventListener('click', async () => { await trust.refresh(); showMenu() })
  $('send-outbox').addEventListener('click', async () => {
    const result = await flushOutbox()
    $('menu-outbox').textContent = `${await store.outboxCount()}${result ? ` — ${t('menu.sent', { n: result.sent })}` : ''}`
  })
  $('sign-out').addEventListener('click', async () => {
    await call('/api/v1/auth/logout', { method: 'POST', timeout: 3000 }) // offline: the token is forgotten here anyway
    await store.remove('session')
    await clearIncident() // the shift's incident ends with it
    showSignIn()
  })
  window.addEventListener('online', () => { updateNet(); flushOutbox(); trust.refresh() })
  window.addEventListener('hashchange', () => {
    const linked = linkedQr()
    if (linked) handleText(linked)
  })
  window.addEventListener('offline', updateNet)
  document.addEventListener('visibilitychange', () => { if (!document.hidden && navigator.onLine !== false) trust.refresh() })
  listenForKeyboardScanner()
}

// The card a link opened: /ems/#qr=<url-encoded QR text>, or the QR URL itself (/C/…) when the
// service worker served the app there without network.
function linkedQr () {
  const hash = new URLSearchParams(location.hash.slice(1)).get('qr')
  const path = /^\/[Cc]\/[0-9]+$/.test(location.pathname) ? `${location.protocol}//${location.host}${location.pathname}` : null
  const text = hash || path
  if (text) history.replaceState(null, '', '/ems/')
  return text
}

async function registerServiceWorker () {
  if (!('serviceWorker' in navigator)) return
  try {
    // Scope "/" so it can also open the app offline at the QR's own URL (/C/…); it leaves every other URL alone.
    await navigator.serviceWorker.register('/ems/sw.js', { scope: '/', updateViaCache: 'none' })
  } catch { /* the app still works online without it */ }
}

async function start () {
  state.prefs = { ...state.prefs, ...((await store.get('prefs')) ?? {}) }
  setLanguageAndRefresh(state.prefs.lang)
  bindEvents()
  updateNet()
  registerServiceWorker()
  const linked = linkedQr()
  await Promise.all([trust.load(), restoreIncident()])
  setInterval(async () => { if ((await store.outboxCount()) > 0) flushOutbox() }, FLUSH_EVERY_MS)
  setInterval(() => { if (navigator.onLine !== false) trust.refresh() }, TRUST_REFRESH_MS)
  if (!(await store.get('deviceToken'))) return show('enroll')
  if (linked) await handleText(linked)
  else if (await checkSignedIn()) show('scan')
  else await showSignIn()
  flushOutbox()
}

start()
