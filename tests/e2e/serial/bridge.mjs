// The wire behind the Web Serial stand-in (fake-serial.js): the virtual board in serial mode
// (tools/virtual-board/serial.mjs: real MicroPython on a pseudo-terminal, paced to its baud
// rate, with its small input buffer) and a WebSocket server that opens the pty for each port
// the page opens and carries the bytes both ways, unchanged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { startSerialBoard } from '../../../tools/virtual-board/serial.mjs';

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-serial.js');

/** Starts a serial virtual board (`baud` 0: unthrottled) and the bridge to it. */
export async function startSerialBridge({ baud = 0, inputBuffer = 256, log = false } = {}) {
  const link = path.join(os.tmpdir(), `vb-page-serial-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const board = await startSerialBoard({ link, baud, inputBuffer, log });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const stats = { opens: 0, bytesToBoard: 0, bytesFromBoard: 0, droppedWhileClosed: 0 };
  // One end of the pty, read all the time: what the board prints while no page has the port
  // open is lost, as a board's USB CDC drops output when no host reads it (a new open does not
  // see the last session's leftovers).
  const fd = fs.openSync(board.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const rs = new tty.ReadStream(fd);
  rs.setRawMode(true);
  let current = null;
  rs.on('data', (d) => {
    if (current) {
      stats.bytesFromBoard += d.length;
      current.send(d);
    } else {
      stats.droppedWhileClosed += d.length;
    }
  });
  const open = new Set();
  wss.on('connection', (ws) => {
    if (current) {
      // One program at a time has a port open.
      ws.close(4000, 'port busy');
      return;
    }
    stats.opens++;
    current = ws;
    let closed = false;
    const end = () => {
      if (closed) return;
      closed = true;
      open.delete(end);
      if (current === ws) current = null;
      ws.close();
    };
    open.add(end);
    // Writes in order, off the event loop (the board runs in this process).
    let chain = Promise.resolve();
    ws.on('message', (data) => {
      const buf = Buffer.from(data);
      stats.bytesToBoard += buf.length;
      chain = chain.then(() => writeAll(fd, buf, () => closed)).catch(end);
    });
    ws.on('close', end);
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}/`,
    board,
    stats,
    /** The init script for a browser context: the stand-in, talking to this bridge. */
    initScript(opts = {}) {
      const cfg = { bridge: `ws://127.0.0.1:${wss.address().port}/`, ...opts };
      return `window.__fakeSerialConfig = ${JSON.stringify(cfg)};\n${fs.readFileSync(FAKE, 'utf8')}`;
    },
    async close() {
      for (const end of [...open]) end();
      await new Promise((r) => wss.close(r));
      rs.destroy();
      await board.close();
    },
  };
}

/** The stand-in's source with `cfg` (for pages that do not talk to a board, e.g. `absent`). */
export function fakeSerialScript(cfg) {
  return `window.__fakeSerialConfig = ${JSON.stringify(cfg)};\n${fs.readFileSync(FAKE, 'utf8')}`;
}

function writeAll(fd, buf, closed) {
  return new Promise((resolve, reject) => {
    const step = (off) => {
      if (closed()) return resolve();
      if (off >= buf.length) return resolve();
      fs.write(fd, buf, off, buf.length - off, null, (err, n) => {
        if (err) {
          if (err.code === 'EAGAIN') return setTimeout(() => step(off), 1);
          return reject(err);
        }
        step(off + n);
      });
    };
    step(0);
  });
}
