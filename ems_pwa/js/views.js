// DOM for the verdict banner and the emergency view (DESIGN.md §3 order). Text from the server is
// only ever set as text (never as HTML), so nothing in a record can run as script.
import { t, translateServerText } from './i18n.js'

// An icon from the sprite in index.html: drawn, so it never depends on a font having the glyph.
export function icon (name) {
  const svg = document.getElementById('icon-template').content.firstElementChild.cloneNode(true)
  svg.classList.add(`ico-${name}`)
  svg.querySelector('use').setAttribute('href', `#i-${name}`)
  return svg
}

export function h (tag, attrs = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue
    if (name === 'class') element.className = value
    else if (name === 'text') element.textContent = value
    else element.setAttribute(name, value === true ? '' : value)
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    element.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return element
}

// Verdict: icon + colour + words (never colour alone).
const VERDICT_STYLE = {
  genuine: ['ok', 'check'],
  checking: ['info', 'dots'],
  unknown_key: ['warn', 'warn'],
  unregistered: ['warn', 'warn'],
  not_found: ['warn', 'warn'],
  unverified: ['warn', 'warn'],
  expired: ['bad', 'cross'],
  revoked: ['bad', 'cross'],
  forged: ['bad', 'cross'],
  malformed: ['bad', 'cross']
}
// The icon a notice of each style carries unless it names another.
const NOTICE_ICON = { ok: 'check', bad: 'cross', warn: 'warn', info: 'info' }

export function statusText (status, { newerCardExists = false, message = null } = {}) {
  if (status === 'revoked' && newerCardExists) return t('status.revoked_newer')
  const key = `status.${status}`
  const text = t(key)
  return text === key ? translateServerText(message ?? status) : text
}

export function renderVerdict (element, status, options = {}) {
  const [style, name] = VERDICT_STYLE[status] ?? ['bad', 'cross']
  element.className = `banner verdict ${style}`
  element.dataset.status = status
  element.replaceChildren(icon(name), h('strong', { text: statusText(status, options) }))
}

export const formatCardNumber = (cardId, serial) =>
  `${cardId.slice(0, 4)}-${cardId.slice(4, 8)}-${cardId.slice(8, 12)}-${cardId.slice(12, 16)}-${String(serial).padStart(2, '0')}`.toUpperCase()

const isoDay = (seconds) => new Date(seconds * 1000).toISOString().slice(0, 10)

export function cardFacts (local) {
  return h('dl', { class: 'facts card-facts' },
    h('dt', { text: t('result.card') }), h('dd', { class: 'mono', text: formatCardNumber(local.cardId, local.serial) }),
    h('dt', { text: t('result.issued') }), h('dd', { text: isoDay(local.issuedAt) }))
}

// notice('warn', title, ...lines) or notice({ style: 'info', icon: 'upload' }, title, ...lines)
export function notice (kind, title, ...lines) {
  const { style, icon: name = NOTICE_ICON[style] } = typeof kind === 'string' ? { style: kind } : kind
  return h('div', { class: `banner ${style}`, role: style === 'bad' ? 'alert' : 'status' },
    icon(name),
    h('div', {}, title ? h('strong', { text: title }) : null, ...lines.map((line) => h('p', { text: line }))))
}

// --- emergency view ------------------------------------------------------------------------

function section (id, title, { warn = false } = {}, ...content) {
  return h('section', { class: `block${warn ? ' warn' : ''}`, id: `sum-${id}`, 'aria-labelledby': `sum-${id}-h` },
    h('h2', { id: `sum-${id}-h` }, warn ? icon('warn') : null, title), ...content)
}

const daysSince = (isoDate) => Math.max(0, Math.floor((Date.now() - Date.parse(`${isoDate}T00:00:00+09:00`)) / 86400000))

function provenance (entry) {
  const parts = [entry.source_label, entry.confirmed_on].filter(Boolean)
  return h('span', { class: 'source' }, parts.join('・'),
    entry.clinically_confirmed ? h('span', { class: 'confirmed' }, icon('check'), t('sum.doctor_confirmed')) : null)
}

