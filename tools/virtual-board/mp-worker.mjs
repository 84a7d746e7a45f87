// The virtual board's CPU: real MicroPython 1.27 (WebAssembly) in a worker thread, so a
// running program never blocks the board's network side. Owns the interpreter and its
// filesystem; the main thread (board.mjs) sends it terminal input and file requests.
//
// Ctrl-C: the main thread sets a shared flag; the stdout callback, which a running program
// calls whenever it prints, turns it into a KeyboardInterrupt (mp_sched_keyboard_interrupt) —
// only while code runs, as on a board.
//
// Output: stdout is taken in whole writes (not the package's byte-per-call callback), handed to
// the network side at most at a board's speed, and the worker waits while the socket holds
// more than OUTPUT_LIMIT unsent bytes, as a board's print blocks on a full socket.
//
// Newlines: this MicroPython (1.27) takes only `\r` as Enter at the friendly prompt; since 1.28
// boards take `\r` or `\n` (a `\n` right after a `\r`, or a `\r` right after a `\n`, is the
// same Enter and ignored). A client that ends lines with `\n` works on a board, so the worker
// gives the interpreter what a 1.28+ line editor would have seen: at the friendly prompt only
// (paste mode and the raw REPL take bytes as they are).
//
// Raw-paste mode (`05 A 01` in the raw REPL): this port's pyexec would read the script from
// mp_hal_stdin_rx_chr, which here always returns 0, so the worker plays the board's part as
// shared/runtime/pyexec.c does it — `R 01`, the window (half the input buffer, 16-bit LE) and
// `01`, then an `01` per window of script bytes consumed (sent at once), `04` at the end — and
// runs the script through the raw REPL with its `OK` left out (what follows, output `04` error
// `04` `>`, is the interpreter's own). Bytes go into the raw REPL's line as they arrive, as a
// board's lexer reads them, so the work overlaps the transfer; a script with bytes 01/02 (which
// the raw REPL line would take as keys) runs as exec() of its bytes at the end. Ctrl-C in the
// script ends it with a KeyboardInterrupt.
import { parentPort, workerData } from 'node:worker_threads';
import { loadMicroPython } from '@micropython/micropython-webassembly-pyscript';

const flag = new Int32Array(workerData.interrupt); // 0 idle, 1 requested, 2 delivered
const FLUSH_BYTES = 16 * 1024;
const OUTPUT_LIMIT = 64 * 1024;
const BOARD_BYTES_PER_MS = 6 * 1024;
let paceAt = 0;
let mp;
/** One byte into the REPL: the export itself (the package's replProcessChar goes through
 * Module.ccall, which costs 4× as much per byte: a raw-paste script arrives a byte at a time). */
let key = null; // set by boot()
// Output collects here, flushed to the board's socket side every 16 KB or 10 ms.
let out = new Uint8Array(FLUSH_BYTES * 2);
let outLen = 0;
let calls = 0;
let lastFlush = Date.now();
/** Which input mode the REPL is in: 'friendly' (line editor), 'paste' or 'raw'. */
let mode = 'friendly';
let lastNl = 0;
/** Output of the keystroke being processed, kept only for Ctrl-A and Ctrl-E (see noteMode). */
let captured = null;
/** Raw-REPL line so far (only its first bytes matter: `05 A` before Ctrl-A asks for raw-paste). */
let rawHead = [];
/** A raw-paste script being received: { bytes: [], remain } or null. */
let paste = null;
const windowSize = Math.max(1, Math.floor((workerData.inputBuffer ?? 256) / 2));
/** Output bytes still to drop: the `OK` of a raw-paste script run through the raw REPL. */
let dropOk = 0;
/** While the interpreter starts without its banner being wanted. */
let mute = false;

