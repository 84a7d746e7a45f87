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

/** USB ids the stand-in port reports for each kind of board: a Raspberry Pi Pico (native USB)
 * and an ESP32 dev kit's CP2102 bridge chip (a UART). The page picks its input flow by them. */
export const USB_IDS = {
  usb: { usbVendorId: 0x2e8a, usbProductId: 0x0005 },
  uart: { usbVendorId: 0x10c4, usbProductId: 0xea60 },
};

/** Starts a serial virtual board (`baud` 0: unthrottled; `inputFlow` 'uart' loses input that
 * overflows, 'usb' holds it back) and the bridge to it. */
export async function startSerialBridge({ baud = 0, inputBuffer = 256, inputFlow = 'uart', log = false } = {}) {
  const link = path.join(os.tmpdir(), `vb-page-serial-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const board = await startSerialBoard({ link, baud, inputBuffer, inputFlow, log });
  let current = null;
  // One program at a time has a port open: a second open fails (the handshake is refused).
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: () => !current });
  await new Promise((r) => wss.once('listening', r));
  const stats = { opens: 0, bytesToBoard: 0, bytesFromBoard: 0, droppedWhileClosed: 0 };
  // One end of the pty, read all the time: what the board prints while no page has the port
  // open is lost, as a board's USB CDC drops output when no host reads it (a new open does not
  // see the last session's leftovers).
  const fd = fs.openSync(board.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const rs = new tty.ReadStream(fd);
  rs.setRawMode(true);
  // Writes go through a tty stream of their own (written from the event loop, in order), not
  // fs.write: that runs on libuv's thread pool, whose wake-ups cost 2–9 ms a write on a busy
  // machine — a round trip a real USB link does not have (it takes ≤ 1 ms).
  const toBoard = new tty.WriteStream(fs.openSync(board.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY));
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
    ws.on('message', (data) => {
      if (closed) return;
      const buf = Buffer.from(data);
      stats.bytesToBoard += buf.length;
      toBoard.write(buf);
    });
    ws.on('close', end);
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}/`,
    board,
    stats,
    /** The init script for a browser context: the stand-in, talking to this bridge. */
    initScript(opts = {}) {
      const cfg = { bridge: `ws://127.0.0.1:${wss.address().port}/`, info: USB_IDS[inputFlow], ...opts };
      return `window.__fakeSerialConfig = ${JSON.stringify(cfg)};\n${fs.readFileSync(FAKE, 'utf8')}`;
    },
    async close() {
      for (const end of [...open]) end();
      await new Promise((r) => wss.close(r));
      rs.destroy();
      toBoard.destroy();
      await board.close();
    },
  };
}

/** The stand-in's source with `cfg` (for pages that do not talk to a board, e.g. `absent`). */
export function fakeSerialScript(cfg) {
  return `window.__fakeSerialConfig = ${JSON.stringify(cfg)};\n${fs.readFileSync(FAKE, 'utf8')}`;
}
