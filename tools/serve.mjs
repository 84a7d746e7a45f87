// `tools/dev.sh serve`: serves the built page and starts the virtual board as its default
// target, then prints the URL to open (one click on Connect logs in).
import { serveStatic } from './static-server.mjs';
import { startBoard } from './virtual-board/board.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const pagePort = Number(opt('--port', 8080));
const boardPort = Number(opt('--board-port', 8266));
const password = opt('--password', 'secret123');

const board = await startBoard({ port: boardPort, password });
const web = await serveStatic(new URL('../dist/', import.meta.url).pathname, { port: pagePort });
const boardUrl = `ws://127.0.0.1:${board.port}/`;
console.log(`virtual board: ${boardUrl} (password ${password})`);
console.log(`open: ${web.url}?url=${encodeURIComponent(boardUrl)}&password=${encodeURIComponent(password)}`);
console.log('Press Ctrl-C to stop.');
const stop = async () => {
  await Promise.allSettled([board.close(), web.close()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
