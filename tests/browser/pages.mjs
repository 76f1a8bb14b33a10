// Browser tests of the console: Debian's Chromium, headless, driven by playwright-core
// against the real server of the `console` fixture (server.sh) with the demo's data. One test
// per page, asserting what a user sees; each saves a screenshot and runs axe-core (no serious
// or critical violation).
//
//   node pages.mjs TEST STATE_DIR SCREENSHOT_DIR
//
// Exit 77 (ctest: skipped) only when /usr/bin/chromium is not installed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const CHROMIUM = '/usr/bin/chromium';
const [name, stateDir, shotDir] = process.argv.slice(2);
if (!existsSync(CHROMIUM)) {
  console.log(`SKIPPED: ${CHROMIUM} is not installed (scripts/install-deps.sh installs Debian's chromium)`);
  process.exit(77);
}
const web = join(dirname(fileURLToPath(import.meta.url)), '../../web');
const require = createRequire(join(web, 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
mkdirSync(shotDir, { recursive: true });

async function withBrowser(fn) {
  const profile = mkdtempSync(join(tmpdir(), 'rapport-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1280, height: 900 },
    bypassCSP: true,  // only so that axe-core can be injected; the app itself runs under its CSP
  });
  context.setDefaultTimeout(15000);
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await fn(page);
    assert.deepEqual(errors, [], 'no script error on the page');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// Opens a console page signed in with `token` (the demo's #token= link form).
async function open(page, path, token = state.admin) {
  const sep = path.includes('?') ? '&' : '?';
  await page.goto(`${state.url}#${path}${sep}token=${token}`);
  await page.waitForSelector('main h1');
  assert.ok(!page.url().includes('token='), `the token is removed from the address bar: ${page.url()}`);
}

async function shot(page, label) {
  await page.screenshot({ path: join(shotDir, `${label}.png`), fullPage: true });
}

async function accessible(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`), [],
    `${label}: no serious accessibility violation`);
}

const text = (page, sel) => page.locator(sel).innerText();

const tests = {
  async login(page) {
    await page.goto(state.url);
    await page.getByLabel('API token').fill('tok_nope.nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /not valid/);
    await accessible(page, 'login');
    await shot(page, 'login');
    await page.getByLabel('API token').fill(state.analyst);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const nav = await text(page, 'nav');
    assert.match(nav, /Analytics/);
    // A partner sees only what partners may: no customers, no analytics.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await open(page, '/work-orders', state.partner_c);
    const partnerNav = await text(page, 'nav');
    assert.doesNotMatch(partnerNav, /Customers|Analytics|Privacy/);
    assert.match(partnerNav, /Work orders/);
  },

  async persons(page) {
    await open(page, '/persons?q=Johann Müller Hauptstraße');
    const johann = page.getByRole('row').filter({ hasText: 'Johann' }).filter({ hasText: 'Hauptstr' }).first();
    await johann.waitFor();
    await johann.getByRole('link').click();
    await page.getByRole('heading', { name: /Source records \(2\)/ }).waitFor();
    const records = await text(page, '.records');
    assert.match(records, /shop:C-1001/);
    assert.match(records, /shop:C-1002/);
    // The second record's evidence: a waterfall with the comparisons and their weights.
    const waterfall = page.getByRole('img', { name: /Match evidence: total weight/ });
    assert.equal(await waterfall.count(), 1);
    const evidence = await text(page, '.evidence');
    assert.match(evidence, /surname/);
    assert.match(evidence, /[+-]\d+\.\d\d/);
    // Household with Anna, his cases, his journeys, the golden record with sources.
    assert.match(await text(page, 'main'), /Anna/);
    assert.match(await text(page, 'main'), /trade-in · O-6000/);
    assert.match(await text(page, 'main'), /Golden record/);
    await accessible(page, 'persons');
    await shot(page, 'person-360-johann');
  },

  async reviews(page) {
    await open(page, '/reviews', state.agent);
    await page.getByText(/pair\(s\) waiting/).waitFor();
    const before = Number((await page.getByText(/pair\(s\) waiting/).innerText()).match(/(\d+) pair/)[1]);
    await page.getByRole('region', { name: 'Record', exact: true }).locator('dl').waitFor();
    await page.getByRole('region', { name: 'Candidate' }).locator('dl').waitFor();
    await accessible(page, 'reviews');
    await shot(page, 'reviews');
    await page.keyboard.press('a');  // one key accepts the pair
    await page.getByRole('status').filter({ hasText: 'Accepted' }).waitFor();
    // The queue reloads after the decision: wait for it to hold one pair fewer (it may still
    // show the old count for a moment, under load).
    const left = before - 1;
    await page
      .getByText(left === 0 ? /No pair is waiting/ : new RegExp(`^${left} pair\\(s\\) waiting`))
      .waitFor();
  },

  async journeys(page) {
    await open(page, '/journeys');
    await page.getByRole('link', { name: 'trade-in' }).click();
    await page.getByRole('link', { name: 'O-6000' }).waitFor();
    await page.getByRole('button', { name: 'Check trade-in' }).click();
    await page.getByText(/^(Pass|\d+ violated)/).waitFor({ timeout: 60000 });
    await page.getByRole('spinbutton', { name: 'Synthetic customers' }).fill('300');
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByRole('table', { name: 'Customer-facing anomalies' }).waitFor({ timeout: 60000 });
    assert.ok((await page.locator('.chart canvas').count()) > 0, 'distributions drawn as charts');
    await accessible(page, 'journeys');
    await shot(page, 'journey-trade-in');
    // Johann's trade-in: the timeline with the reasons of each decision.
    await open(page, '/journeys/trade-in/O-6000');
    const timeline = await text(page, '.timeline');
    assert.match(timeline, /fired/);
    assert.match(timeline, /requires kit\.delivered: held since/);
    await accessible(page, 'instance');
    await shot(page, 'journey-instance-O-6000');
  },

  async cases(page) {
    await open(page, '/cases', state.agent);
    await page.getByRole('heading', { name: /tech-support/ }).waitFor();
    assert.match(await text(page, 'main'), /first_contact (met|breached)|resolution: .* (left|overdue)/);
    await accessible(page, 'cases');
    await shot(page, 'cases');
    // The handed-over call: the receiving agent sees what is known and must not be asked.
    await page.getByRole('link', { name: 'Call about invoice and phone' }).click();
    await page.getByRole('heading', { name: 'Known' }).waitFor();
    const main = await text(page, 'main');
    assert.match(main, /Team tech-support/);
    assert.match(main, /C-1001/);
    assert.match(main, /Do not ask[\s\S]*customer_number/);
    assert.match(main, /Asked twice: 0/);
    assert.match(main, /handover/);
    await accessible(page, 'case view');
    await shot(page, 'case-view');
  },

  async workorders(page) {
    await open(page, '/work-orders', state.partner_c);
    const link = page.getByRole('row').filter({ hasText: 'partner-c' }).getByRole('link').first();
    const id = await link.innerText();
    await link.click();
    await page.getByRole('heading', { name: 'Parts likely needed' }).waitFor();
    const main = await text(page, 'main');
    assert.match(main, /partner-a/, 'history from partner A');
    assert.match(main, /partner-b/, 'history from partner B');
    assert.match(main, /\d+(\.\d)? %/, 'parts with probabilities');
    assert.match(main, /repairs at level/, 'the counts behind them');
    await accessible(page, 'briefing');
    await shot(page, 'briefing-partner-c');
    // Another partner cannot open it.
    await open(page, `/work-orders/${id}`, state.partner_b);
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /Could not load the briefing/);
    assert.doesNotMatch(await text(page, 'main'), /Parts likely needed/);
    await shot(page, 'briefing-refused-partner-b');
  },

  async privacy(page) {
    await open(page, '/privacy');
    await page.getByRole('heading', { name: 'Leak findings' }).waitFor();
    await page.getByText('vergleichsportal: 1').waitFor();
    assert.match(await text(page, 'main'), /adressverlag\.de/);
    const person = await page.getByRole('row').filter({ hasText: 'vergleichsportal' }).getByRole('link').first().innerText();
    await page.getByLabel('Person id').fill(person);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('heading', { name: 'Disclosure register' }).waitFor();
    await page.getByText(/refused: /).first().waitFor();
    await page.getByRole('button', { name: 'Access report (Art. 15)' }).click();
    await page.getByRole('status').filter({ hasText: 'Access report ready' }).waitFor();
    await accessible(page, 'privacy');
    await shot(page, 'privacy');
  },

  async analytics(page) {
    await open(page, '/analytics', state.agent);
    await page.getByRole('heading', { name: /One truth per customer/ }).waitFor();
    const avoided = page.locator('.figure').filter({ hasText: 'Letters avoided' }).locator('dd').first();
    assert.ok(Number(await avoided.innerText()) > 0, 'letters avoided > 0');
    const premature = page.locator('.figure').filter({ hasText: 'Premature messages' }).locator('dd').first();
    assert.equal(await premature.innerText(), '0');
    assert.ok((await page.locator('.chart canvas').count()) >= 3, 'the series as charts');
    await accessible(page, 'analytics');
    await shot(page, 'analytics');
    // An agent opens a case for a customer at risk.
    const first = page.getByRole('button', { name: /^Open case/ }).first();
    await first.click();
    await page.getByRole('status').filter({ hasText: /Case case_\w+ opened/ }).waitFor();
  },
};

if (!tests[name]) {
  console.error(`unknown test '${name}' (${Object.keys(tests).join(', ')})`);
  process.exit(2);
}
const t0 = Date.now();
await withBrowser(tests[name]);
console.log(`browser ${name}: passed in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${shotDir}`);
