// The camera path, loaded only when a phone user opens the camera: the BarcodeDetector polyfill
// (zxing-wasm, ~1 MB of WebAssembly) must not slow down the first load on a rugged scanner that
// never uses it. The .wasm is served by udipick itself (no CDN: warehouses are often offline).
import { BarcodeDetector, prepareZXingModule } from "barcode-detector/ponyfill";
import wasmUrl from "zxing-wasm/reader/zxing_reader.wasm?url";

prepareZXingModule({
  overrides: {
    locateFile: (path: string, prefix: string) => (path.endsWith(".wasm") ? wasmUrl : prefix + path),
  },
});

const FORMATS = ["data_matrix", "qr_code", "code_128", "ean_13", "ean_8", "upc_a", "itf", "code_39"] as const;

/** GS1 symbols: the decoder gives FNC1-separated element strings with GS between fields; keep them raw. */
export async function startCamera(video: HTMLVideoElement, onRead: (raw: string) => void): Promise<() => void> {
  const native = (window as unknown as { BarcodeDetector?: typeof BarcodeDetector }).BarcodeDetector;
  const Detector = native ?? BarcodeDetector;
  const detector = new Detector({ formats: [...FORMATS] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  video.srcObject = stream;
  await video.play();
  let running = true;
  const tick = async () => {
    if (!running) return;
    try {
      const found = await detector.detect(video);
      if (found.length && running) {
        running = false;
        onRead(found[0].rawValue);
        return;
      }
    } catch {
      /* a frame that cannot be decoded: try the next one */
    }
    window.setTimeout(tick, 150);
  };
  void tick();
  return () => {
    running = false;
    for (const track of stream.getTracks()) track.stop();
  };
}
