// The page's socket worker (www/socket-worker.js): its get read-ahead, checked as the Rust
// reference (crates/core/src/readahead.rs) is — one ack per chunk, never two ahead of the board,
// the page's own acks dropped, put data never mistaken for acks or headers — and replays the
// vectors recorded from the Rust one (tests/fixtures/readahead-vectors.json), so the two agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './support.mjs';

function loadWorker() {
  const src = fs.readFileSync(path.join(ROOT, 'www/socket-worker.js'), 'utf8');
  const module = {};
  // The worker script, evaluated with stand-ins for the worker globals.
  new Function('module', 'postMessage', 'onmessage', src)(module, () => {}, null);
  return module.exports;
}
const { ReadAhead, wantsNudges } = loadWorker();

function header(op, size, name) {
  const h = new Uint8Array(82);
  h[0] = 0x57; h[1] = 0x41; h[2] = op;
  new DataView(h.buffer).setUint32(12, size, true);
  h.set(new TextEncoder().encode(name), 18);
  return h;
}

/** A get of `file` through the read-ahead, the page acking each chunk `lag` chunks late. */
function play(file, window, lag) {
  const ra = new ReadAhead(window);
  assert.equal(ra.fromClient(header(2, 0, 'f.bin')).length, 82);
  const chunks = [];
  for (let o = 0; o < file.length; o += 256) {
    const c = file.subarray(o, o + 256);
    chunks.push(Uint8Array.from([c.length & 255, c.length >> 8, ...c]));
  }
  chunks.push(Uint8Array.from([0, 0, 0x57, 0x42, 0, 0]));
  const got = [];
  let unanswered = 0; let maxUnanswered = 0; let boardAcks = 0; let pageAcks = 0;
  const deliver = (frame) => {
    got.push(...frame);
    const n = ra.fromBoard(frame);
    boardAcks += n; unanswered += n;
    maxUnanswered = Math.max(maxUnanswered, unanswered);
    if (frame.length === 4 || frame[0] !== 0 || frame[1] !== 0) pageAcks++;
  };
  deliver(Uint8Array.from([0x57, 0x42, 0, 0]));
  for (;;) {
    while (pageAcks > lag || (unanswered === 0 && pageAcks > 0)) {
      pageAcks--;
      const out = ra.fromClient(Uint8Array.of(0));
      boardAcks += out.length; unanswered += out.length;
      maxUnanswered = Math.max(maxUnanswered, unanswered);
    }
    if (unanswered === 0 || chunks.length === 0) break;
    unanswered--;
    deliver(chunks.shift());
  }
  return { got: Uint8Array.from(got), maxUnanswered, boardAcks, left: chunks.length, board: ra.board };
}

test('a get streams with one ack per chunk, never two ahead, whatever the page lag', () => {
  const file = Uint8Array.from({ length: 3000 }, (_, i) => i & 255);
  for (const [window, lag] of [[0, 0], [1, 0], [4, 0], [4, 3], [4, 50], [64, 10]]) {
    const r = play(file, window, lag);
    assert.ok(r.maxUnanswered <= 1, `window ${window} lag ${lag}: two acks ahead`);
    assert.equal(r.boardAcks, 13, `window ${window} lag ${lag}`);
    assert.equal(r.left, 0);
    assert.equal(r.board, 'idle');
    assert.equal(r.got.length, 4 + 12 * 2 + 3000 + 6);
  }
});

test('put data that looks like acks or a get header passes untouched', () => {
  const ra = new ReadAhead(8);
  const data = new Uint8Array(100 + 82);
  data.set(header(2, 0, 'x'), 100);
  assert.equal(ra.fromClient(header(1, data.length, 'p.bin')).length, 82);
  assert.deepEqual(ra.fromClient(data.subarray(0, 50)), data.subarray(0, 50));
  assert.deepEqual([...ra.fromClient(data.subarray(50))], [...data.subarray(50)]);
  assert.equal(ra.board, 'idle');
  assert.equal(ra.fromBoard(Uint8Array.from([0x57, 0x42, 0, 0])), 0);
});

test('delayed-ACK nudges are for direct links only, not through webrepl proxy', () => {
  for (const direct of ['ws://192.168.4.1:8266/', 'ws://esp32.local:8266', 'wss://board.example:8266/x']) assert.equal(wantsNudges(direct), true, direct);
  for (const proxied of ['ws://localhost:8765/ws://192.168.4.1:8266', 'wss://lab.example:8765//ws://10.0.0.2:8266/', 'WS://127.0.0.1:8765/WS://b:1']) assert.equal(wantsNudges(proxied), false, proxied);
});

test('the worker replays the Rust read-ahead\'s recorded vectors (tests/fixtures/readahead-vectors.json)', () => {
  // Made by crates/core/tests/readahead_vectors.rs from webrepl_core::readahead, which checks them.
  const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/readahead-vectors.json'), 'utf8'));
  assert.ok(vectors.length >= 20, 'the vectors are there');
  const bytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  for (const v of vectors) {
    const ra = new ReadAhead(v.window);
    v.steps.forEach((s, i) => {
      if (s.from === 'client') assert.equal(hex(ra.fromClient(bytes(s.bytes))), s.send, `${v.name}: step ${i} (page → board)`);
      else assert.equal(ra.fromBoard(bytes(s.bytes)), s.acks, `${v.name}: step ${i} (board → page acks)`);
    });
    assert.equal(ra.board !== 'idle', v.in_get, `${v.name}: in a get at the end`);
  }
});