// The WebAssembly port numbers OS errors as Emscripten does and prints them bare
// (`OSError: 44`); a board prints `OSError: [Errno 2] ENOENT`. Traceback lines are rewritten
// to the board's form so clients see what hardware shows them.
const ERRNO = { 44: [2, 'ENOENT'], 20: [17, 'EEXIST'], 54: [20, 'ENOTDIR'], 31: [21, 'EISDIR'], 55: [39, 'ENOTEMPTY'], 2: [13, 'EACCES'], 51: [28, 'ENOSPC'], 28: [22, 'EINVAL'], 29: [5, 'EIO'], 10: [16, 'EBUSY'] };
function boardErrno(buf) {
  if (!buf.includes('OSError: ')) return buf;
  const text = buf.toString('latin1').replace(/OSError: (\d+)(\r?\n)/g, (m, n, eol) => {
    const e = ERRNO[n];
    return e ? `OSError: [Errno ${e[0]}] ${e[1]}${eol}` : m;
  });
  return Buffer.from(text, 'latin1');
}

function flush() {
  if (outLen === 0) return;
  const buf = boardErrno(Buffer.from(out.subarray(0, outLen)));
  outLen = 0;
  lastFlush = Date.now();
  Atomics.add(flag, 1, buf.length);
  parentPort.postMessage({ type: 'output', data: buf });
  // No faster than a board: an ESP32 prints 1 MB to a client in 0.17–0.2 s (measured).
  const now = performance.now();
  paceAt = Math.max(paceAt, now) + buf.length / BOARD_BYTES_PER_MS;
  // Like a board's print into a full socket: wait while the network side holds more than
  // OUTPUT_LIMIT (woken as it drains; a Ctrl-C is seen on the next write).
  for (;;) {
    const held = Atomics.load(flag, 1);
    const early = paceAt - performance.now();
    if (held <= OUTPUT_LIMIT && early <= 0) break;
    Atomics.wait(flag, 1, held, held > OUTPUT_LIMIT ? 100 : early);
  }
}

/** Entering paste mode or the raw REPL (on Ctrl-E or Ctrl-A) is announced by fixed strings. */
function noteMode(text) {
  if (text.includes('raw REPL; CTRL-B to exit')) mode = 'raw';
  else if (text.includes('paste mode; Ctrl-C to cancel')) mode = 'paste';
}

/** What a 1.28+ line editor does with byte `c`: null to drop it, else the byte to feed. */
function lineEditorByte(c) {
  if (mode !== 'friendly') {
    // Ctrl-C or Ctrl-D end paste mode; Ctrl-B leaves the raw REPL.
    if ((mode === 'paste' && (c === 3 || c === 4)) || (mode === 'raw' && c === 2)) mode = 'friendly';
    return c;
  }
  if (c === 13 || c === 10) {
    if (lastNl === 0 || lastNl === c) { lastNl = c; return 13; }
    lastNl = 0;
    return null;
  }
  if (c < 1 || c > 5) lastNl = 0;
  return c;
}

function stdout(bytes) {
  if (mute) return;
  if (dropOk > 0) {
    const n = Math.min(dropOk, bytes.length);
    dropOk -= n;
    bytes = bytes.subarray(n);
    if (bytes.length === 0) return;
  }
  if (outLen + bytes.length > out.length) {
    flush();
    if (bytes.length > out.length) out = new Uint8Array(bytes.length * 2);
  }
  out.set(bytes, outLen);
  outLen += bytes.length;
  if (captured !== null) captured += Buffer.from(bytes).toString('latin1');
  // Only while code runs: MicroPython sets the interrupt character around execution (at the
  // prompt a Ctrl-C is a keystroke, which the input loop hands to the REPL in its turn).
  if (Atomics.load(flag, 0) === 1 && mp._module._mp_hal_get_interrupt_char() === 3) {
    Atomics.store(flag, 0, 2);
    mp._module._mp_sched_keyboard_interrupt();
  }
  if (outLen >= FLUSH_BYTES || ((++calls & 15) === 0 && Date.now() - lastFlush > 10)) flush();
}

