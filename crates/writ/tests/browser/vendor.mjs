// Writ's `redirect` login mode in headless Chromium: an agent sends the person to Writ, Writ sends
// them to the vendor's login page (docs/examples/vendor_login.py, another site), the person logs in
// there with the vendor's own form, the vendor sends them back with a signed login response, and
// the person allows the agent on Writ's consent page. The second time, the vendor remembers them
// and Writ remembers the consent: the agent gets its code without a page being shown.
//
// usage: node vendor.mjs ISSUER AGENT_ID REDIRECT_URI USERNAME PASSWORD SCREENSHOTS
// Prints what it saw as JSON; exits non-zero on any failure.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

import { startAgent } from './agent.mjs';

const [issuer, agent, redirectUri, username, password, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });

function assert(ok, what) {
  if (!ok) throw new Error(`assertion failed: ${what}`);
}

const browser = await chromium.launch({ executablePath: process.env.WRIT_CHROMIUM || '/usr/bin/chromium', headless: true });
const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
const page = await context.newPage();
const theAgent = await startAgent(issuer, agent, redirectUri);
process.on('uncaughtException', async (e) => {
  console.error(e);
  try {
    console.error(`at ${page.url()}:\n${(await page.textContent('body')).slice(0, 1000)}`);
    await page.screenshot({ path: `${shots}/vendor-failure.png`, fullPage: true });
  } finally {
    process.exit(1);
  }
});

const { authorize, callback: callbackBase } = theAgent;
const seen = {};

// 1. Off to the vendor's own login page, on another site.
await page.goto(authorize('first'));
const vendorPage = new URL(page.url());
assert(vendorPage.origin !== new URL(issuer).origin, `the vendor's page is elsewhere: ${page.url()}`);
assert(vendorPage.searchParams.has('request'), 'Writ sent a login request');
await page.screenshot({ path: `${shots}/vendor-login.png`, fullPage: true });
await page.fill('#username', username);
await page.fill('#password', password);
// 2. Back at Writ, logged in: the consent page for the agent.
await Promise.all([page.waitForURL(`${issuer}/oauth/consent**`), page.click('button[type=submit]')]);
seen.consent = await page.textContent('main');
await page.screenshot({ path: `${shots}/vendor-consent.png`, fullPage: true });
await Promise.all([page.waitForURL(`${callbackBase}**`), page.click('button[value=allow]')]);
const first = new URL(page.url());
assert(first.searchParams.get('state') === 'first' && first.searchParams.get('iss') === issuer, 'state and iss');
seen.token = await theAgent.exchange(first.searchParams.get('code'));

// 3. Writ's session ends; the vendor still knows the person, and the consent is remembered: the
//    whole round trip runs without a page to fill in.
await context.clearCookies({ name: 'writ_session' });
await page.goto(authorize('second'));
await page.waitForURL(`${callbackBase}**`);
const second = new URL(page.url());
assert(second.searchParams.get('state') === 'second' && second.searchParams.has('code'), 'a second code');
seen.cookies = (await context.cookies()).map((c) => ({ name: c.name, domain: c.domain, sameSite: c.sameSite, httpOnly: c.httpOnly }));

await browser.close();
theAgent.close();
console.log(JSON.stringify(seen));
