// The virtual board's own tests: it must behave like the real board in tests/fixtures/captures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startBoard } from './board.mjs';

const boards = [];
after(async () => { for (const b of boards) await b.close(); });
const board = async (opts) => { const b = await startBoard({ port: 0, ...opts }); boards.push(b); return b; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const capture = (name) => fs.readFileSync(new URL(`../../tests/fixtures/captures/${name}.jsonl`, import.meta.url), 'utf8')
  .trim().split('\n').map((l) => JSON.parse(l));

/** A raw client that records frames and how the link ended. */
async function client(b) {
  const ws = new WebSocket(b.url, { skipUTF8Validation: true });
  const c = { ws, frames: [], closed: null };
  ws.on('message', (d, binary) => c.frames.push({ binary, data: Buffer.from(d) }));
  ws.on('close', (code) => { c.closed = code; });
  ws.on('error', () => {});
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  c.text = () => Buffer.concat(c.frames.filter((f) => !f.binary).map((f) => f.data)).toString('utf8');
  c.bin = () => c.frames.filter((f) => f.binary).map((f) => f.data);
  c.until = async (pred, ms = 3000) => {
    const t = Date.now();
    while (!pred()) { if (Date.now() - t > ms) throw new Error(`timeout; text: ${JSON.stringify(c.text().slice(-300))}`); await sleep(5); }
  };
  c.login = async (pw = b.password) => { await c.until(() => c.text().includes('Password: ')); ws.send(`${pw}\r`); };
  return c;
}

const header = (op, size, name) => {
  const h = Buffer.alloc(82);
  h.write('WA', 0); h[2] = op; h.writeUInt32LE(size, 12); h.writeUInt16LE(Buffer.byteLength(name), 16); h.write(name, 18);
  return h;
};

test('login frames are byte-identical to the capture', async () => {
  const b = await board({ password: 'secret123' });
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  const rx = capture('login_ok').filter((f) => f.dir === 'rx' && f.op === 'text').map((f) => f.hex);
  assert.deepEqual(c.frames.map((f) => f.data.toString('hex')), rx);
  c.ws.close();
});

test('wrong and over-long passwords are denied, then the link drops without a close frame', async () => {
  const b = await board();
  for (const pw of ['nope', 'secret123EXTRA']) {
    const c = await client(b);
    await c.login(pw);
    await c.until(() => c.closed !== null);
    assert.equal(c.text(), 'Password: \r\nAccess denied\r\n');
    assert.equal(c.closed, 1006, 'no close frame');
  }
  assert.equal(b.stats.deniedLogins, 2);
});

test('print, put/get round trips with the capture framing, version, missing file', async () => {
  const b = await board();
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send('print(1+1)\r');
  await c.until(() => c.text().endsWith('2\r\n>>> '));
  for (const size of [0, 100, 3000]) {
    const data = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
    c.frames = [];
    c.ws.send(header(1, size, `f${size}.bin`));
    await c.until(() => c.bin().length >= 1);
    for (let o = 0; o < size; o += 1024) c.ws.send(data.subarray(o, o + 1024));
    await c.until(() => c.bin().length === 2);
    assert.deepEqual(c.bin().map((x) => x.toString('hex')), ['57420000', '57420000']);
    assert.ok((await b.readFile(`f${size}.bin`)).equals(data));
    c.frames = [];
    c.ws.send(header(2, 0, `f${size}.bin`));
    await c.until(() => c.bin().length === 1);
    const chunks = [];
    for (;;) {
      const n = c.bin().length;
      c.ws.send(Buffer.from([0]));
      await c.until(() => c.bin().length >= n + 1);
      const f = c.bin()[n];
      chunks.push(f);
      if (f.readUInt16LE(0) === 0) break;
    }
    await c.until(() => c.bin().length === chunks.length + 2);
    assert.equal(c.bin().at(-1).toString('hex'), '57420000', 'WB right after the end chunk');
    assert.ok(chunks.slice(0, -1).every((f, i, a) => f.length === 258 || i === a.length - 1));
    assert.ok(Buffer.concat(chunks.map((f) => f.subarray(2))).equals(data));
  }
  c.frames = [];
  c.ws.send(header(3, 0, ''));
  await c.until(() => c.bin().length === 1);
  assert.deepEqual([...c.bin()[0]], [1, 27, 0]);
  c.ws.send(header(2, 0, 'no_such_file.txt'));
  await c.until(() => c.closed !== null);
  assert.equal(c.closed, 1006, 'a missing file drops the session without a close frame');
});

test('one session: a second client is dropped and the first is told', async () => {
  const b = await board();
  const a = await client(b);
  await a.login();
  await a.until(() => a.text().endsWith('>>> '));
  const second = await client(b);
  await second.until(() => second.closed !== null);
  assert.equal(second.frames.length, 0);
  await a.until(() => /Concurrent WebREPL connection from \('127\.0\.0\.1', \d+\) rejected\r\n/.test(a.text()));
  a.ws.send('print(2+3)\r');
  await a.until(() => a.text().endsWith('5\r\n>>> '));
  a.ws.close();
});

test('pings get no pong; an empty close frame is answered and frees the board at once', async () => {
  const b = await board();
  const c = await client(b);
  let pong = false;
  c.ws.on('pong', () => { pong = true; });
  c.ws.ping();
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  await sleep(100);
  assert.equal(pong, false);
  assert.equal(b.stats.pings, 1);
  c.ws.close();
  await c.until(() => c.closed !== null);
  assert.equal(c.closed, 1005, 'the board answered with an empty close frame');
  const again = await client(b);
  await again.login();
  await again.until(() => again.text().endsWith('>>> '));
  again.ws.close();
});

test('Ctrl-D soft-resets: the session drops and the board is back after a short wait', async () => {
  const b = await board({ resetDelayMs: 200 });
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send('x = 5\r');
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send('\x04');
  await c.until(() => c.closed !== null);
  assert.match(c.text(), /MPY: soft reboot/);
  await sleep(300);
  const d = await client(b);
  await d.login();
  await d.until(() => d.text().endsWith('>>> '));
  d.ws.send('print(globals().get("x"))\r');
  await d.until(() => d.text().endsWith('None\r\n>>> '), 5000);
  d.ws.close();
});

test('Ctrl-C stops a program that prints without end', async () => {
  const b = await board();
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send("while True: print('x'*100)\r\r");
  await c.until(() => c.text().length > 50_000, 5000);
  const t = Date.now();
  c.ws.send('\x03');
  const tail = () => Buffer.concat(c.frames.slice(-8).map((f) => f.data)).toString();
  await c.until(() => /KeyboardInterrupt: \r\n>>> $/.test(tail()), 2000);
  assert.ok(Date.now() - t < 1000, `${Date.now() - t} ms`);
  c.ws.close();
});

test('a print blocks while the client does not read, as on a board whose socket is full', async () => {
  const b = await board();
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send("while True: print('x'*100)\r\r");
  await c.until(() => c.text().length > 50_000, 5000);
  c.ws._socket.pause(); // stop reading: the system's buffers fill, then the board's sends block
  // However large the system's buffers grow, the output stops growing within seconds (without
  // back-pressure it would grow by ~6 MB every second)...
  let held = b.stats.outputBytes;
  for (let t = Date.now(); ; held = b.stats.outputBytes) {
    await sleep(500);
    if (b.stats.outputBytes - held < 32 * 1024) break;
    assert.ok(Date.now() - t < 15_000, `the interpreter went on printing: ${b.stats.outputBytes} bytes`);
  }
  // ...and stays stopped.
  await sleep(1000);
  assert.ok(b.stats.outputBytes - held <= 128 * 1024, `the interpreter went on printing: ${b.stats.outputBytes - held} bytes in 1 s`);
  c.ws._socket.resume();
  await c.until(() => b.stats.outputBytes - held > 1024 * 1024, 5000);
  c.ws.send('\x03');
  await c.until(() => /KeyboardInterrupt: \r\n>>> $/.test(c.text()), 3000);
  c.ws.close();
});

test('Ctrl-C at the idle prompt is a keystroke: a new prompt, even right behind other input', async () => {
  // A board turns Ctrl-C into KeyboardInterrupt only while code runs (MicroPython sets the
  // interrupt character around execution); at the prompt it clears the line. A Ctrl-C that
  // arrives while the board still answers an Enter must not become an interrupt pending for
  // the next program.
  const b = await board();
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  for (let i = 0; i < 5; i++) {
    const before = c.text().length;
    c.ws.send('\r');
    c.ws.send('\x03');
    await c.until(() => (c.text().slice(before).match(/>>> /g) || []).length === 2, 2000);
  }
  c.ws.send('print(6*7)\r');
  await c.until(() => c.text().endsWith('42\r\n>>> '), 2000);
  assert.ok(!c.text().includes('KeyboardInterrupt'), JSON.stringify(c.text().slice(-200)));
  c.ws.close();
});

test('a 256-byte input buffer loses a burst but not a paced send', async () => {
  const b = await board({ inputBuffer: 256 });
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send(`s = '${'a'.repeat(2000)}'\r`);
  await sleep(500);
  assert.ok(b.stats.droppedInputBytes > 1000, `dropped ${b.stats.droppedInputBytes}`);
  const before = b.stats.droppedInputBytes;
  c.ws.send('\x03');
  await sleep(200);
  for (let i = 0; i < 20; i++) { c.ws.send('b'.repeat(50)); await sleep(20); }
  assert.equal(b.stats.droppedInputBytes, before, 'a paced send loses nothing');
  c.ws.close();
});

test('invalidUtf8 splits characters across text frames; dropAfterBytes cuts a put', async () => {
  const b = await board({ invalidUtf8: true });
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send("print('\\u00e4\\u00f6\\u00fc\\u2192\\u2713')\r");
  await c.until(() => c.text().includes('äöü→✓'));
  const strict = new TextDecoder('utf-8', { fatal: true });
  const invalid = c.frames.filter((f) => !f.binary).filter((f) => { try { strict.decode(f.data); return false; } catch { return true; } });
  assert.ok(invalid.length > 0, 'some text frame is not valid UTF-8');
  c.ws.close();
  const d = await board({ dropAfterBytes: 5000 });
  const e = await client(d);
  await e.login();
  await e.until(() => e.text().endsWith('>>> '));
  e.ws.send(header(1, 20_000, 'cut.bin'));
  await e.until(() => e.bin().length === 1);
  for (let o = 0; o < 20_000; o += 1024) e.ws.send(Buffer.alloc(1024));
  await e.until(() => e.closed !== null);
  assert.equal(e.closed, 1006);
  const cut = await d.readFile('cut.bin');
  assert.ok(cut && cut.length >= 5000 && cut.length < 20_000, 'what arrived before the cut was written, as on a board');
});

// ----- the board's socket, segment by segment (wire.mjs) -----

/** A raw TCP client: handshake, then every segment as the system delivered it, with its time. */
async function rawClient(b, { request } = {}) {
  const net = await import('node:net');
  const sock = net.connect(b.port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  const c = { sock, segments: [], bytes: Buffer.alloc(0), t0: performance.now() };
  sock.on('data', (d) => { c.segments.push({ t: performance.now() - c.t0, data: d }); c.bytes = Buffer.concat([c.bytes, d]); });
  c.closed = new Promise((r) => sock.on('close', r));
  sock.write(request ?? 'GET / HTTP/1.1\r\nHost: board\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  c.until = async (pred, ms = 3000) => {
    const t = Date.now();
    while (!pred()) { if (Date.now() - t > ms) throw new Error(`timeout; got ${JSON.stringify(c.bytes.toString('latin1').slice(-200))}`); await sleep(2); }
  };
  /** The board's frames so far (after the handshake's blank line): {op, data}. */
  c.frames = () => {
    const head = c.bytes.indexOf('\r\n\r\n');
    let buf = head < 0 ? Buffer.alloc(0) : c.bytes.subarray(head + 4);
    const out = [];
    while (buf.length >= 2) {
      let len = buf[1] & 0x7f; let at = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); at = 4; }
      if (buf.length < at + len) break;
      out.push({ op: buf[0] & 0x0f, data: buf.subarray(at, at + len) });
      buf = buf.subarray(at + len);
    }
    return out;
  };
  c.text = () => Buffer.concat(c.frames().filter((f) => f.op === 1).map((f) => f.data)).toString('latin1');
  c.bin = () => c.frames().filter((f) => f.op === 2).map((f) => f.data);
  /** A masked client frame in one write. */
  c.frame = (opcode, payload = Buffer.alloc(0)) => {
    const p = Buffer.from(payload);
    const mask = Buffer.from([1, 2, 3, 4]);
    const head = p.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | p.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, p.length >> 8, p.length & 0xff]);
    sock.write(Buffer.concat([head, mask, Buffer.from(p.map((x, i) => x ^ mask[i & 3]))]));
  };
  return c;
}

