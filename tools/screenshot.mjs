// Makes www/screenshot.png (the README's picture): the built page connected to the virtual board,
// a program's output in the terminal and the board's files in the panel.
// Usage: tools/dev.sh build && node tools/screenshot.mjs
import path from 'node:path';
import { launch, openPage, connect, type, waitForTerminal, startBoard, ROOT, PASSWORD } from '../tests/e2e/support.mjs';

const board = await startBoard({ port: 0, password: PASSWORD });
await board.writeFile('/main.py', 'from machine import Pin\nled = Pin(2, Pin.OUT)\n');
await board.writeFile('/lib/sensors.py', '# sensor drivers\n'.repeat(40));
await board.writeFile('/data/log.csv', 't,temp\n0,21.5\n');
const env = await launch();
try {
  const page = await openPage(env, board);
  await page.setViewportSize({ width: 1200, height: 640 });
  await connect(page);
  await type(page, "for i in range(3): print('temperature', 21.5 + i / 10, '\\u00b0C')\r\r");
  await waitForTerminal(page, /21\.7[\s\S]*>>>$/);
  await page.waitForSelector('#fs-list li[data-name="main.py"]');
  await page.screenshot({ path: path.join(ROOT, 'www/screenshot.png') });
  console.log('wrote www/screenshot.png');
} finally {
  await env.close();
  await board.close();
}
