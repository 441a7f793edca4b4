// Decodes QR codes from camera frames off the main thread with the vendored zxing-wasm
// (reader build, self-hosted .wasm; no CDN). Used where the browser has no BarcodeDetector.
import { prepareZXingModule, readBarcodes } from '../vendor/zxing-wasm-3.1.4/dist/es/reader/index.js'

const WASM_DIR = '/ems/vendor/zxing-wasm-3.1.4/dist/reader/'
const OPTIONS = { formats: ['QRCode'], tryHarder: true, maxNumberOfSymbols: 1 }

// Never the package's default CDN location: the decoder must work offline, from our own origin.
const ready = prepareZXingModule({
  overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? WASM_DIR + path : prefix + path) },
  fireImmediately: true
})

self.onmessage = async (event) => {
  const { id, width, height, buffer } = event.data
  try {
    await ready
    const results = await readBarcodes(new ImageData(new Uint8ClampedArray(buffer), width, height), OPTIONS)
    const found = results.find((result) => result.isValid && result.text)
    self.postMessage({ id, text: found ? found.text : null })
  } catch (error) {
    self.postMessage({ id, text: null, error: String(error) })
  }
}