// The high-alert flags of a medicine: what a crew must know before giving anything.
const FLAGS = [['is_anticoagulant', 'anticoagulant', 'sum.anticoagulant'], ['is_insulin', 'insulin', 'sum.insulin']]
const flagsOf = (entry) => FLAGS.filter(([field]) => entry[field])
const isHighAlert = (entry) => flagsOf(entry).length > 0

function flagBadges (entry) {
  return flagsOf(entry).map(([, style, key]) => h('span', { class: `flag ${style}` }, icon('warn'), t(key)))
}

function entryList (entries, emptyKey, { flags = false } = {}) {
  if (!entries.length) return h('p', { class: 'none', text: t(emptyKey) })
  return h('ul', { class: 'entries' }, entries.map((entry) => h('li', {},
    h('span', { class: 'entry-text', text: entry.text }),
    flags ? flagBadges(entry) : null,
    entry.category_label && !flags ? h('span', { class: 'category', text: entry.category_label }) : null,
    entry.note ? h('span', { class: 'note', text: entry.note }) : null,
    provenance(entry))))
}

function callButton (phone, label) {
  if (!phone) return null
  const digits = phone.replace(/[^0-9+]/g, '')
  return h('a', { class: 'call', href: `tel:${digits}`, 'aria-label': `${t('sum.call')} ${label} ${phone}` },
    icon('phone'), ` ${phone}`)
}

function identity (s) {
  const confirmed = s.last_confirmed_on
    ? t('sum.confirmed_days', { date: s.last_confirmed_on, n: daysSince(s.last_confirmed_on) })
    : t('sum.confirmed_none')
  return h('section', { class: 'block identity', id: 'sum-identity', 'aria-label': s.name },
    h('p', { class: 'name', text: s.name }),
    h('p', { class: 'kana', text: s.kana }),
    h('p', { class: 'born' }, `${s.birth_date_wareki}（${s.birth_date}）`, h('strong', { text: ` ${t('sum.age', { n: s.age })}` }), `・${s.sex_label}`),
    h('p', { class: 'confirmed' }, `${t('sum.confirmed')}: `, h('strong', { text: confirmed }), s.last_confirmed_by ? `・${s.last_confirmed_by}` : ''))
}

function dnar (s) {
  const key = { exists: 'sum.dnar_exists', none: 'sum.dnar_none' }[s.dnar_status] ?? 'sum.dnar_unknown'
  return section('dnar', t('sum.dnar'), { warn: s.dnar_status === 'exists' },
    h('p', { class: 'big', text: t(key) }),
    s.dnar_location ? h('p', {}, `${t('sum.dnar_where')}: `, h('strong', { text: s.dnar_location })) : null,
    s.acp_notes ? h('p', { text: s.acp_notes }) : null)
}

function doctors (s) {
  if (!s.doctors.length) return section('doctors', t('sum.doctors'), {}, h('p', { class: 'none', text: t('sum.doctors_none') }))
  return section('doctors', t('sum.doctors'), {}, h('ul', { class: 'people' }, s.doctors.map((d) => h('li', {},
    h('span', { class: 'role', text: t(d.role === 'second' ? 'sum.second_doctor' : 'sum.family_doctor') }),
    h('strong', { text: d.name }), ` ${d.specialty}`, h('span', { class: 'where', text: d.institution }),
    callButton(d.phone, d.name)))))
}

function contacts (s) {
  if (!s.contacts.length) return section('contacts', t('sum.contacts'), {}, h('p', { class: 'none', text: t('sum.contacts_none') }))
  return section('contacts', t('sum.contacts'), {}, h('ul', { class: 'people' }, s.contacts.map((c) => h('li', {},
    h('strong', { text: c.name }), c.relation ? `（${c.relation}）` : '', c.note ? h('span', { class: 'note', text: c.note }) : null,
    callButton(c.phone, c.name), callButton(c.phone2, c.name)))))
}