test('a get arrives segment by segment as in the real board\'s capture: every header alone, its payload after the delayed ACK', async () => {
  const b = await board();
  await b.writeFile('/k1.bin', crypto.randomBytes(1024));
  const c = await rawClient(b);
  await c.until(() => c.bytes.includes('Password: '));
  c.frame(1, 'secret123\r');
  await c.until(() => c.text().endsWith('>>> '));
  // At once, as the capture's client did: a client that sends in answer to what it receives
  // is in the system's delayed-ACK mode (after a long idle pause it would ACK at once).
  const from = c.segments.length;
  c.frame(2, header(2, 0, 'k1.bin'));
  // One ack per chunk, sent when the whole chunk frame is in (as the capture's client did):
  // frames are WB, 4 data chunks, the empty chunk, WB.
  const bins = c.bin().length;
  for (let acked = 0; ;) {
    await c.until(() => c.bin().length > bins + acked);
    if (c.bin().slice(bins + 1).some((f) => f.length === 2)) break; // the empty chunk
    c.frame(2, [0]);
    acked++;
  }
  await c.until(() => c.bin().length === bins + 7);
  const got = c.segments.slice(from).map((s) => s.data.length);
  const want = capture('tcp_get_delayed_ack').filter((f) => f.op === 'segment').map((f) => f.bytes);
  assert.deepEqual(got, want, `the same segment sizes as the real board: ${JSON.stringify(c.segments.slice(from).map((x) => [x.t.toFixed(1), x.data.length]))}`);
  // Each payload came after its header, held until the client's system acknowledged it.
  const seg = c.segments.slice(from);
  for (const i of [1, 3, 5, 7, 9]) {
    const gap = seg[i].t - seg[i - 1].t;
    assert.ok(gap >= 15, `segment ${i} (${seg[i].data.length} bytes) came ${gap.toFixed(1)} ms after its header: the board did not wait for the ACK`);
  }
  c.frame(8);
  await c.closed;
});

