// Runs a command while a virtual board listens on a free port: `node tools/with-board.mjs -- CMD…`.
// The command sees WEBREPL_TEST_BOARD (its ws:// URL), WEBREPL_TEST_PASSWORD and
// WEBREPL_TEST_CLOSED_PORT (a loopback port where nothing listens).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startBoard } from './virtual-board/board.mjs';

const i = process.argv.indexOf('--');
const cmd = i >= 0 ? process.argv.slice(i + 1) : [];
if (cmd.length === 0) {
  console.error('usage: node tools/with-board.mjs -- COMMAND [ARGS…]');
  process.exit(2);
}
const password = 'secret123';
const board = await startBoard({ port: 0, password });
// A port that was free a moment ago: nothing listens there (for "connection refused" tests).
const closedPort = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const env = { ...process.env, WEBREPL_TEST_CLOSED_PORT: String(closedPort), WEBREPL_TEST_BOARD: `ws://127.0.0.1:${board.port}/`, WEBREPL_TEST_PASSWORD: password };
const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit', env });
child.on('exit', async (code, signal) => {
  await board.close();
  process.exit(code ?? (signal ? 1 : 0));
});
