// Browser verifier of the card credential (docs/card-format.md): parses the QR text,
// checks the COSE_Sign1 ES256 signature with WebCrypto, applies the signed revocation list.
// The Python verifier (app/cards/credential.py) passes the same vectors (tests/vectors/).
// Works in browsers and in Node 20 (globalThis.crypto). No function here throws or rejects:
// every input yields a status, so a scan always shows the crew something definite.
import { decode, encode, Tagged } from '../vendor/cborg-6.1.5/cborg.js'

export const STATUS = Object.freeze({
  GENUINE: 'genuine',
  REVOKED: 'revoked',
  FORGED: 'forged',
  EXPIRED: 'expired',
  UNKNOWN_KEY: 'unknown_key',
  MALFORMED: 'malformed'
})

// Same texts as CREW_MESSAGES_JA in app/cards/credential.py (a test keeps them equal).
export const CREW_MESSAGES_JA = Object.freeze({
  genuine: '本物のカードです',
  revoked: 'このカードは失効しています',
  revoked_newer: 'このカードは失効しています（新しいカードがあります）',
  forged: '偽造の疑い：署名が一致しません',
  expired: '有効期限切れのカードです',
  unknown_key: '発行元の鍵を確認できません（鍵リストを更新してください）',
  malformed: 'このカードのQRコードとして読み取れません'
})

const MAX_QR_TEXT_BYTES = 10 * 1024
const MAX_PAYLOAD_DIGITS = 400
const QR_TEXT = /^HTTPS?:\/\/[A-Z0-9](?:[A-Z0-9.-]{0,251}[A-Z0-9])?(?::[0-9]{1,5})?\/C\/([0-9]*)$/i
const COSE_SIGN1_TAG = 18
const ALG_ES256 = -7
const CLAIM_EXP = 4
const CLAIM_IAT = 6
const CLAIM_CTI = 7
const CARD_ID_LENGTH = 8
const SERIAL_LENGTH = 2
const MAX_SERIAL = 0xffff
const JWS_TYPE = 'lifeline-revocations+json'
const REASONS = new Set(['superseded', 'cancelled'])
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' }
// The order n of the P-256 group. A signature is accepted only with 1 ≤ r < n and
// 1 ≤ s ≤ (n − 1) / 2: WebCrypto also accepts (r, n − s), the "high-s" twin of every valid
// signature, so without this check each card would have a second QR text that verifies.
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
const P256_HALF_ORDER = P256_ORDER / 2n
const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  useMaps: true,
  rejectDuplicateMapKeys: true,
  tags: { [COSE_SIGN1_TAG]: Tagged.decoder(COSE_SIGN1_TAG) }
}

class Malformed extends Error {
  constructor (reason) {
    super(reason)
    this.reason = reason
  }
}

// --- small byte helpers ---------------------------------------------------------------

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

function sameBytes (a, b) {
  return a.length === b.length && a.every((value, i) => value === b[i])
}

export function b64urlEncode (bytes) {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

// Strict: one spelling per byte string (no padding, no stray bits), else null.
export function b64urlDecode (text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  return b64urlEncode(bytes) === text ? bytes : null
}

const isUint = (value) => Number.isSafeInteger(value) && value >= 0
const isPlainObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)

// --- QR text and COSE_Sign1 -----------------------------------------------------------

function coseFromQr (text) {
  if (typeof text !== 'string') throw new Malformed('not_text')
  if (text.length > MAX_QR_TEXT_BYTES) throw new Malformed('too_large')
  if (!/^[\x00-\x7f]*$/.test(text)) throw new Malformed('not_ascii')
  if (text.includes('?') || text.includes('#')) throw new Malformed('query')
  const match = QR_TEXT.exec(text)
  if (match === null) throw new Malformed('prefix')
  const digits = match[1]
  if (digits.length === 0 || digits.length > MAX_PAYLOAD_DIGITS) throw new Malformed('payload_length')
  if (digits[0] === '0') throw new Malformed('payload_leading_zero')
  let hexDigits = BigInt(digits).toString(16)
  if (hexDigits.length % 2) hexDigits = '0' + hexDigits
  return Uint8Array.from(hexDigits.match(/../g), (pair) => parseInt(pair, 16))
}