function facts (pairs) {
  const shown = pairs.filter(([, value]) => value)
  return shown.length ? h('dl', { class: 'facts' }, shown.map(([label, value]) => [h('dt', { text: label }), h('dd', {}, value)])) : null
}

// What the crew needs before anything else, on one screen without scrolling (docs/ems.md §3):
// who and how old, resuscitation wishes, allergies, high-alert medicines, the family doctor's
// phone. The full sections follow it.
function firstScreen (s) {
  const dnarKey = { exists: 'sum.dnar_exists', none: 'sum.dnar_none' }[s.dnar_status] ?? 'sum.dnar_unknown'
  const alerts = s.medications.filter(isHighAlert)
  const doctor = s.doctors.find((d) => d.role === 'family') ?? s.doctors[0]
  const row = (cls, label, ...value) =>
    h('div', { class: `line ${cls}` }, h('span', { class: 'label', text: label }), h('span', { class: 'value' }, ...value))
  const dnarExists = s.dnar_status === 'exists'
  return h('section', { class: 'block first', id: 'sum-first', 'aria-label': t('sum.first') },
    h('p', { class: 'name' }, h('span', { text: s.name }), h('span', { class: 'age', text: `${t('sum.age', { n: s.age })}・${s.sex_label}` })),
    row(`dnar${dnarExists ? ' alert' : ''}`, t('sum.dnar_short'), dnarExists ? icon('warn') : null,
      h('strong', { text: t(dnarKey) }), s.dnar_location ? `（${s.dnar_location}）` : ''),
    row(`allergies${s.allergies.length ? ' alert' : ''}`, t('sum.allergies_short'), s.allergies.length ? icon('warn') : null,
      h('strong', { text: s.allergies.length ? s.allergies.map((e) => e.text).join('、') : t('sum.allergies_none') })),
    row('high-alert', t('sum.high_alert'), alerts.length
      ? h('ul', { class: 'alerts' }, alerts.map((entry) => h('li', {}, flagBadges(entry), h('span', { class: 'entry-text', text: entry.text }))))
      : h('strong', { text: t('sum.high_alert_none') })),
    row('doctor', t(doctor?.role === 'second' ? 'sum.second_doctor' : 'sum.family_doctor'), doctor
      ? [h('span', { class: 'who', text: `${doctor.name}・${doctor.institution}` }), callButton(doctor.phone, doctor.name)]
      : h('strong', { text: t('sum.doctors_none') })))
}

export function renderSummary (container, s) {
  const insurance = [s.insurance_symbol, s.insurance_number, s.insurance_branch].filter(Boolean).join('・')
  container.replaceChildren(
    firstScreen(s),
    identity(s),
    dnar(s),
    section('allergies', t('sum.allergies'), { warn: s.allergies.length > 0 }, entryList(s.allergies, 'sum.allergies_none')),
    section('medications', t('sum.medications'), {}, entryList(s.medications, 'sum.medications_none', { flags: true })),
    section('conditions', t('sum.conditions'), {}, entryList(s.conditions, 'sum.conditions_none')),
    doctors(s),
    contacts(s),
    section('other', t('sum.other'), {}, facts([[t('sum.blood'), s.blood_type], [t('sum.usual'), s.usual_state], [t('sum.infection'), s.infection_notes]])),
    section('insurance', t('sum.insurance'), {}, facts([[t('sum.insurance'), s.insurance_kind], [t('sum.insurer'), s.insurer_number], [t('sum.insurance_number'), insurance]])),
    section('address', t('sum.address'), {}, facts([
      [t('sum.address'), s.address],
      [t('sum.phone'), s.phone ? callButton(s.phone, t('sum.phone')) : null],
      [t('sum.commissioner'), s.welfare_commissioner ? h('span', {}, s.welfare_commissioner, ' ', callButton(s.welfare_commissioner_phone, s.welfare_commissioner)) : null]
    ])))
}
