// A stand-in for the browser's Web Serial API (navigator.serial), injected by tests before the
// page loads (playwright addInitScript) in place of the real one, which has no board behind it
// in a test machine. It keeps the real API's shape and rules:
// - navigator.serial.requestPort({filters}) needs a user gesture (SecurityError otherwise),
//   validates filters (TypeError), rejects with NotFoundError when the user cancels (the test
//   says so) or no port matches, and grants the port (the grant persists for the origin, as
//   Chrome's does: kept in localStorage here).
// - navigator.serial.getPorts() lists the granted ports that are plugged in.
// - port.open({baudRate, bufferSize}) (TypeError without a positive baudRate or with a bufferSize
//   of 0 or over 16 MiB, InvalidStateError when
//   already open, NetworkError when it cannot be opened), then port.readable / port.writable
//   are a real ReadableStream / WritableStream of Uint8Array, each read at most bufferSize bytes
//   (default 255, as Chrome's); port.close() rejects with a
//   TypeError while either stream is locked; port.getInfo() gives the USB ids.
// - Unplugging errors the streams with a NetworkError ("The device has been lost."), sets
//   readable/writable to null and fires `disconnect` (on the port and on navigator.serial);
//   plugging back in fires `connect`.
// The bytes are real: each open port is a WebSocket to the test's bridge
// (tests/e2e/serial/bridge.mjs), which carries them to the virtual board's serial port (a pty).
// The test drives it through window.__fakeSerial: unplug(), replug(), cancelNext, opens.
(() => {
  const cfg = window.__fakeSerialConfig || {};
  if (cfg.absent) {
    // A browser without Web Serial (Firefox, Safari, Chrome on Android).
    delete Navigator.prototype.serial;
    return;
  }
  const info = cfg.info || { usbVendorId: 0x2e8a, usbProductId: 0x0005 };
  const grantKey = `__fakeSerialGranted:${info.usbVendorId}:${info.usbProductId}`;
  const lost = () => new DOMException('The device has been lost.', 'NetworkError');

  function fire(target, type, port) {
    const e = new Event(type, { bubbles: true });
    Object.defineProperty(e, 'target', { value: port });
    target.dispatchEvent(e);
  }

  class SerialPort extends EventTarget {
    #ws = null;
    #readable = null;
    #writable = null;
    #readCtl = null;
    #writeErr = null;
    #opening = false;
    get readable() { return this.#readable; }
    get writable() { return this.#writable; }
    get connected() { return control.present; }
    getInfo() { return { ...info }; }

    async open(options) {
      const baudRate = options?.baudRate;
      if (!Number.isInteger(baudRate) || baudRate <= 0) {
        throw new TypeError("Failed to execute 'open' on 'SerialPort': Requested baud rate must be greater than zero.");
      }
      // Chrome: the read and write buffers are `bufferSize` bytes (255 unless asked), at most 16 MiB;
      // a read gives at most that many bytes.
      const bufferSize = options.bufferSize ?? 255;
      if (!Number.isInteger(bufferSize) || bufferSize <= 0) {
        throw new TypeError("Failed to execute 'open' on 'SerialPort': Requested buffer size must be greater than zero.");
      }
      if (bufferSize > 16 * 1024 * 1024) {
        throw new TypeError(`Failed to execute 'open' on 'SerialPort': Requested buffer size (${bufferSize} bytes) is greater than the maximum allowed (16777216 bytes).`);
      }
      if (this.#ws || this.#opening) throw new DOMException('The port is already open.', 'InvalidStateError');
      if (!control.present) throw new DOMException('Failed to open serial port.', 'NetworkError');
      this.#opening = true;
      const ws = new WebSocket(`${cfg.bridge}?baud=${baudRate}`);
      ws.binaryType = 'arraybuffer';
      try {
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onclose = () => reject(new DOMException('Failed to open serial port.', 'NetworkError'));
        });
      } finally {
        this.#opening = false;
      }
      control.opens++;
      control.lastOpen = { baudRate, bufferSize };
      this.#ws = ws;
      this.#readable = new ReadableStream({
        start: (c) => { this.#readCtl = c; },
        cancel: () => {},
      });
      const waitDrained = async () => {
        while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > 64 * 1024) {
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      this.#writable = new WritableStream({
        write: async (chunk) => {
          if (this.#writeErr) throw this.#writeErr;
          if (!ArrayBuffer.isView(chunk) && !(chunk instanceof ArrayBuffer)) {
            throw new TypeError('The provided value is not of type \'(ArrayBuffer or ArrayBufferView)\'.');
          }
          const bytes = ArrayBuffer.isView(chunk)
            ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice()
            : new Uint8Array(chunk).slice();
          ws.send(bytes);
          await waitDrained();
        },
        close: () => waitDrained(),
      });
      ws.onmessage = (e) => {
        const all = new Uint8Array(e.data);
        try {
          for (let at = 0; at < all.length; at += bufferSize) this.#readCtl?.enqueue(all.subarray(at, at + bufferSize));
        } catch { /* stream closed */ }
      };
      ws.onclose = () => { if (this.#ws === ws) this.lose(); };
    }

    async close() {
      if (this.#readable?.locked || this.#writable?.locked) {
        throw new TypeError("Failed to execute 'close' on 'SerialPort': Cannot cancel a locked stream");
      }
      if (!this.#ws && !this.#readable && !this.#writable) {
        if (!this.#writeErr) throw new DOMException('The port is already closed.', 'InvalidStateError');
      }
      await this.#readable?.cancel().catch(() => {});
      await this.#writable?.close().catch(() => {});
      const ws = this.#ws;
      this.#ws = null;
      this.#readable = this.#writable = this.#readCtl = null;
      this.#writeErr = null;
      ws?.close();
    }

    /** The device went away (the test unplugged it, or the bridge dropped it). */
    lose() {
      const ws = this.#ws;
      this.#ws = null;
      if (this.#readCtl) { try { this.#readCtl.error(lost()); } catch { /* done */ } }
      this.#writeErr = lost();
      this.#readable = this.#writable = this.#readCtl = null;
      ws?.close();
    }
  }

  const port = new SerialPort();
  const granted = () => { try { return localStorage.getItem(grantKey) === '1'; } catch { return false; } };

  class Serial extends EventTarget {
    async requestPort(options = {}) {
      if (!navigator.userActivation.isActive) {
        throw new DOMException('Must be handling a user gesture to show a permission request.', 'SecurityError');
      }
      const filters = options.filters || [];
      for (const f of filters) {
        if (f.usbProductId !== undefined && f.usbVendorId === undefined) {
          throw new TypeError("Failed to execute 'requestPort' on 'Serial': A filter containing a usbProductId must also specify a usbVendorId.");
        }
      }
      control.requests++;
      const matches = filters.length === 0 || filters.some((f) =>
        (f.usbVendorId === undefined || f.usbVendorId === info.usbVendorId) &&
        (f.usbProductId === undefined || f.usbProductId === info.usbProductId));
      if (control.cancelNext || !control.present || !matches) {
        control.cancelNext = false;
        throw new DOMException('No port selected by the user.', 'NotFoundError');
      }
      try { localStorage.setItem(grantKey, '1'); } catch { /* no storage */ }
      return port;
    }

    async getPorts() {
      return granted() && control.present ? [port] : [];
    }
  }
  const serial = new Serial();

  const control = {
    present: true,
    cancelNext: false,
    opens: 0,
    requests: 0,
    unplug() {
      if (!control.present) return;
      control.present = false;
      port.lose();
      fire(port, 'disconnect', port);
      fire(serial, 'disconnect', port);
    },
    replug() {
      if (control.present) return;
      control.present = true;
      if (granted()) {
        fire(port, 'connect', port);
        fire(serial, 'connect', port);
      }
    },
  };
  if (cfg.granted) { try { localStorage.setItem(grantKey, '1'); } catch { /* no storage */ } }
  Object.defineProperty(Navigator.prototype, 'serial', { configurable: true, enumerable: true, get: () => serial });
  window.__fakeSerial = control;
})();