function decodeCanonical (bytes) {
  try {
    return decode(bytes, DECODE_OPTIONS)
  } catch {
    throw new Malformed('cbor')
  }
}

// Deterministic encoding only: re-encode what was decoded and demand the same bytes.
function requireCanonical (value, bytes) {
  if (!sameBytes(encode(value), bytes)) throw new Malformed('noncanonical')
}

function decodeSign1 (bytes) {
  const item = decodeCanonical(bytes)
  if (!(item instanceof Tagged) || item.tag !== COSE_SIGN1_TAG) throw new Malformed('tag')
  const parts = item.value
  if (!Array.isArray(parts) || parts.length !== 4) throw new Malformed('structure')
  const [protectedBytes, unprotected, payload, signature] = parts
  if (![protectedBytes, payload, signature].every((part) => part instanceof Uint8Array)) throw new Malformed('structure')
  if (!(unprotected instanceof Map) || unprotected.size !== 0) throw new Malformed('unprotected_header')
  if (signature.length !== 64) throw new Malformed('signature_length')
  requireCanonical(new Tagged(COSE_SIGN1_TAG, [protectedBytes, new Map(), payload, signature]), bytes)
  return { protectedBytes, kid: decodeProtected(protectedBytes), payload, signature }
}

function decodeProtected (bytes) {
  const header = decodeCanonical(bytes)
  if (!(header instanceof Map) || header.size !== 2 || !header.has(1) || !header.has(4)) throw new Malformed('protected_header')
  const alg = header.get(1)
  const kid = header.get(4)
  if (alg !== ALG_ES256) throw new Malformed('alg')
  if (!(kid instanceof Uint8Array) || kid.length < 1 || kid.length > 16) throw new Malformed('kid')
  requireCanonical(new Map([[1, alg], [4, kid]]), bytes)
  return kid
}

function decodeClaims (bytes) {
  const cwt = decodeCanonical(bytes)
  if (!(cwt instanceof Map) || ![...cwt.keys()].every((key) => [CLAIM_EXP, CLAIM_IAT, CLAIM_CTI].includes(key)) ||
      !cwt.has(CLAIM_IAT) || !cwt.has(CLAIM_CTI)) throw new Malformed('claims')
  const cti = cwt.get(CLAIM_CTI)
  const issuedAt = cwt.get(CLAIM_IAT)
  const expiresAt = cwt.has(CLAIM_EXP) ? cwt.get(CLAIM_EXP) : null
  if (!(cti instanceof Uint8Array) || cti.length !== CARD_ID_LENGTH + SERIAL_LENGTH) throw new Malformed('cti')
  if (!isUint(issuedAt) || (expiresAt !== null && !(isUint(expiresAt) && expiresAt > issuedAt))) throw new Malformed('time')
  requireCanonical(new Map(cwt), bytes)
  return {
    cardId: cti.slice(0, CARD_ID_LENGTH),
    serial: (cti[CARD_ID_LENGTH] << 8) | cti[CARD_ID_LENGTH + 1],
    issuedAt,
    expiresAt
  }
}

// Everything that needs no keys: {ok: true, kid, claims, signedBytes, signature} or {ok: false, reason}.
export function parseQr (text) {
  try {
    const sign1 = decodeSign1(coseFromQr(text))
    const claims = decodeClaims(sign1.payload)
    const signedBytes = encode(['Signature1', sign1.protectedBytes, new Uint8Array(0), sign1.payload])
    return { ok: true, kid: sign1.kid, claims, signedBytes, signature: sign1.signature }
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, reason: err.reason }
    return { ok: false, reason: 'internal' }
  }
}

// --- keys -----------------------------------------------------------------------------

const keySets = new WeakMap()

// A member that is absent takes its default; a member present with null does not (as in Python).
const member = (object, name, fallback) => Object.hasOwn(object, name) ? object[name] : fallback