/** Removes Emscripten's own folders (/dev, /home, /proc, /tmp): a board's flash has none. */
function removeTree(p) {
  try {
    if (mp.FS.isDir(mp.FS.stat(p).mode)) {
      for (const name of mp.FS.readdir(p)) if (name !== '.' && name !== '..') removeTree(`${p}/${name}`);
      mp.FS.rmdir(p);
    } else mp.FS.unlink(p);
  } catch { /* busy or gone: leave it */ }
}

/** What removeTree cannot remove (/proc/self/fd is a synthetic node, /dev holds the open stdio
 * devices) is unlinked from the root directory instead: a listing of / shows only the board's
 * own files, and the open streams (stdout) go on working. */
function hideLeftovers() {
  const root = mp.FS.lookupPath('/').node;
  for (const name of ['home', 'tmp', 'proc', 'dev']) {
    const node = root.contents?.[name];
    if (!node) continue;
    mp.FS.hashRemoveNode(node);
    delete root.contents[name];
  }
}

/** Starts the interpreter; `banner` keeps what it prints (a serial board shows it after a soft reset). */
async function boot(files, banner = false) {
  mp = await loadMicroPython({ stdout, linebuffer: false });
  const exported = mp._module?._mp_js_repl_process_char;
  key = typeof exported === 'function' ? exported : (c) => mp.replProcessChar(c);
  // The package hands stdout over one byte per call (a Uint8Array each, through Emscripten's
  // TTY): 1 MB of prints cost 0.46 s that way. A board's UART or socket takes a whole buffer, so
  // the worker takes fd 1's writes whole (the same bytes, 0.07 s for 1 MB).
  const stream = mp.FS.getStream(1);
  if (stream && stream.stream_ops && typeof stream.stream_ops.write === 'function') {
    stream.stream_ops = {
      ...stream.stream_ops,
      write: (_s, buffer, offset, length) => {
        stdout(new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length));
        return length;
      },
    };
  }
  for (const d of ['/home', '/tmp', '/proc', '/dev']) removeTree(d);
  hideLeftovers();
  for (const [p, data] of files) {
    mkdirs(p);
    if (data === null) { try { mp.FS.mkdir(p); } catch { /* exists */ } } else mp.FS.writeFile(p, data);
  }
  mute = !banner;
  mp.replInit();
  mute = false;
  if (banner) flush();
  mode = 'friendly';
  rawHead = [];
  paste = null;
  lastNl = 0;
  out = new Uint8Array(FLUSH_BYTES * 2);
  outLen = 0;
}

function mkdirs(p) {
  const parts = p.split('/').filter(Boolean).slice(0, -1);
  let cur = '';
  for (const part of parts) {
    cur += `/${part}`;
    try { mp.FS.mkdir(cur); } catch { /* exists */ }
  }
}

/** Every folder (data null) and regular file under / (a soft reset keeps the filesystem, as flash would). */
function snapshot(dir = '/', acc = []) {
  for (const name of mp.FS.readdir(dir)) {
    if (name === '.' || name === '..') continue;
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    if (['/dev', '/proc', '/tmp', '/home'].includes(p)) continue;
    const st = mp.FS.stat(p);
    if (mp.FS.isDir(st.mode)) { acc.push([p, null]); snapshot(p, acc); }
    else if (mp.FS.isFile(st.mode)) acc.push([p, mp.FS.readFile(p)]);
  }
  return acc;
}

function emit(bytes) {
  const keep = dropOk;
  dropOk = 0;
  stdout(Uint8Array.from(bytes));
  dropOk = keep;
}