test('instant: each frame in one write with Nagle off (the old behaviour, for speed tests of other things)', async () => {
  const b = await board({ instant: true });
  await b.writeFile('/k1.bin', Buffer.alloc(1024, 7));
  const c = await rawClient(b);
  await c.until(() => c.bytes.includes('Password: '));
  c.frame(1, 'secret123\r');
  await c.until(() => c.text().endsWith('>>> '));
  const from = c.segments.length;
  c.frame(2, header(2, 0, 'k1.bin'));
  await c.until(() => c.segments.length > from);
  for (let i = 0; i < 4; i++) {
    const n = c.segments.length;
    c.frame(2, [0]);
    await c.until(() => c.segments.length > n);
  }
  const sizes = c.segments.slice(from, from + 5).map((s) => s.data.length);
  assert.deepEqual(sizes, [6, 262, 262, 262, 262], `header and payload together: ${JSON.stringify(c.segments.slice(from).map((x) => x.data.length))}`);
  c.frame(8);
  await c.closed;
});

test('empty pings and empty data frames are ignored in every state (a client may use them to carry ACKs)', async () => {
  const b = await board();
  const data = crypto.randomBytes(3000);
  await b.writeFile('/n.bin', data);
  const c = await rawClient(b);
  await c.until(() => c.bytes.includes('Password: '));
  c.frame(9); c.frame(1); c.frame(2);
  c.frame(1, 'secret123\r');
  await c.until(() => c.text().endsWith('>>> '));
  c.frame(9); c.frame(1, 'print(6'); c.frame(9); c.frame(2); c.frame(1); c.frame(1, '*7)\r');
  await c.until(() => c.text().endsWith('42\r\n>>> '));
  // A get with a nudge after every ack, and a put with nudges between its data frames.
  const start = c.bytes.length;
  c.frame(2, header(2, 0, 'n.bin'));
  c.frame(9);
  const chunks = [];
  let off = start;
  const next = async () => {
    await c.until(() => {
      const b2 = c.bytes.subarray(off);
      if (b2.length < 2) return false;
      let len = b2[1] & 0x7f; let at = 2;
      if (len === 126) { if (b2.length < 4) return false; len = b2.readUInt16BE(2); at = 4; }
      return b2.length >= at + len;
    });
    const b2 = c.bytes.subarray(off);
    let len = b2[1] & 0x7f; let at = 2;
    if (len === 126) { len = b2.readUInt16BE(2); at = 4; }
    off += at + len;
    return b2.subarray(at, at + len);
  };
  assert.equal((await next()).toString('hex'), '57420000');
  for (;;) {
    c.frame(2, [0]); c.frame(9); c.frame(2);
    const ch = await next();
    chunks.push(ch.subarray(2));
    if (ch.readUInt16LE(0) === 0) break;
  }
  assert.equal((await next()).toString('hex'), '57420000');
  assert.ok(Buffer.concat(chunks).equals(data), 'the file arrived intact');
  c.frame(2, header(1, 2048, 'm.bin'));
  assert.equal((await next()).toString('hex'), '57420000');
  c.frame(2, data.subarray(0, 1024)); c.frame(9); c.frame(2); c.frame(2, data.subarray(1024, 2048));
  assert.equal((await next()).toString('hex'), '57420000');
  assert.ok((await b.readFile('/m.bin')).equals(data.subarray(0, 2048)));
  assert.ok(b.stats.pings >= 5);
  c.frame(8);
  await c.closed;
});

