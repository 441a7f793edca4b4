// The camera: native BarcodeDetector where the browser has it, else zxing-wasm in a worker.
// Torch and camera switch where the hardware allows. One frame is decoded at a time. Between
// scans the camera stays open and only decoding pauses, so the next card reads at once.
const FRAME_INTERVAL_MS = 100
// The card just read is not read again while it stays in view (it usually lies there while the
// crew reads the result); once it has been out of view this long, showing it again reads it at once.
const OUT_OF_VIEW_MS = 500
const MAX_SIDE = 960 // larger frames cost time and gain nothing at card distance

async function nativeDetector () {
  if (!('BarcodeDetector' in globalThis)) return null
  try {
    const formats = await globalThis.BarcodeDetector.getSupportedFormats()
    return formats.includes('qr_code') ? new globalThis.BarcodeDetector({ formats: ['qr_code'] }) : null
  } catch {
    return null
  }
}

class WorkerDecoder {
  constructor () {
    this.worker = new Worker('/ems/js/decoder-worker.js', { type: 'module' })
    this.pending = new Map()
    this.next = 0
    this.canvas = document.createElement('canvas')
    this.context = this.canvas.getContext('2d', { willReadFrequently: true })
    this.worker.onmessage = (event) => {
      const resolve = this.pending.get(event.data.id)
      this.pending.delete(event.data.id)
      resolve?.(event.data.text)
    }
  }

  detect (video) {
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight))
    const width = Math.round(video.videoWidth * scale)
    const height = Math.round(video.videoHeight * scale)
    if (!width || !height) return Promise.resolve(null)
    this.canvas.width = width
    this.canvas.height = height
    this.context.drawImage(video, 0, 0, width, height)
    const { data } = this.context.getImageData(0, 0, width, height)
    const id = this.next++
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.worker.postMessage({ id, width, height, buffer: data.buffer }, [data.buffer])
    })
  }
}

export class Scanner {
  constructor (video, onText, onSameCard = () => {}) {
    this.video = video
    this.onText = onText
    this.onSameCard = onSameCard
    this.last = { text: null, seenAt: 0, held: false }
    this.stream = null
    this.running = false
    this.decoder = null
    this.cameras = []
    this.cameraIndex = -1
    this.torchOn = false
  }

  get warm () {
    return this.track?.readyState === 'live'
  }

  async decoderReady () {
    if (!this.decoder) {
      const native = await nativeDetector()
      this.decoder = native
        ? { detect: async (video) => (await native.detect(video))[0]?.rawValue ?? null }
        : new WorkerDecoder()
    }
    return this.decoder
  }

  // Decode again with the camera that is still open (after pause()); false when it is not open.
  resume () {
    if (!this.warm) return false
    if (!this.running) {
      this.running = true
      this.last.seenAt = performance.now() // as if still in view: nothing was watched while paused
      this.loop()
    }
    return true
  }

  // Stop decoding, keep the camera open (and the torch as it is).
  pause () {
    this.running = false
  }

  // Start (or restart with another camera); resolves false when no camera can be used.
  async start (deviceId = null) {
    this.stop()
    const video = deviceId ? { deviceId: { exact: deviceId } } : { facingMode: { ideal: 'environment' } }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { ...video, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
    } catch {
      return false
    }
    this.video.srcObject = this.stream
    await this.video.play().catch(() => {})
    await this.decoderReady()
    this.running = true
    this.torchOn = false
    this.loop()
    return true
  }

  stop () {
    this.running = false
    this.stream?.getTracks().forEach((track) => track.stop())
    this.stream = null
    this.video.srcObject = null
  }

  async loop () {
    while (this.running) {
      const started = performance.now()
      let text = null
      if (this.video.readyState >= 2) text = await this.decoder.detect(this.video).catch(() => null)
      if (!this.running) return
      const now = performance.now()
      const held = this.last.text !== null && now - this.last.seenAt < OUT_OF_VIEW_MS
      if (text && held && text === this.last.text) {
        this.last.seenAt = now
        this.onSameCard(true)
        text = null
      } else if (this.last.held && !held) {
        this.onSameCard(false) // out of view long enough: showing it again reads it
      }
      this.last.held = held
      if (text) {
        this.last = { text, seenAt: now, held: true }
        this.running = false
        navigator.vibrate?.(80)
        this.onText(text)
        return
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, FRAME_INTERVAL_MS - (performance.now() - started))))
    }
  }

  get track () {
    return this.stream?.getVideoTracks()[0] ?? null
  }

  hasTorch () {
    return Boolean(this.track?.getCapabilities?.().torch)
  }

  async toggleTorch () {
    if (!this.hasTorch()) return null
    this.torchOn = !this.torchOn
    await this.track.applyConstraints({ advanced: [{ torch: this.torchOn }] }).catch(() => { this.torchOn = false })
    return this.torchOn
  }

  async switchCamera () {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => [])
    this.cameras = devices.filter((device) => device.kind === 'videoinput')
    if (this.cameras.length < 2) return false
    const currentId = this.track?.getSettings?.().deviceId
    const index = this.cameras.findIndex((device) => device.deviceId === currentId)
    this.cameraIndex = (index + 1) % this.cameras.length
    return this.start(this.cameras[this.cameraIndex].deviceId)
  }
}
