// The virtual board as a USB serial board: the same MicroPython REPL (mp-worker.mjs) as a raw
// byte stream on a pseudo-terminal, as a board's UART or USB CDC port is.
//
// socat makes the pty (`pty,rawer,link=PATH` ⇄ its stdio); a client opens PATH as it would
// /dev/ttyACM0. The board keeps a slave end open itself, so a client closing the port does not
// end socat (a real port stays too) — and, as on a UART, what the board prints while no client
// has it open waits in the tty's buffer: clients flush input on open.
// What a client can tell apart from hardware:
// - An input buffer of `inputBuffer` bytes (256 as MicroPython's REPL). With `inputFlow: 'uart'`
//   (the default: a board behind a USB–UART bridge chip) bytes that arrive while it is full — the
//   REPL busy running code or still on the previous bytes — are lost, as on a UART without flow
//   control: clients must pace themselves (echo, raw-paste windows). With `inputFlow: 'usb'` (a
//   board with native USB: MicroPython's USB stacks take bytes only while the buffer has room and
//   the endpoint refuses the rest) nothing is lost: the rest waits on the host's side, and past
//   64 KB the board stops reading the pty, so the host's writes wait too.
// - Output `\n` → `\r\n` as a board's print does; everything else as the interpreter wrote it.
// - `baud` > 0 paces both directions to the line rate (10 bits per byte: 115200 → 11520 B/s);
//   0 is unthrottled.
// - Ctrl-D soft reset keeps the port: `MPY: soft reboot`, the banner and `>>> ` (from the raw
//   REPL, back in the raw REPL), with the files kept.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function startSerialBoard(opts = {}) {
  const o = {
    link: null, baud: 115200, inputBuffer: 256, inputFlow: 'uart', log: false,
    files: [['/boot.py', Buffer.from('# This file is executed on every boot (including wake-boot from deepsleep)\n')]],
    ...opts,
  };
  const link = o.link ?? path.join(os.tmpdir(), `vboard-${process.pid}-${Date.now()}`);
  const stats = { droppedInputBytes: 0, mostHeldBytes: 0, inputBytes: 0, outputBytes: 0, softResets: 0 };
  if (!['uart', 'usb'].includes(o.inputFlow)) throw new Error(`virtual board: inputFlow is 'uart' or 'usb', not ${o.inputFlow}`);
  const log = (...a) => o.log && console.error('[serial board]', ...a);
  const bytesPerSec = o.baud > 0 ? o.baud / 10 : Infinity;

  // ----- the CPU -----
  // [0]: the Ctrl-C flag; [1]: output the worker handed over that has not left on the line yet
  // (the worker waits above a limit, as a board's print blocks on a full UART buffer).
  const interrupt = new SharedArrayBuffer(8);
  const flag = new Int32Array(interrupt);
  let owed = 0;
  const outputTaken = () => { if (owed) { Atomics.sub(flag, 1, owed); owed = 0; Atomics.notify(flag, 1); } };
  let busy = true;
  let rx = []; // the input buffer
  let rxLen = 0;
  const requests = new Map();
  let nextId = 1;
  const worker = new Worker(new URL('./mp-worker.mjs', import.meta.url), {
    workerData: { interrupt, files: o.files, serial: true, inputBuffer: o.inputBuffer },
  });
  const ready = new Promise((resolve, reject) => {
    // A worker that cannot start (no node_modules: `npm ci` first) fails the start, not hangs it.
    worker.once('error', (e) => reject(new Error(`virtual board: the MicroPython worker failed: ${e.message}`)));
    worker.on('message', (m) => {
      if (m.type === 'ready') { busy = false; resolve(); }
      else if (m.type === 'output') { owed += m.data.length; output(Buffer.from(m.data)); }
      else if (m.type === 'idle' || m.type === 'rebooted') { busy = false; feedCpu(); }
      else if (m.type === 'soft-reset') { stats.softResets++; output(Buffer.from('MPY: soft reboot\r\n')); }
      else if (m.type === 'reply') { requests.get(m.id)?.(m.data); requests.delete(m.id); }
    });
  });
  worker.on('error', (e) => log('worker error', e));
  ready.catch(() => {}); // awaited below, once the pty is there
  const ask = (msg) => new Promise((resolve) => {
    const id = nextId++;
    requests.set(id, resolve);
    worker.postMessage({ ...msg, id });
  });
  /** Hands the input buffer to the REPL when it is reading. */
  function feedCpu() {
    if (busy || rxLen === 0) return;
    busy = true;
    // Native USB: the stack refills the buffer while the REPL reads it, so what it held back
    // reaches the REPL without a pause (here: in the same hand-over).
    const data = Buffer.concat(o.inputFlow === 'usb' ? [...rx, ...held] : rx);
    rx = [];
    rxLen = 0;
    if (o.inputFlow === 'usb' && heldLen) {
      held = [];
      heldLen = 0;
      socat.stdout.resume();
    }
    if (data.includes(3)) Atomics.store(flag, 0, 1);
    worker.postMessage({ type: 'input', data });
  }
  // Native USB: what the input buffer had no room for (the host keeps it until the board reads).
  let held = [];
  let heldLen = 0;
  const HOLD_MAX = 64 * 1024;
  /** Bytes off the line into the input buffer; what does not fit is lost. */
  function receive(bytes) {
    stats.inputBytes += bytes.length;
    take(bytes);
  }
  function take(bytes) {
    let rest = bytes;
    while (rest.length) {
      const room = o.inputBuffer - rxLen;
      if (room <= 0 && o.inputFlow === 'usb') {
        // (A Ctrl-C in there waits too: the stack looks at bytes only as it takes them.)
        held.push(rest);
        heldLen += rest.length;
        stats.mostHeldBytes = Math.max(stats.mostHeldBytes, heldLen);
        if (heldLen >= HOLD_MAX) socat.stdout.pause();
        break;
      }
      if (room <= 0) {
        stats.droppedInputBytes += rest.length;
        log(`input buffer full: ${rest.length} bytes lost`);
        break;
      }
      const take = rest.subarray(0, room);
      rx.push(take);
      rxLen += take.length;
      rest = rest.subarray(take.length);
      // Ctrl-C reaches the board's interrupt handler as it arrives, even while code runs.
      if (take.includes(3)) Atomics.store(flag, 0, 1);
      feedCpu();
    }
  }

  // ----- the line -----
  const socat = spawn('socat', [`pty,rawer,link=${link},mode=600`, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
  socat.stderr.on('data', (d) => log(String(d).trim()));
  let socatExited = false;
  socat.on('exit', (code) => { socatExited = true; log('socat exited', code); });
  let lastCr = false;
  function output(bytes) {
    // \n → \r\n (print's cooked output); a \r\n already there stays.
    const parts = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 0x0a) continue;
      const prevCr = i > 0 ? bytes[i - 1] === 0x0d : lastCr;
      if (!prevCr) { parts.push(bytes.subarray(start, i), Buffer.from('\r')); start = i; }
    }
    parts.push(bytes.subarray(start));
    if (bytes.length) lastCr = bytes[bytes.length - 1] === 0x0d;
    const buf = Buffer.concat(parts);
    stats.outputBytes += buf.length;
    toHost.push(buf);
    pump();
  }
  // Each direction at the line rate: a byte budget that grows with time.
  const toHost = [];
  const toBoard = [];
  let timer = null;
  let last = performance.now();
  let budgetOut = 0;
  let budgetIn = 0;
  // Whether bytes were waiting at the last pump (the line was busy since).
  let busyOut = false;
  let busyIn = false;
  function pump() {
    if (bytesPerSec === Infinity) {
      while (toHost.length) socat.stdin.write(toHost.shift());
      outputTaken();
      while (toBoard.length) receive(toBoard.shift());
      return;
    }
    const now = performance.now();
    const grant = ((now - last) / 1000) * bytesPerSec;
    last = now;
    // Of idle time at most a little over one timer tick counts (no bursts after silence). While
    // bytes wait, all the time counts: a timer that fires late (a busy machine) must not slow
    // the line, which a real UART never does. Bytes that arrive late go into the board no faster
    // than its input buffer has room (on a board they came over that time and were read as they
    // came), so lateness loses nothing a board would keep.
    const cap = bytesPerSec * 0.004 + 64;
    budgetOut = busyOut ? budgetOut + grant : Math.min(cap, budgetOut + grant);
    budgetIn = busyIn ? budgetIn + grant : Math.min(cap, budgetIn + grant);
    budgetOut = move(toHost, budgetOut, (b) => socat.stdin.write(b));
    if (!toHost.length) outputTaken();
    const spend = Math.min(budgetIn, Math.max(cap, o.inputBuffer - rxLen));
    budgetIn -= spend - move(toBoard, spend, receive);
    busyOut = toHost.length > 0;
    busyIn = toBoard.length > 0;
    if ((toHost.length || toBoard.length) && !timer) {
      timer = setTimeout(() => { timer = null; pump(); }, 1);
    }
  }
  function move(queue, budget, sink) {
    while (queue.length && budget >= 1) {
      const head = queue[0];
      const n = Math.min(head.length, Math.floor(budget));
      sink(head.subarray(0, n));
      budget -= n;
      if (n === head.length) queue.shift(); else queue[0] = head.subarray(n);
    }
    return budget;
  }
  socat.stdout.on('data', (d) => { toBoard.push(d); pump(); });

  // Wait for the link to appear, then hold a slave end open (see the top).
  const t0 = Date.now();
  while (!fs.existsSync(link)) {
    if (socatExited || Date.now() - t0 > 5000) throw new Error(`virtual board: socat did not create ${link}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const holder = fs.openSync(link, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  await ready;
  log(`serial on ${link} (${o.baud || 'unthrottled'} baud, ${o.inputBuffer}-byte input buffer)`);

  return {
    path: link,
    stats,
    readFile: async (p) => { const d = await ask({ type: 'read', path: p }); return d == null ? null : Buffer.from(d); },
    writeFile: (p, data) => ask({ type: 'write', path: p, mkdirs: true, data: typeof data === 'string' ? Buffer.from(data) : data }),
    exists: async (p) => (await ask({ type: 'read', path: p })) != null,
    async close() {
      clearTimeout(timer);
      try { fs.closeSync(holder); } catch { /* closed */ }
      socat.kill();
      await worker.terminate();
    },
  };
}