function checkJwk (jwk) {
  if (!isPlainObject(jwk) || jwk.kty !== 'EC' || jwk.crv !== 'P-256') return null
  if (member(jwk, 'alg', 'ES256') !== 'ES256' || member(jwk, 'use', 'sig') !== 'sig') return null
  const kid = b64urlDecode(jwk.kid)
  const x = b64urlDecode(jwk.x)
  const y = b64urlDecode(jwk.y)
  const notBefore = member(jwk, 'nbf', 0)
  const notAfter = jwk.exp ?? null // an explicit null means "no not_after" on both sides
  const active = member(jwk, 'active', false)
  if (!kid || kid.length < 1 || kid.length > 16 || x?.length !== 32 || y?.length !== 32) return null
  if (!isUint(notBefore) || (notAfter !== null && !isUint(notAfter)) || typeof active !== 'boolean') return null
  return { kid: b64urlEncode(kid), notAfter, active, jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true } }
}

// All or nothing, like KeySet.from_jwks in Python: a JWKS with an unusable entry trusts no key.
async function importJwks (jwks) {
  const entries = isPlainObject(jwks) && Array.isArray(jwks.keys) ? jwks.keys.map(checkJwk) : [null]
  if (entries.includes(null)) return new Map()
  const byKid = new Map()
  for (const entry of entries) {
    const key = await crypto.subtle.importKey('jwk', entry.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    if (!byKid.has(entry.kid)) byKid.set(entry.kid, [])
    byKid.get(entry.kid).push({ key, notAfter: entry.notAfter, active: entry.active })
  }
  return byKid
}

// Imported CryptoKeys are cached per JWKS object, so each verification is one ECDSA check.
function keySet (jwks) {
  if (!isPlainObject(jwks)) return Promise.resolve(new Map())
  if (!keySets.has(jwks)) keySets.set(jwks, importJwks(jwks).catch(() => new Map()))
  return keySets.get(jwks)
}

const bigEndian = (bytes) => BigInt('0x' + (hex(bytes) || '0'))

// Same rule as es256_verify in app/cards/cose.py: one valid encoding per signature (low s).
function canonicalSignature (signature) {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
  const r = bigEndian(signature.subarray(0, 32))
  const s = bigEndian(signature.subarray(32))
  return r >= 1n && r < P256_ORDER && s >= 1n && s <= P256_HALF_ORDER
}

async function firstVerifying (candidates, signature, data) {
  if (!canonicalSignature(signature)) return null
  for (const candidate of candidates) {
    if (await crypto.subtle.verify(ECDSA, candidate.key, signature, data)) return candidate
  }
  return null
}

// --- credential -----------------------------------------------------------------------

function result (status, { reason = null, kid = null, claims = null, newerCardExists = false } = {}) {
  return {
    status,
    cardId: claims ? hex(claims.cardId) : null,
    serial: claims ? claims.serial : null,
    issuedAt: claims ? claims.issuedAt : null,
    expiresAt: claims ? claims.expiresAt : null,
    kid: kid ? b64urlEncode(kid) : null,
    newerCardExists,
    reason,
    message: CREW_MESSAGES_JA[newerCardExists ? 'revoked_newer' : status]
  }
}

function revocationFor (revocations, claims) {
  if (!revocations || revocations.status !== 'valid' || !(revocations.entries instanceof Map)) return null
  const entry = revocations.entries.get(hex(claims.cardId))
  return entry && claims.serial <= entry.serial ? entry : null
}

// verifyCredential(text, {keys: JWKS, revocations: result of verifyRevocationDocument, now: seconds})
export async function verifyCredential (text, options) {
  try {
    const { keys, revocations = null, now = Math.floor(Date.now() / 1000) } = options ?? {}
    const parsed = parseQr(text)
    if (!parsed.ok) return result(STATUS.MALFORMED, { reason: parsed.reason })
    const { kid, claims } = parsed
    const candidates = (await keySet(keys)).get(b64urlEncode(kid)) ?? []
    if (candidates.length === 0) return result(STATUS.UNKNOWN_KEY, { reason: 'kid', kid })
    const key = await firstVerifying(candidates, parsed.signature, parsed.signedBytes)
    if (key === null) return result(STATUS.FORGED, { reason: 'signature', kid })
    const entry = revocationFor(revocations, claims)
    if (entry) return result(STATUS.REVOKED, { reason: entry.reason, kid, claims, newerCardExists: entry.supersededBySerial !== null })
    if (key.notAfter !== null && now >= key.notAfter) return result(STATUS.EXPIRED, { reason: 'key_expired', kid, claims })
    if (claims.expiresAt !== null && now >= claims.expiresAt) return result(STATUS.EXPIRED, { reason: 'card_expired', kid, claims })
    return result(STATUS.GENUINE, { kid, claims })
  } catch {
    // Only reachable through a WebCrypto failure; the crew still gets a status.
    return result(STATUS.MALFORMED, { reason: 'internal' })
  }
}

// --- revocation list (flattened JWS, ES256) --------------------------------------------

function jsonSegment (segment) {
  const bytes = b64urlDecode(segment)
  if (bytes === null) return null
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    return isPlainObject(value) ? value : null
  } catch {
    return null
  }
}