test('a close with a status code is answered but keeps the session; its first byte reaches the file-transfer side', async () => {
  const b = await board();
  const c = await rawClient(b);
  await c.until(() => c.bytes.includes('Password: '));
  c.frame(1, 'secret123\r');
  await c.until(() => c.text().endsWith('>>> '));
  const at = c.bytes.length;
  c.frame(8, [0x03, 0xe8]);
  await c.until(() => c.bytes.subarray(at).includes(Buffer.from([0x88, 0x00])));
  c.frame(1, 'print(7)\r');
  await c.until(() => c.text().endsWith('7\r\n>>> '));
  // As in close_code_then_data: 0x03 became header byte 0; 81 more bytes complete a GET_VER.
  const rest = Buffer.alloc(81); rest[0] = 0x57; rest[1] = 0x03;
  const before = c.bytes.length;
  c.frame(2, rest);
  await c.until(() => c.bytes.length >= before + 5);
  assert.deepEqual([...c.bytes.subarray(before, before + 5)], [0x82, 0x03, 1, 27, 0]);
  c.frame(8);
  await c.closed;
});

test('a plain GET gets the board\'s page that loads webrepl_content.js from BASE, then a close', async () => {
  const b = await board({ base: 'https://example.github.io/webrepl-rs/' });
  const c = await rawClient(b, { request: 'GET / HTTP/1.1\r\nHost: board\r\nAccept: text/html\r\n\r\n' });
  await c.closed;
  assert.equal(c.bytes.toString(), 'HTTP/1.0 200 OK\r\n\r\n<base href="https://example.github.io/webrepl-rs/"></base>\r\n<script src="webrepl_content.js"></script>\r\n');
  // Header names are compared as the board does: case-sensitively.
  const d = await rawClient(b, { request: 'GET / HTTP/1.1\r\nhost: board\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' });
  await d.closed;
  assert.match(d.bytes.toString(), /^HTTP\/1\.0 200 OK/);
});

