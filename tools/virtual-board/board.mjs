// A virtual MicroPython board with WebREPL, for tests and for trying the page without hardware.
//
// The board side of WebREPL as docs/board-behaviour.md describes it and tests/fixtures/captures
// recorded it: `Password: `, the 9-character password check, one session at a time (a second
// client gets the handshake and a bare TCP close; the first one is told), text frames to the REPL
// of a real MicroPython (mp-worker.mjs), put/get/version on its filesystem (a get of a missing
// file drops the session), pings ignored, an empty close frame answered and the link closed,
// Ctrl-D soft reset dropping the session and refusing connections until the board is back.
// The socket behaves as a board's does (wire.mjs): each frame two writes, Nagle on, so a client
// with delayed ACKs sees the same stalls as on hardware; `instant: true` turns that off.
// A plain HTTP GET gets the board's page that loads `webrepl_content.js` from `base`.
// Faults for tests: a small input buffer that loses what comes too fast (as an ESP8266 does), a
// slow link, output that splits UTF-8 characters across text frames, a link dropped mid-transfer.
import { listen, TEXT } from './wire.mjs';
import { Worker } from 'node:worker_threads';

const PROMPT = Buffer.from('Password: ');
const CONNECTED = Buffer.from('\r\nWebREPL connected\r\n>>> ');
const DENIED = Buffer.from('\r\nAccess denied\r\n');
const VERSION = Buffer.from([1, 27, 0]);
const WB = Buffer.from([0x57, 0x42, 0, 0]);
const CRLF = Buffer.from('\r\n');

