// Runs the browser verifier over test vector files in Node (WebCrypto via globalThis.crypto).
//
//   node ems_pwa/js/test/verify_vectors.mjs tests/vectors
//
// Reads every *.json in the directory: files with "vectors" are card credentials (verified
// against the file's "keys" and its signed "revocations"), files with "documents" are
// revocation lists. Prints one JSON report on stdout; exits 1 if any result differs from
// "expected". tests/cards/test_js_verifier.py runs this and checks the report.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CREW_MESSAGES_JA, verifyCredential, verifyRevocationDocument } from '../credential.js'

const CREDENTIAL_FIELDS = ['status', 'cardId', 'serial', 'issuedAt', 'expiresAt', 'kid', 'newerCardExists']

function pick (object, names) {
  return Object.fromEntries(names.filter((name) => name in object).map((name) => [name, object[name]]))
}

async function runCredentials (file) {
  const revocations = await verifyRevocationDocument(file.revocations, file.keys)
  if (revocations.status !== 'valid') throw new Error(`the vector file's revocation list does not verify: ${revocations.reason}`)
  const results = []
  for (const vector of file.vectors) {
    const verified = await verifyCredential(vector.qr, { keys: file.keys, revocations, now: vector.now })
    const actual = pick(verified, CREDENTIAL_FIELDS)
    results.push({ description: vector.description, actual, reason: verified.reason, ok: sameJson(actual, vector.expected) })
  }
  return results
}

async function runDocuments (file) {
  const results = []
  for (const vector of file.documents) {
    const verified = await verifyRevocationDocument(vector.document, file.keys)
    const actual = verified.status === 'valid'
      ? { status: 'valid', version: verified.version, issuedAt: verified.issuedAt, entries: verified.entries.size }
      : { status: 'invalid' }
    results.push({ description: vector.description, actual, reason: verified.reason ?? null, ok: sameJson(actual, vector.expected) })
  }
  return results
}

function sameJson (a, b) {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  return keys.every((key) => a[key] === b[key])
}

const directory = process.argv[2]
if (!directory) {
  console.error('usage: node verify_vectors.mjs VECTOR_DIR')
  process.exit(2)
}
const report = { files: {}, failures: 0, messages: CREW_MESSAGES_JA }
for (const name of readdirSync(directory).filter((entry) => entry.endsWith('.json')).sort()) {
  const file = JSON.parse(readFileSync(join(directory, name), 'utf8'))
  const results = file.vectors ? await runCredentials(file) : file.documents ? await runDocuments(file) : null
  if (results === null) continue
  report.files[name] = results
  report.failures += results.filter((result) => !result.ok).length
}
console.log(JSON.stringify(report))
// exitCode, not exit(): exit() can cut off a large report still being written to a pipe.
process.exitCode = report.failures ? 1 : 0
