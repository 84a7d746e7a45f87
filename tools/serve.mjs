// `tools/dev.sh serve`: serves the built page and starts the virtual board as its default
// target (its BASE set to this server, so its own page boots this client), then prints the URLs
// to open (one click on Connect logs in).
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

// CORS on, as GitHub Pages: the board's own page (its BASE is this server) loads the client.
const web = await serveStatic(new URL('../dist/', import.meta.url).pathname, { port: pagePort, cors: true });
const board = await startBoard({ port: boardPort, password, base: web.url });
const boardUrl = `ws://127.0.0.1:${board.port}/`;
console.log(`virtual board: ${boardUrl} (password ${password})`);
console.log(`open: ${web.url}?url=${encodeURIComponent(boardUrl)}&password=${encodeURIComponent(password)}`);
console.log(`or the page the board serves (BASE = ${web.url}): http://127.0.0.1:${board.port}/`);
console.log('Press Ctrl-C to stop.');
const stop = async () => {
  await Promise.allSettled([board.close(), web.close()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