export async function startBoard(opts = {}) {
  const o = {
    host: '127.0.0.1', port: 0, password: 'secret123', inputBuffer: Infinity, consumeBytesPerMs: 16,
    slowMs: 0, dropAfterBytes: null, invalidUtf8: false, resetDelayMs: 250, log: false, watchdogMs: 3000,
    instant: false, base: 'https://micropython.org/webrepl/', ...opts,
  };
  const stats = { sessions: 0, logins: 0, deniedLogins: 0, closeFrames: [], droppedInputBytes: 0, maxPendingInput: 0, pings: 0, emptyFrames: 0, gets: 0, puts: 0, outputBytes: 0, hardResets: 0 };
  const log = (...a) => o.log && console.error('[board]', ...a);

  // ----- the CPU (MicroPython in a worker) -----
  // [0]: the Ctrl-C flag; [1]: output bytes the worker has handed over and the socket has not
  // yet taken (the worker waits above a limit: a board's print blocks while its socket is full).
  const interrupt = new SharedArrayBuffer(8);
  const flag = new Int32Array(interrupt);
  /** Output of `n` bytes has left for the network (or had nowhere to go): the worker may go on. */
  const outputTaken = (n) => { Atomics.sub(flag, 1, n); Atomics.notify(flag, 1); };
  let worker;
  let busy = false;
  let requests = new Map();
  let nextId = 1;
  let onOutput = () => {};
  let onSoftReset = () => {};
  let inputQueue = [];
  // What a freshly set-up board holds (webrepl_setup writes these two).
  const seedFiles = () => (o.files ?? [
    ['/boot.py', Buffer.from('# This file is executed on every boot (including wake-boot from deepsleep)\nimport webrepl\nwebrepl.start()\n')],
    ['/webrepl_cfg.py', Buffer.from(`PASS = ${JSON.stringify(o.password)}\n`)],
  ]);
  const startWorker = (files) => new Promise((resolve) => {
    Atomics.store(flag, 1, 0);
    worker = new Worker(new URL('./mp-worker.mjs', import.meta.url), { workerData: { interrupt, files } });
    busy = false;
    worker.on('message', (m) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'output') {
        const b = Buffer.from(m.data);
        stats.outputBytes += b.length;
        stats.lastOutputAt = performance.now();
        const sock = onOutput(b);
        if (sock && !sock.destroyed && sock.writableLength > 0) {
          // Taken once the system has it all (a board's send blocks while its buffer is full).
          if (!sock.heldOutput) {
            sock.heldOutput = 0;
            const done = () => { const n = sock.heldOutput; sock.heldOutput = 0; if (n) outputTaken(n); };
            sock.on('drain', done);
            sock.on('close', done);
          }
          sock.heldOutput += b.length;
        } else outputTaken(b.length);
      }
      else if (m.type === 'idle') { busy = false; pumpInput(); }
      else if (m.type === 'soft-reset') onSoftReset();
      else if (m.type === 'rebooted') { busy = false; pumpInput(); }
      else if (m.type === 'reply') { requests.get(m.id)?.(m.data); requests.delete(m.id); }
    });
    worker.on('error', (e) => log('worker error', e));
  });
  await startWorker(seedFiles());
  const ask = (msg) => new Promise((resolve) => {
    const id = nextId++;
    requests.set(id, resolve);
    worker.postMessage({ ...msg, id });
  });
  function pumpInput() {
    if (busy || inputQueue.length === 0) return;
    busy = true;
    const data = Buffer.concat(inputQueue);
    inputQueue = [];
    worker.postMessage({ type: 'input', data });
  }
  function feedRepl(bytes) {
    if (bytes.includes(3)) {
      Atomics.store(flag, 0, 1);
      armWatchdog();
    }
    inputQueue.push(Buffer.from(bytes));
    pumpInput();
  }
  // A program that never prints cannot see the flag: after watchdogMs the board is reset hard
  // (the interpreter restarts; files written so far are lost, as on a board without flash).
  let watchdog = null;
  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(async () => {
      if (Atomics.load(flag, 0) !== 1 || !busy) return;
      log('watchdog: hard reset');
      stats.hardResets++;
      await worker.terminate();
      requests.forEach((r) => r(null));
      requests = new Map();
      inputQueue = [];
      Atomics.store(flag, 0, 0);
      await startWorker(seedFiles());
      onOutput(Buffer.from('\r\nKeyboardInterrupt (the program ignored Ctrl-C; the virtual board was reset)\r\n>>> '));
    }, o.watchdogMs);
  }

  // ----- the network side -----
  let session = null;
  let accepting = true;
  const onSession = (conn) => {
    if (!accepting) { conn.drop(); return; }
    if (session) {
      // The board completes the handshake, prints its notice on the first session's terminal
      // (print's pieces, each its own frame) and drops the newcomer without a close frame.
      for (const piece of ['\r\nConcurrent WebREPL connection from', ' ', conn.peer, ' ', 'rejected', '\r\n']) session.sendText(Buffer.from(piece));
      conn.drop();
      return;
    }
    stats.sessions++;
    session = new Session(conn);
  };
  let server = await listen({ host: o.host, port: o.port, instant: o.instant, base: o.base, onSession });
  const port = server.address().port;
  // While a board reboots nothing listens: connections are refused, as on hardware.
  const stopListening = () => new Promise((r) => server.close(() => r()));
  const listenAgain = async () => { server = await listen({ host: o.host, port, instant: o.instant, base: o.base, onSession }); };

  class Session {
    constructor(conn) {
      this.conn = conn;
      this.state = 'password';
      this.typed = Buffer.alloc(0);
      this.bin = Buffer.alloc(0);
      this.xfer = null;
      this.moved = 0;
      this.pending = [];
      this.pendingLen = 0;
      this.lastCr = false;
      this.outQueue = Promise.resolve();
      this.closed = false;
      this.drain = null;
      conn.onData = (data, type) => this.onMessage(data, type);
      conn.onPing = () => { stats.pings++; };
      conn.onEmpty = () => { stats.emptyFrames++; };
      conn.onCloseFrame = (p) => stats.closeFrames.push({ code: p.length >= 2 ? p.readUInt16BE(0) : null, reason: p.subarray(2).toString() });
      conn.onClose = () => this.end();
      onOutput = (b) => { this.output(b); return conn.sock; };
      onSoftReset = () => this.softReset();
      this.sendText(PROMPT);
    }

    end() {
      if (this.closed) return;
      this.closed = true;
      clearInterval(this.drain);
      if (session === this) session = null;
      onOutput = () => {};
    }

    drop() {
      this.conn.drop();
      this.end();
    }

    send(buf, binary) {
      if (this.closed) return;
      const go = () => { if (!this.closed) this.conn.send(buf, binary); };
      if (o.slowMs > 0) this.outQueue = this.outQueue.then(() => new Promise((r) => setTimeout(() => { go(); r(); }, o.slowMs)));
      else go();
    }

    sendText(buf) {
      if (o.invalidUtf8) {
        // Cut after every byte of a multi-byte character: frames that are not whole UTF-8.
        let start = 0;
        for (let i = 0; i < buf.length; i++) {
          if (buf[i] >= 0x80) { this.send(buf.subarray(start, i + 1), false); start = i + 1; }
        }
        if (start < buf.length) this.send(buf.subarray(start), false);
      } else {
        this.send(buf, false);
      }
    }

    /** REPL output: \n → \r\n, then a frame per line (print writes the line and \r\n apart). */
    output(bytes) {
      if (this.state !== 'repl') return;
      let start = 0;
      for (;;) {
        const nl = bytes.indexOf(0x0a, start);
        if (nl < 0) {
          if (start < bytes.length) {
            this.sendText(bytes.subarray(start));
            this.lastCr = bytes[bytes.length - 1] === 0x0d;
          }
          return;
        }
        if (nl > 0 && bytes[nl - 1] === 0x0d) {
          // Already \r\n: the line without its \r, then the pair.
          if (nl - 1 > start) this.sendText(bytes.subarray(start, nl - 1));
          this.sendText(CRLF);
        } else if (nl === 0 && this.lastCr) {
          this.sendText(bytes.subarray(0, 1)); // the \r went out with the previous chunk
        } else {
          if (nl > start) this.sendText(bytes.subarray(start, nl));
          this.sendText(CRLF);
        }
        this.lastCr = false;
        start = nl + 1;
      }
    }

    /** Bytes of a frame of `type`: text goes to the REPL, every other type to file transfer. */
    onMessage(data, type) {
      if (this.state === 'password') {
        // Every byte counts as password input, whatever the frame; after the Enter, the rest of
        // the frame goes on by its type (a `\n` after the password reaches the REPL).
        const used = this.onPassword(data);
        if (used >= data.length || this.state !== 'repl') return;
        data = data.subarray(used);
      }
      if (this.state !== 'repl') return;
      if (type !== TEXT) return this.onBinary(data);
      if (o.inputBuffer === Infinity) return feedRepl(data);
      // A board keeps inputBuffer bytes of pending input; the rest is lost.
      const room = o.inputBuffer - this.pendingLen;
      const keep = data.subarray(0, Math.max(0, room));
      stats.droppedInputBytes += data.length - keep.length;
      if (keep.length) { this.pending.push(keep); this.pendingLen += keep.length; }
      stats.maxPendingInput = Math.max(stats.maxPendingInput, this.pendingLen);
      if (!this.drain) {
        let last = Date.now();
        this.drain = setInterval(() => {
          const now = Date.now();
          let n = Math.max(1, Math.floor((now - last) * o.consumeBytesPerMs));
          last = now;
          const out = [];
          while (n > 0 && this.pending.length) {
            const head = this.pending[0];
            const take = head.subarray(0, n);
            out.push(take);
            n -= take.length;
            this.pendingLen -= take.length;
            if (take.length === head.length) this.pending.shift(); else this.pending[0] = head.subarray(take.length);
          }
          if (out.length) feedRepl(Buffer.concat(out));
        }, 1);
      }
    }

    /** Takes password bytes up to the Enter; returns how many bytes it used. */
    onPassword(data) {
      for (let i = 0; i < data.length; i++) {
        const b = data[i];
        if (b === 0x0d || b === 0x0a) {
          const entered = this.typed.toString('latin1');
          if (entered.length <= 9 && entered === o.password) {
            stats.logins++;
            this.state = 'repl';
            this.sendText(CONNECTED);
          } else {
            stats.deniedLogins++;
            this.state = 'denied';
            this.sendText(DENIED);
            setTimeout(() => this.drop(), 5);
          }
          return i + 1;
        }
        if (this.typed.length < 10) this.typed = Buffer.concat([this.typed, Buffer.from([b])]);
      }
      return data.length;
    }

    softReset() {
      this.sendText(Buffer.from('\r\nMPY: soft reboot\r\n'));
      accepting = false;
      setTimeout(() => this.drop(), 2);
      stopListening().then(() => setTimeout(() => { listenAgain().then(() => { accepting = true; }, (e) => log('listen again', e)); }, o.resetDelayMs));
    }

    countMoved(n) {
      this.moved += n;
      if (o.dropAfterBytes != null && this.moved >= o.dropAfterBytes) { log('fault: dropping the link'); this.drop(); return true; }
      return false;
    }

    onBinary(data) {
      if (this.state !== 'repl') return;
      this.bin = Buffer.concat([this.bin, data]);
      this.pumpBinary();
    }

    async pumpBinary() {
      if (this.busyBin) return;
      this.busyBin = true;
      try {
        while (!this.closed) {
          const x = this.xfer;
          if (!x) {
            if (this.bin.length < 82) break;
            const h = this.bin.subarray(0, 82);
            this.bin = this.bin.subarray(82);
            // A board never checks the `WA` signature: the op byte alone decides.
            const op = h[2];
            const size = h.readUInt32LE(12);
            const nameField = h.subarray(18, 82);
            const end = nameField.indexOf(0);
            const name = nameField.subarray(0, end < 0 ? 63 : Math.min(end, 63)).toString('utf8');
            if (op === 3) { this.send(VERSION, true); continue; }
            if (op === 1) {
              stats.puts++;
              this.xfer = { op, name, size, parts: [], got: 0 };
              // A board opens the file for writing at once: the old content is gone from here on.
              if (size > 0) await ask({ type: 'write', path: name, data: new Uint8Array(0) });
              this.send(WB, true);
              if (size === 0) { await ask({ type: 'write', path: name, data: new Uint8Array(0) }); this.xfer = null; this.send(WB, true); }
              continue;
            }
            // A get, and any op but 1 and 3: a board opens the named file for reading. A name it
            // cannot open ends the session (the exception stops WebREPL's terminal).
            if (op === 2) stats.gets++;
            const file = await ask({ type: 'read', path: name });
            if (file == null) { log(`op ${op} ${name}: cannot open, dropping the session`); this.drop(); return; }
            if (op === 2) {
              this.xfer = { op, name, data: Buffer.from(file), off: 0 };
            } else {
              // An unknown op on a file that opens: `WB 00 00`, and from then on no binary byte
              // means anything to the board (it waits for data no op asked for) until the next
              // session. The REPL still works.
              log(`op ${op} ${name}: unknown op, binary input ignored from now on`);
              this.xfer = { op, stuck: true };
            }
            this.send(WB, true);
            continue;
          }
          if (x.stuck) { this.bin = Buffer.alloc(0); break; }
          if (x.op === 1) {
            if (this.bin.length === 0) break;
            const take = this.bin.subarray(0, x.size - x.got);
            this.bin = this.bin.subarray(take.length);
            x.parts.push(take);
            x.got += take.length;
            if (o.dropAfterBytes != null && this.moved + take.length >= o.dropAfterBytes) {
              // The link dies mid-file: what arrived so far is what a board has written.
              await ask({ type: 'write', path: x.name, data: Buffer.concat(x.parts) });
            }
            if (this.countMoved(take.length)) return;
            if (x.got === x.size) {
              await ask({ type: 'write', path: x.name, data: Buffer.concat(x.parts) });
              this.xfer = null;
              this.send(WB, true);
            }
            continue;
          }
          // get: one chunk per binary byte (any byte; acks that come early wait their turn). After
          // the empty chunk and `WB 00 00`, the bytes that follow are the next header's.
          if (this.bin.length === 0) break;
          this.bin = this.bin.subarray(1);
          const chunk = x.data.subarray(x.off, x.off + 256);
          x.off += chunk.length;
          const frame = Buffer.alloc(2 + chunk.length);
          frame.writeUInt16LE(chunk.length, 0);
          chunk.copy(frame, 2);
          this.send(frame, true);
          if (this.countMoved(chunk.length)) return;
          if (chunk.length === 0) { this.xfer = null; this.send(WB, true); }
        }
      } finally {
        this.busyBin = false;
      }
    }
  }

  log(`listening on ws://${o.host}:${port}/`);
  return {
    port,
    url: `ws://${o.host}:${port}/`,
    password: o.password,
    stats,
    readFile: async (p) => { const d = await ask({ type: 'read', path: p }); return d == null ? null : Buffer.from(d); },
    /** Writes a file, making the folders above it (a test's setup; a put makes none). */
    writeFile: (p, data) => ask({ type: 'write', path: p, mkdirs: true, data: typeof data === 'string' ? Buffer.from(data) : data }),
    /** Sends `text` as board output, framed as prints are (for benchmarks: no interpreter). */
    emit(text) { session?.output(Buffer.from(text)); },
    exists: async (p) => (await ask({ type: 'read', path: p })) != null,
    remove: (p) => ask({ type: 'remove', path: p }),
    async close() {
      clearTimeout(watchdog);
      session?.drop();
      if (server.listening) await stopListening();
      await worker.terminate();
    },
  };
}

