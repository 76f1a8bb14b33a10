// The console's size and first-load time on loopback (issue 22), in Debian's Chromium:
//
//   bash tests/browser/server.sh start /tmp/console-bench build-rel/rapport
//   node bench/console_load.mjs /tmp/console-bench [RUNS]
//   bash tests/browser/server.sh stop /tmp/console-bench
//
// Prints the bytes the browser fetched for the console (HTML, JS, CSS, as served) and, per
// run in a fresh profile (cold cache) and then reloaded (warm cache), the time from navigation
// to the load event and until the driver sees the first page heading (an upper bound: it
// includes the round trips of the driver), with the analytics page as the heaviest.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [stateDir, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const web = join(dirname(fileURLToPath(import.meta.url)), '../web');
const require = createRequire(join(web, 'package.json'));
const { chromium } = require('playwright-core');
const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(path) {
  const profile = mkdtempSync(join(tmpdir(), 'rapport-console-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  const page = context.pages()[0] || (await context.newPage());
  const bytes = {};
  page.on('response', async (r) => {
    const url = r.url();
    if (url.includes('/v1/')) return;
    try {
      bytes[url.replace(state.url, '/')] = (await r.body()).length;
    } catch { /* a redirect has no body */ }
  });
  const timing = async () => {
    await page.waitForSelector('main h1');
    const heading = await page.evaluate(() => performance.now());
    await page.waitForLoadState('load');
    const load = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
    return { load, heading };
  };
  await page.goto(`${state.url}#${path}?token=${state.admin}`);
  const cold = await timing();
  await page.reload();
  const warm = await timing();
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  return { bytes, cold, warm };
}

for (const path of ['/persons', '/analytics']) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await measure(path));
  const bytes = results[0].bytes;
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  console.log(`#${path}: ${total} bytes of console (${Object.entries(bytes).map(([u, n]) => `${u} ${n}`).join(', ')})`);
  for (const kind of ['cold', 'warm']) {
    const load = median(results.map((r) => r[kind].load));
    const heading = median(results.map((r) => r[kind].heading));
    console.log(`  ${kind}: load event ${load.toFixed(0)} ms, first heading ${heading.toFixed(0)} ms (median of ${runs})`);
  }
}