const hasExactly = (object, names) => Object.keys(object).length === names.length && names.every((name) => Object.hasOwn(object, name))
const isSerial = (value) => Number.isSafeInteger(value) && value >= 0 && value <= MAX_SERIAL

const ENTRY_REQUIRED = ['card_id', 'serial', 'reason']
const ENTRY_ALLOWED = [...ENTRY_REQUIRED, 'superseded_by_serial']

function parseEntry (item) {
  if (!isPlainObject(item)) return null
  const names = Object.keys(item)
  if (!ENTRY_REQUIRED.every((name) => names.includes(name)) || !names.every((name) => ENTRY_ALLOWED.includes(name))) return null
  if (typeof item.card_id !== 'string' || !/^[0-9a-f]{16}$/.test(item.card_id)) return null
  if (!isSerial(item.serial) || !REASONS.has(item.reason)) return null
  const newer = item.superseded_by_serial ?? null
  if ((item.reason === 'superseded') !== (newer !== null)) return null
  if (newer !== null && !(isSerial(newer) && newer > item.serial)) return null
  return { cardId: item.card_id, serial: item.serial, reason: item.reason, supersededBySerial: newer }
}

function parseRevocationPayload (payload) {
  if (!payload || !hasExactly(payload, ['version', 'issued_at', 'entries'])) return null
  if (!isUint(payload.version) || !isUint(payload.issued_at) || !Array.isArray(payload.entries)) return null
  const entries = new Map()
  for (const item of payload.entries) {
    const entry = parseEntry(item)
    if (entry === null || entries.has(entry.cardId)) return null
    entries.set(entry.cardId, entry)
  }
  return { version: payload.version, issuedAt: payload.issued_at, entries }
}

// verifyRevocationDocument(doc, jwks) → {status: 'valid', version, issuedAt, kid, entries} or {status: 'invalid', reason}.
// Only a key marked active in the JWKS may sign the list.
export async function verifyRevocationDocument (doc, jwks) {
  const invalid = (reason) => ({ status: 'invalid', reason })
  try {
    if (!isPlainObject(doc) || !hasExactly(doc, ['protected', 'payload', 'signature'])) return invalid('structure')
    const header = jsonSegment(doc.protected)
    const signature = b64urlDecode(doc.signature)
    const kid = header && b64urlDecode(header.kid)
    if (!header || !signature || !kid || typeof doc.payload !== 'string') return invalid('encoding')
    if (!hasExactly(header, ['alg', 'kid', 'typ']) || header.alg !== 'ES256' || header.typ !== JWS_TYPE) return invalid('header')
    const signers = ((await keySet(jwks)).get(b64urlEncode(kid)) ?? []).filter((key) => key.active)
    if (signers.length === 0) return invalid('unknown_signer')
    if (signature.length !== 64) return invalid('signature')
    const signingInput = new TextEncoder().encode(`${doc.protected}.${doc.payload}`)
    if (await firstVerifying(signers, signature, signingInput) === null) return invalid('signature')
    const list = parseRevocationPayload(jsonSegment(doc.payload))
    if (list === null) return invalid('payload')
    return { status: 'valid', kid: b64urlEncode(kid), ...list }
  } catch {
    return invalid('internal')
  }
}