// ----- command line -----
const isMain = process.argv[1] && new URL(import.meta.url).pathname === (await import('node:fs')).realpathSync(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const opts = {};
  const num = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) { console.error(`virtual board: ${flag} needs a whole number, not "${v ?? ''}"`); process.exit(2); }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--host') opts.host = args[++i];
    else if (a === '--port') opts.port = num(a, args[++i]);
    else if (a === '--password') opts.password = args[++i];
    else if (a === '--input-buffer') opts.inputBuffer = num(a, args[++i]);
    else if (a === '--slow-ms') opts.slowMs = num(a, args[++i]);
    else if (a === '--drop-after-bytes') opts.dropAfterBytes = num(a, args[++i]);
    else if (a === '--invalid-utf8') opts.invalidUtf8 = true;
    else if (a === '--instant') opts.instant = true;
    else if (a === '--base') opts.base = args[++i];
    else if (a === '--log') opts.log = true;
    else if (a === '--serial') opts.serial = args[++i];
    else if (a === '--baud') opts.baud = num(a, args[++i]);
    else if (a === '--input-flow') opts.inputFlow = args[++i];
    else {
      console.error(`virtual board: unknown option ${a}\nusage: node tools/virtual-board/board.mjs [--host H] [--port 8266] [--password P] [--input-buffer N] [--slow-ms N] [--drop-after-bytes N] [--invalid-utf8] [--instant] [--base URL] [--log] [--serial PATH [--baud 115200|0] [--input-buffer 256] [--input-flow uart|usb]]\n  --serial: a USB serial board instead (serial.mjs): the REPL on a pseudo-terminal at PATH (socat), --baud 0 unthrottled; --input-flow uart (default: input that overflows is lost) or usb (native USB: held back)\n  --instant: one write per frame and Nagle off (not how boards write; for speed tests of other things)\n  --base: where the page a plain GET returns loads webrepl_content.js from`);
      process.exit(2);
    }
  }
  if (opts.password !== undefined && (opts.password.length < 1 || opts.password.length > 9)) {
    console.error('virtual board: --password must be 1 to 9 characters (as on a board)');
    process.exit(2);
  }
  if (opts.serial !== undefined) {
    const { startSerialBoard } = await import('./serial.mjs');
    let board;
    try {
      board = await startSerialBoard({ link: opts.serial, baud: opts.baud ?? 115200, inputBuffer: opts.inputBuffer ?? 256, inputFlow: opts.inputFlow ?? 'uart', log: opts.log });
    } catch (e) {
      console.error(e.message);
      process.exit(2);
    }
    console.log(`virtual board: serial ${board.path} at ${opts.baud ?? 115200} baud, ${opts.inputBuffer ?? 256}-byte input buffer, ${opts.inputFlow ?? 'uart'} input flow`);
    // On SIGTERM its counters, as one line (tests read how the input was held or lost).
    const stop = async () => { console.log(`virtual board: stats ${JSON.stringify(board.stats)}`); await board.close(); process.exit(0); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } else {
  const board = await startBoard({ port: 8266, ...opts });
  console.log(`virtual board: ${board.url} password ${board.password}`);
  const stop = async () => { await board.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  }
}
