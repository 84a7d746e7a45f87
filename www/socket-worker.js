// The board's WebSocket, held off the page's main thread (src/socket.rs starts this worker).
//
// A board prints in tiny frames (a print is the line, then "\r\n"): tens of thousands of
// WebSocket messages per second, each a task for whichever thread owns the socket. Here they
// cost this worker's time, not the page's: consecutive text frames go to the page as one batch at
// most every few milliseconds, so the terminal renders and the page stays responsive; binary
// frames (file transfers) likewise. The page's sends come batched too. Nothing is parsed
// here: the protocol stays in the Rust session on the page.
//
// page → worker: {t: 'open', url} · {t: 'text', d, n: its UTF-8 length} ·
//   {t: 'bin', d: [ArrayBuffer, …]} (frames) · {t: 'close'}
// worker → page: {t: 'open'} · {t: 'text', d} · {t: 'bin', d} (frames since the last batch) · {t: 'sent', n} (bytes handed to
//   the network so far, for the page's send-buffer limit) · {t: 'close', code, reason} ·
//   {t: 'error', d}
'use strict';

// Get read-ahead, as `webrepl proxy` does it at depth 1 (crates/core/src/readahead.rs is the
// reference, and this follows it step for step; the proxy keeps three acks in flight to a board,
// this worker one): a get needs one round trip per 256-byte chunk, and from here to
// the page and back is two thread hops. So this worker acks each chunk to the board itself as soon
// as it has it — one ack per chunk, never two ahead of the board, at most WINDOW ahead of the
// page — and drops the page's own acks when they come. Both binary streams are followed as the
// board parses them: 82-byte headers from the page (put data passed through), the board's `WB`
// status, chunk lengths, the empty chunk and the final `WB`.
const ACK = new Uint8Array([0]);

class ReadAhead {
  constructor(window) {
    this.window = window;
    this.header = []; // header bytes so far
    this.putLeft = 0; // put data bytes still to pass
    this.board = 'idle'; // idle | status | len0 | len1 | data | final
    this.need = 0; // bytes left in the board state (status, data, final)
    this.lo = 0;
    this.ahead = 0; // acks sent for the page, not yet matched by its own
    this.owed = 0; // chunks that arrived with the window full: their acks wait for the page
  }

