// The virtual board's binary parser where a client that acks a get ahead depends on it
// (docs/board-behaviour.md: Files): every byte during a get asks for one chunk, bytes after the
// end are the next header's, the `WA` signature is never checked, op 3 answers the version, and
// any other op opens the named file (dropping the session if it cannot) and then ignores binary.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startBoard } from './board.mjs';

const boards = [];
after(async () => { for (const b of boards) await b.close(); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A logged-in client that records binary frames, text and how the link ended. */
async function session() {
  const b = await startBoard({ port: 0 });
  boards.push(b);
  const ws = new WebSocket(b.url);
  const c = { b, ws, bin: [], text: '', closed: null };
  ws.on('message', (d, binary) => { if (binary) c.bin.push(Buffer.from(d)); else c.text += d.toString(); });
  ws.on('close', (code) => { c.closed = code; });
  ws.on('error', () => {});
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  c.until = async (pred, ms = 3000) => {
    const t = Date.now();
    while (!pred()) { if (Date.now() - t > ms) throw new Error(`timeout; text ${JSON.stringify(c.text.slice(-200))}, ${c.bin.length} binary frames`); await sleep(5); }
  };
  await c.until(() => c.text.includes('Password: '));
  ws.send(`${b.password}\r`);
  await c.until(() => c.text.endsWith('>>> '));
  return c;
}

const header = (op, name) => {
  const h = Buffer.alloc(82);
  h.write('WA', 0); h[2] = op; h.writeUInt16LE(Buffer.byteLength(name), 16); h.write(name, 18);
  return h;
};
const hex = (frames) => frames.map((f) => f.toString('hex'));

/** Asks for `name` with `acks` ack bytes in one frame; returns the frames up to the final WB. */
async function getAhead(c, name, acks) {
  c.bin = [];
  c.ws.send(header(2, name));
  await c.until(() => c.bin.length === 1);
  assert.equal(c.bin[0].toString('hex'), '57420000');
  c.ws.send(Buffer.alloc(acks));
  await c.until(() => c.bin.some((f) => f.length === 2 && f.readUInt16LE(0) === 0) && c.bin.at(-1).toString('hex') === '57420000' && c.bin.length > 2);
  return c.bin.slice(1);
}

test('acks sent ahead each ask for one chunk; the ones after the end are header bytes, and 82 − k more bytes with op 3 at offset 2 resync', async () => {
  const data = crypto.randomBytes(600);
  for (const [acks, excess] of [[5, 1], [6, 2]]) {
    const c = await session();
    await c.b.writeFile('/f.bin', data);
    const frames = await getAhead(c, 'f.bin', acks);
    // 256 + 256 + 88, the empty chunk, WB: four acks used, the rest wait in the header.
    assert.deepEqual(frames.map((f) => f.length), [258, 258, 90, 2, 4]);
    assert.ok(Buffer.concat(frames.slice(0, 3).map((f) => f.subarray(2))).equals(data));
    await sleep(50);
    assert.equal(c.bin.length, 6, 'nothing more: the excess acks are not answered');
    // The header's remaining bytes, op 3 where offset 2 falls: the version, and a clean state.
    const rest = Buffer.alloc(82 - excess);
    rest[2 - excess] = 3;
    c.bin = [];
    c.ws.send(rest);
    await c.until(() => c.bin.length === 1);
    assert.deepEqual([...c.bin[0]], [1, 27, 0]);
    const again = await getAhead(c, 'f.bin', 4);
    assert.deepEqual(again.map((f) => f.length), [258, 258, 90, 2, 4], 'the next get starts on a fresh header');
    assert.equal(c.closed, null);
    c.ws.close();
  }
});

test('the signature is never checked: a whole header sent after two excess acks is shifted by two bytes', async () => {
  const c = await session();
  await c.b.writeFile('/g.bin', Buffer.alloc(512, 7));
  const frames = await getAhead(c, 'g.bin', 5);
  assert.deepEqual(frames.map((f) => f.length), [258, 258, 2, 4]);
  // The board's header is now 00 00 'W' 'A' 03 …: op 'W' (0x57), and a name that starts
  // inside our own header's fields (empty here), which cannot be opened: the session drops.
  c.ws.send(header(3, ''));
  await c.until(() => c.closed !== null);
  assert.equal(c.closed, 1006, 'dropped without a close frame');
  assert.deepEqual(hex(c.bin.slice(5)), [], 'no version reply');
});

test('an unknown op opens its file: WB 00 00, then binary input means nothing; a name that cannot be opened drops the session', async () => {
  const c = await session();
  c.bin = [];
  c.ws.send(header(7, 'boot.py'));
  await c.until(() => c.bin.length === 1);
  assert.deepEqual(hex(c.bin), ['57420000']);
  c.ws.send(header(3, ''));
  c.ws.send(header(2, 'boot.py'));
  c.ws.send('print(6*7)\r');
  await c.until(() => c.text.endsWith('42\r\n>>> '));
  await sleep(50);
  assert.deepEqual(hex(c.bin), ['57420000'], 'neither the version nor the get was answered');
  c.ws.close();
  const d = await session();
  d.ws.send(header(0, ''));
  await d.until(() => d.closed !== null);
  assert.equal(d.closed, 1006);
});
