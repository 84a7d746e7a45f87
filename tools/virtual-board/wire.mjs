// The board's side of the WebSocket, written the way MicroPython's own WebREPL code writes it.
//
// What a client can tell apart, and so what this module reproduces (docs/board-behaviour.md):
// - The handshake (micropython-lib webrepl.py): the request line is skipped, header names are
//   compared case-sensitively (`Sec-WebSocket-Key`, `Connection` containing `Upgrade`,
//   `Upgrade: websocket` exactly); the 101 reply goes out in three writes with no subprotocol.
//   Any other request gets `HTTP/1.0 200 OK`, no headers, a two-line page that loads
//   `webrepl_content.js` from BASE, and a close.
// - Every frame the board sends is TWO socket writes, the 2- or 4-byte header and then the
//   payload, on a socket with Nagle's algorithm on (lwIP boards never set TCP_NODELAY). So a
//   payload waits on the board until the client has acknowledged the header, and a client whose
//   system delays ACKs waits ~40 ms per frame when nothing else is in flight. `instant: true`
//   gives the old behaviour (one write per frame, Nagle off) for tests of other things.
// - Reading (modwebsocket.c): masks are optional, FIN is ignored (a continuation keeps the
//   previous data type), a 64-bit length closes the socket, empty data frames and empty pings are
//   ignored, never a pong. A control frame's flags replace the data type, so payload bytes of a
//   ping, or the first payload byte of a close with a status code, reach the file-transfer side;
//   such a close is answered `88 00` but the session stays open. An empty close is answered
//   `88 00` and ends the session.
import net from 'node:net';
import crypto from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const TEXT = 1;
export const BINARY = 2;

/**
 * Serves WebSocket sessions on `port`. `onSession(conn)` is called after each handshake; `conn`
 * gets `onData(bytes, type)` (type TEXT, BINARY, or a control opcode whose payload leaks, as on
 * a board), `onClose()`, `onPing()`, and offers `send(bytes, binary)`, `drop()`, `peer`.
 */
export function listen({ host, port, instant = false, base, onSession }) {
  const server = net.createServer({ noDelay: instant }, (sock) => handshake(sock, { instant, base, onSession }));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(server); });
  });
}

function handshake(sock, opts) {
  sock.setNoDelay(opts.instant);
  sock.on('error', () => {});
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 8192) sock.destroy();
      return;
    }
    sock.off('data', onData);
    const rest = head.subarray(end + 4);
    const lines = head.subarray(0, end).toString('latin1').split('\r\n').slice(1);
    let key = null;
    let upgrade = false;
    let websocket = false;
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon < 0) { sock.destroy(); return; } // the board's header split raises here
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name === 'Sec-WebSocket-Key') key = value;
      else if (name === 'Connection' && value.includes('Upgrade')) upgrade = true;
      else if (name === 'Upgrade' && value === 'websocket') websocket = true;
    }
    if (!(key && upgrade && websocket)) {
      sock.write('HTTP/1.0 200 OK\r\n\r\n<base href="');
      sock.write(opts.base);
      sock.end('"></base>\r\n<script src="webrepl_content.js"></script>\r\n');
      return;
    }
    const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ');
    sock.write(accept);
    sock.write('\r\n\r\n');
    const conn = new Conn(sock, opts.instant);
    opts.onSession(conn);
    if (rest.length) conn.receive(rest);
    sock.on('data', (d) => conn.receive(d));
  };
  sock.on('data', onData);
}

class Conn {
  constructor(sock, instant) {
    this.sock = sock;
    this.instant = instant;
    this.peer = `('${sock.remoteAddress?.replace('::ffff:', '')}', ${sock.remotePort})`;
    this.buf = Buffer.alloc(0);
    this.dataType = TEXT;
    this.closed = false;
    this.onData = () => {};
    this.onPing = () => {};
    this.onEmpty = () => {};
    this.onEmpty = () => {};
    this.onCloseFrame = () => {};
    this.onClose = () => {};
    sock.on('close', () => this.end());
  }

  end() {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  /** Drops the TCP connection without a close frame, as a board's `close()` does. */
  drop() {
    this.sock.destroy();
    this.end();
  }

  /**
   * One frame: header and payload as two writes, each its own `send` to the system (Node writes
   * at once while the socket is not backed up; when it is, the data coalesces anyway, as held
   * segments do on a board). One write when instant.
   */
  send(payload, binary) {
    if (this.closed || this.sock.destroyed) return;
    const n = payload.length;
    const header = n < 126 ? Buffer.from([binary ? 0x82 : 0x81, n]) : Buffer.from([binary ? 0x82 : 0x81, 126, n >> 8, n & 0xff]);
    if (this.instant) this.sock.write(Buffer.concat([header, payload]));
    else {
      this.sock.write(header);
      if (n > 0) this.sock.write(Buffer.from(payload));
    }
  }

  /** Bytes written as they are (then `done`). */
  raw(bytes, done = () => {}) {
    this.sock.write(bytes, done);
  }

  receive(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.closed) {
      const b = this.buf;
      if (b.length < 2) return;
      const opcode = b[0] & 0x0f;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 127) { this.drop(); return; } // 64-bit length: the board closes the socket
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      }
      const masked = (b[1] & 0x80) !== 0;
      if (b.length < at + (masked ? 4 : 0) + len) return;
      const mask = masked ? b.subarray(at, at + 4) : null;
      if (masked) at += 4;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      this.buf = b.subarray(at + len);
      this.frame(opcode, payload);
    }
  }

  frame(opcode, payload) {
    // Every frame but a continuation sets the data type, control frames included.
    if (opcode !== 0) this.dataType = opcode;
    if (opcode === 0x8) {
      this.onCloseFrame(payload);
      if (payload.length === 0) {
        this.raw(Buffer.from([0x88, 0x00]), () => this.sock.end());
        this.end();
        return;
      }
      // The board reads the first payload byte as data of type "close" (so not terminal text),
      // loses the rest, answers the close and carries on.
      this.onData(payload.subarray(0, 1), opcode);
      this.raw(Buffer.from([0x88, 0x00]));
      return;
    }
    if (opcode === 0x9) this.onPing(payload);
    if (payload.length) this.onData(payload, this.dataType);
    else if (opcode === 1 || opcode === 2) this.onEmpty();
    else if (opcode === 1 || opcode === 2) this.onEmpty();
  }
}