  /** Page → board bytes; returns the bytes to send to the board. */
  fromClient(bytes) {
    const parts = [];
    let i = 0;
    while (i < bytes.length) {
      if (this.putLeft > 0) {
        const take = Math.min(this.putLeft, bytes.length - i);
        parts.push(bytes.subarray(i, i + take));
        i += take;
        this.putLeft -= take;
        continue;
      }
      if (this.ahead > 0 && this.header.length === 0 && bytes[i] === 0) {
        i++;
        this.ahead--;
        if (this.owed > 0) { this.owed--; this.ahead++; parts.push(ACK); }
        continue;
      }
      if (this.board !== 'idle' && this.header.length === 0) {
        parts.push(bytes.subarray(i, i + 1));
        i++;
        continue;
      }
      const take = Math.min(82 - this.header.length, bytes.length - i);
      const piece = bytes.subarray(i, i + take);
      for (const b of piece) this.header.push(b);
      parts.push(piece);
      i += take;
      if (this.header.length === 82) {
        const h = this.header;
        this.header = [];
        if (h[0] === 0x57 && h[1] === 0x41) {
          if (h[2] === 1) this.putLeft = (h[12] | (h[13] << 8) | (h[14] << 16)) + h[15] * 16777216;
          else if (h[2] === 2) { this.board = 'status'; this.need = 4; this.owed = 0; }
        }
      }
    }
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  /** Board → page bytes (passed on unchanged); returns how many acks to send to the board now. */
  fromBoard(bytes) {
    let acks = 0;
    let i = 0;
    while (i < bytes.length && this.board !== 'idle') {
      if (this.board === 'status' || this.board === 'data' || this.board === 'final') {
        const take = Math.min(this.need, bytes.length - i);
        i += take;
        this.need -= take;
        if (this.need > 0) break;
        if (this.board === 'final') this.board = 'idle';
        else { this.board = 'len0'; acks += this.due(); }
      } else if (this.board === 'len0') {
        this.lo = bytes[i++];
        this.board = 'len1';
      } else {
        const len = this.lo | (bytes[i++] << 8);
        if (len === 0) { this.board = 'final'; this.need = 4; } else { this.board = 'data'; this.need = len; }
      }
    }
    return acks;
  }

  due() {
    if (this.window === 0) return 0;
    if (this.ahead < this.window) { this.ahead++; return 1; }
    this.owed++;
    return 0;
  }
}


// Delayed-ACK nudges (docs/board-behaviour.md, "Speed"). A board writes each frame as header,
// then payload, and holds the payload until our system acknowledges the header, which it delays
// by ~40 ms (Linux) to 200 ms (Windows) when we have nothing to send: every echo, prompt and
// reply of a raw-REPL exchange would wait that long. A page cannot see a frame's header arrive,
// so while frames come and go (and for NUDGE_FOR_MS after), the worker sends an empty text frame
// every NUDGE_EVERY_MS; its segment carries the ACK, and the board ignores empty frames in every
// state. Through `webrepl proxy` there is no need (the proxy nudges the board itself and writes
// whole frames to us), so a proxy URL (`…/ws://BOARD…`) turns this off.
const NUDGE_EVERY_MS = 2;
const NUDGE_FOR_MS = 80;
let nudging = false;
let nudgeUntil = 0;
let nudgeTimer = 0;

/** Whether a link to `url` needs nudges: not through `webrepl proxy` (`ws://HOST/ws://BOARD…`). */
function wantsNudges(url) {
  return !/^wss?:\/\/[^/]+\/+wss?:\/\//i.test(url);
}

function activity() {
  if (!nudging) return;
  nudgeUntil = performance.now() + NUDGE_FOR_MS;
  if (!nudgeTimer) nudgeTimer = setTimeout(nudge, NUDGE_EVERY_MS);
}

function nudge() {
  nudgeTimer = 0;
  if (!ws || ws.readyState !== 1 || performance.now() > nudgeUntil) return;
  // Anything still unsent carries the ACK by itself.
  if (ws.bufferedAmount === 0) {
    try { ws.send(''); } catch { /* closing */ }
  }
  nudgeTimer = setTimeout(nudge, NUDGE_EVERY_MS);
}

if (typeof module !== 'undefined') module.exports = { ReadAhead, wantsNudges };

// Chunks acked ahead of the page: 256 (64 KB) straight to a board. Through the proxy, which
// passes a get in batches of up to 128 chunks while the page acks its data in batches every
// GET_BATCH_MS, 2,048 (512 KB), so the page's turn never holds the board back.
const WINDOW_DIRECT = 256;
const WINDOW_PROXY = 2048;
let readAhead = new ReadAhead(WINDOW_DIRECT);
let selfAcks = 0; // acks this worker sent (the page did not count them)
let ws = null;
let text = '';
let lastFlush = 0;
let flushTimer = 0;
let flushDue = 0;
let queued = 0; // bytes given to ws.send so far
let watching = 0;
const BATCH_MS = 4;
const GET_BATCH_MS = 25;

let bin = []; // binary frames since the last flush
let binLen = 0;

// Text and binary received since the last flush go to the page together: at once if nothing
// went for BATCH_MS, else when BATCH_MS is up. (Text and binary are separate byte streams for
// the page, so joining frames changes nothing but the count of messages.)
function flush() {
  if (flushTimer) { clearTimeout(flushTimer); flushTimer = 0; }
  if (text) {
    postMessage({ t: 'text', d: text });
    text = '';
  }
  if (binLen) {
    const all = new Uint8Array(binLen);
    let at = 0;
    for (const b of bin) { all.set(b, at); at += b.length; }
    bin = [];
    binLen = 0;
    postMessage({ t: 'bin', d: all.buffer }, [all.buffer]);
  }
  lastFlush = performance.now();
}

function soon() {
  // While a get streams, the worker acks the chunks itself, so the page only needs the data for
  // its progress bar (updated once per frame): fewer, larger batches leave the CPU to the round
  // trips (the window of 256 chunks is 64 KB, far more than arrives in GET_BATCH_MS).
  const ms = readAhead.board === 'idle' ? BATCH_MS : GET_BATCH_MS;
  const due = lastFlush + ms;
  const now = performance.now();
  if (now >= due) flush();
  else if (!flushTimer || due < flushDue) {
    // (A get's end is passed on within BATCH_MS, not GET_BATCH_MS.)
    clearTimeout(flushTimer);
    flushDue = due;
    flushTimer = setTimeout(flush, due - now);
  }
}

// How much has left, at most every 2 ms (a put sends a thousand messages a second).
function reportSent() {
  if (watching) return;
  watching = setTimeout(() => {
    watching = 0;
    if (!ws) return;
    postMessage({ t: 'sent', n: queued - selfAcks - ws.bufferedAmount });
    if (ws.bufferedAmount > 0) reportSent();
  }, 2);
}

onmessage = (e) => {
  const m = e.data;
  if (m.t === 'open') {
    try {
      ws = new WebSocket(m.url);
    } catch (err) {
      postMessage({ t: 'error', d: String(err && err.message || err) });
      return;
    }
    ws.binaryType = 'arraybuffer';
    nudging = wantsNudges(m.url);
    readAhead = new ReadAhead(nudging ? WINDOW_DIRECT : WINDOW_PROXY);
    ws.onopen = () => { postMessage({ t: 'open' }); activity(); };
    ws.onmessage = (ev) => {
      activity();
      if (typeof ev.data === 'string') {
        text += ev.data;
      } else {
        const bytes = new Uint8Array(ev.data);
        // Ask for the next get chunk first, so it travels while this one goes to the page.
        const acks = readAhead.fromBoard(bytes);
        if (acks > 0 && !nudging) {
          // Through `webrepl proxy` (which reads ahead itself and passes whole batches of
          // chunks): all acks in one frame — the proxy counts them byte by byte, and a browser
          // pays per message sent as much as per message received.
          try { ws.send(new Uint8Array(acks)); queued += acks; selfAcks += acks; } catch { /* closing */ }
        } else {
          // Straight to a board: one frame per ack, never two ahead of it.
          for (let n = acks; n > 0; n--) {
            try { ws.send(ACK); queued += 1; selfAcks += 1; } catch { /* closing */ }
          }
        }
        bin.push(bytes);
        binLen += bytes.length;
      }
      soon();
    };
    ws.onclose = (ev) => {
      flush();
      postMessage({ t: 'close', code: ev.code, reason: ev.reason });
      ws = null;
    };
  } else if (!ws) {
    // Sends after the close are dropped, as a closed WebSocket would.
  } else if (m.t === 'text') {
    try { ws.send(m.d); queued += m.n; } catch { /* closing */ }
    activity();
    reportSent();
  } else if (m.t === 'bin') {
    // The page's frames since its last message, each sent as a frame of its own.
    for (const buf of m.d) {
      const out = readAhead.fromClient(new Uint8Array(buf));
      if (out.length) {
        try { ws.send(out); } catch { /* closing */ }
      }
      // Acks dropped here count as sent for the page's send-buffer limit.
      queued += buf.byteLength;
    }
    activity();
    reportSent();
  } else if (m.t === 'close') {
    flush();
    // No code: an empty close frame (a code would inject a byte into the board's parser).
    try { ws.close(); } catch { /* closed */ }
  }
};
