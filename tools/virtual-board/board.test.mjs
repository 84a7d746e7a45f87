// The virtual board's own tests: it must behave like the real board in shared/captures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
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
  await c.until(() => /KeyboardInterrupt: \r\n>>> $/.test(c.text()), 2000);
  assert.ok(Date.now() - t < 1000);
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