test('Enter is \\r or \\n at the prompt, as on 1.28+ boards; \\r\\n is one Enter; paste and raw REPL keep \\n as it is', async () => {
  const b = await board();
  const c = await client(b);
  await c.login();
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send('import time\n');
  c.ws.send('for i in range(3): print(i)\r\r');
  await c.until(() => c.text().endsWith('0\r\n1\r\n2\r\n>>> '));
  assert.ok(!c.text().includes('SyntaxError'), c.text());
  const n = (c.text().match(/>>> /g) || []).length;
  c.ws.send('x = 1\r\n');
  await c.until(() => (c.text().match(/>>> /g) || []).length === n + 1);
  await sleep(100);
  assert.equal((c.text().match(/>>> /g) || []).length, n + 1, '\\r\\n gave one prompt');
  c.ws.send('\x05def f():\n    return 40\nprint(f() + 2)\n\x04');
  await c.until(() => c.text().endsWith('42\r\n>>> '));
  c.ws.send('\x01');
  await c.until(() => c.text().endsWith('\r\n>'));
  c.ws.send('a = 5\nprint(a * 3)\n\x04');
  await c.until(() => c.text().includes('OK15\r\n\x04\x04>'));
  c.ws.send('\x02');
  await c.until(() => c.text().endsWith('>>> '));
  c.ws.send('print(a)\n');
  await c.until(() => c.text().endsWith('5\r\n>>> '));
  c.ws.close();
});