/** One byte of a raw-paste script; true when the script has ended (and was run). */
function pasteByte(c, more) {
  if (c === 4 || c === 3) {
    if (c === 3) Atomics.store(flag, 0, 0);
    emit([4]);
    const { bytes, direct } = paste;
    paste = null;
    if (c === 3) {
      if (direct) key(3); // drops what the raw REPL line holds
      emit([...Buffer.from('\x04Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\nKeyboardInterrupt: \r\n\x04>')]);
      return true;
    }
    dropOk = 2; // the raw REPL's `OK`
    if (!direct) {
      for (const b of Buffer.from(`exec(bytes.fromhex('${Buffer.from(bytes).toString('hex')}'))`)) key(b);
    }
    key(4);
    dropOk = 0;
    return true;
  }
  paste.bytes.push(c);
  // As a board's lexer takes each byte as it arrives, the script goes into the raw REPL's
  // line now; bytes 01/02 would be keys there, so such a script is run as exec() at the end.
  if (paste.direct && (c === 1 || c === 2)) {
    key(3);
    paste.direct = false;
  } else if (paste.direct) key(c);
  if (--paste.remain === 0) {
    emit([1]);
    // A board sends the `01` as soon as the window is read, not after the rest of the input.
    if (more) flush();
    paste.remain = windowSize;
  }
  return false;
}

parentPort.on('message', async (m) => {
  if (m.type === 'input') {
    for (let i = 0; i < m.data.length; i++) {
      const c = m.data[i];
      if (paste) {
        pasteByte(c, i + 1 < m.data.length);
        continue;
      }
      if (mode === 'raw') {
        if (c === 1 && rawHead.length === 2 && rawHead[0] === 5) {
          const cmd = rawHead[1];
          rawHead = [];
          key(3); // clears the raw line (prints nothing)
          if (cmd === 0x41) {
            emit([0x52, 1, windowSize & 255, windowSize >> 8, 1]);
            paste = { bytes: [], remain: windowSize, direct: true };
          } else {
            emit([0x52, 0, 0x3e]); // unsupported command, then the raw prompt
          }
          continue;
        }
        if (c >= 1 && c <= 4) rawHead = [];
        else if (rawHead.length < 3) rawHead.push(c);
      }
      if (c === 3 && Atomics.load(flag, 0) === 2) {
        // This Ctrl-C already stopped a running program; a board does not see it again.
        Atomics.store(flag, 0, 0);
        continue;
      }
      if (c === 3) Atomics.store(flag, 0, 0);
      const fed = lineEditorByte(c);
      if (fed === null) continue;
      if (mode === 'friendly' && (fed === 1 || fed === 5)) captured = '';
      const r = key(fed);
      if (captured !== null) { noteMode(captured); captured = null; }
      if (r === 256 || (r & 0x100)) {
        flush();
        parentPort.postMessage({ type: 'soft-reset' });
        const files = snapshot();
        const wasRaw = mode === 'raw';
        await boot(files, workerData.serial && !wasRaw);
        if (wasRaw && workerData.serial) {
          // A board soft-reset from the raw REPL comes back in the raw REPL (no banner).
          key(1);
          if (out[0] === 13 && out[1] === 10) { out.copyWithin(0, 2, outLen); outLen -= 2; }
          flush();
          mode = 'raw';
        }
        parentPort.postMessage({ type: 'rebooted' });
        return;
      }
    }
    // A delivered interrupt (2) stays until its Ctrl-C byte, queued behind, has been skipped.
    flush();
    parentPort.postMessage({ type: 'idle' });
  } else if (m.type === 'read') {
    let data = null;
    try { data = mp.FS.readFile(m.path); } catch { data = null; }
    parentPort.postMessage({ type: 'reply', id: m.id, data });
  } else if (m.type === 'write') {
    let ok = true;
    try { if (m.mkdirs) mkdirs(m.path); mp.FS.writeFile(m.path, m.data); } catch { ok = false; }
    parentPort.postMessage({ type: 'reply', id: m.id, data: ok });
  } else if (m.type === 'remove') {
    let ok = true;
    try { mp.FS.unlink(m.path); } catch { ok = false; }
    parentPort.postMessage({ type: 'reply', id: m.id, data: ok });
  }
});

await boot(workerData.files || []);
parentPort.postMessage({ type: 'ready' });
