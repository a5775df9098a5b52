// Writ's pages in headless Chromium, as a person uses them: set a password from an invitation,
// log out, fail and then succeed to log in, deny and then allow an agent (the browser enforcing
// the pages' Content-Security-Policy, `form-action` on the redirect included), and connect a
// device. Each page is checked for what a person relies on — every field labelled, the stylesheet
// applied under the CSP, nothing wider than a 360 px screen, the keyboard reaching the form, text
// contrast at WCAG AA in the light and the dark scheme — and photographed into the screenshot
// directory.
//
// usage: node pages.mjs ISSUER INVITATION_URL ORG EMAIL PASSWORD AGENT_ID REDIRECT_URI DEVICE_CLIENT_ID SCREENSHOTS
// Prints what it saw as JSON; exits non-zero on any failure.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

import { startAgent } from './agent.mjs';

const [issuer, invitation, org, email, password, agent, redirectUri, deviceClient, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });

function assert(ok, what) {
  if (!ok) throw new Error(`assertion failed: ${what}`);
}

const browser = await chromium.launch({ executablePath: process.env.WRIT_CHROMIUM || '/usr/bin/chromium', headless: true });
const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
const page = await context.newPage();
const blocked = [];
page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) blocked.push(m.text()); });
// The agent; where the browser lands is read from the browser.
const theAgent = await startAgent(issuer, agent, redirectUri);

/// The visible text of the page whose contrast with its background is below WCAG 2 AA (4.5:1, or
/// 3:1 for large text), as `TAG ratio` strings. Runs in the page.
function lowContrast() {
  const channels = (c) => c.match(/[\d.]+/g).map(Number);
  const luminance = (c) => {
    const [r, g, b] = channels(c).slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      const alpha = channels(bg)[3];
      if (alpha === undefined || alpha > 0) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!text || box.width === 0 || box.right < 0) continue; // hidden, or the skip link off screen
    const style = getComputedStyle(el);
    const [a, b] = [luminance(style.color), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName} ${ratio.toFixed(2)}`);
  }
  return low;
}

/// What a person relies on, checked on the page shown now; then a screenshot.
async function check(name) {
  const report = await page.evaluate(() => {
    const fields = [...document.querySelectorAll('input:not([type=hidden]):not([hidden]), button')];
    const unlabelled = fields
      .filter((f) => f.tagName === 'INPUT' && !(f.labels && f.labels.length) && !f.getAttribute('aria-label'))
      .map((f) => f.name);
    const button = document.querySelector('button');
    return {
      title: document.title,
      lang: document.documentElement.lang,
      unlabelled,
      overflow: document.documentElement.scrollWidth > window.innerWidth,
      styled: button ? getComputedStyle(button).borderRadius !== '0px' : true,
      h1: document.querySelectorAll('h1').length,
    };
  });
  assert(report.unlabelled.length === 0, `${name}: unlabelled fields ${report.unlabelled}`);
  assert(!report.overflow, `${name}: wider than 360 px`);
  assert(report.styled, `${name}: the stylesheet did not apply`);
  assert(report.lang === 'en' && report.h1 === 1, `${name}: a language and one heading`);
  for (const scheme of ['dark', 'light']) {
    await page.emulateMedia({ colorScheme: scheme });
    const low = await page.evaluate(lowContrast);
    assert(low.length === 0, `${name} (${scheme}): text below WCAG AA contrast: ${low}`);
  }
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  return report;
}

const seen = {};
// On any failure, say where the browser was and what it showed.
process.on('uncaughtException', async (e) => {
  console.error(e);
  try {
    console.error(`at ${page.url()}:\n${(await page.textContent('body')).slice(0, 1000)}\nblocked: ${blocked}`);
    await page.screenshot({ path: `${shots}/failure.png`, fullPage: true });
  } finally {
    process.exit(1);
  }
});

// 1. The invitation: the keyboard reaches the password field first, and the form sets it.
await page.goto(invitation);
seen.invitation = await check('invitation');
await page.keyboard.press('Tab'); // the skip link
await page.keyboard.press('Tab');
assert(await page.evaluate(() => document.activeElement.id === 'password'), 'focus goes to the first field');
await page.fill('#password', password);
await page.fill('#confirm', password);
await Promise.all([page.waitForURL(`${issuer}/oauth/account`), page.click('button[type=submit]')]);
seen.account = await check('account');

// 2. Log out, then a wrong password, then the right one.
await Promise.all([page.waitForURL(/\/oauth\/login$/), page.click('button.secondary')]);
await page.fill('#org', org);
await page.fill('#email', email);
await page.fill('#password', 'not the password at all');
await page.click('button[type=submit]');
await page.waitForSelector('#error');
seen.loginError = await check('login-error');
assert((await page.textContent('#error')).includes('not right'), 'the error says what to check, not which');
await page.fill('#password', password);
await Promise.all([page.waitForURL(`${issuer}/oauth/account`), page.click('button[type=submit]')]);

// 3. An agent asks; the person denies, then allows.
const { authorize, callback: callbackBase } = theAgent;
await page.goto(authorize('first'));
seen.consent = await check('consent');
assert(await page.isVisible('text=Read your invoices'), 'each scope in words');
await Promise.all([page.waitForURL(`${callbackBase}**`), page.click('button[value=deny]')]);
const denied = new URL(page.url());
assert(denied.searchParams.get('error') === 'access_denied' && denied.searchParams.get('state') === 'first', 'denied');
await page.goto(authorize('second'));
await Promise.all([page.waitForURL(`${callbackBase}**`), page.click('button[value=allow]')]);
const allowed = new URL(page.url());
assert(allowed.searchParams.get('state') === 'second' && allowed.searchParams.get('iss') === issuer, 'state and iss');
seen.token = await theAgent.exchange(allowed.searchParams.get('code'));

// 4. A device: the person follows its link, continues, allows.
const started = await (await fetch(`${issuer}/oauth/device_authorization`, {
  method: 'POST',
  body: new URLSearchParams({ client_id: deviceClient, scope: 'invoices:read' }),
})).json();
await page.goto(started.verification_uri_complete);
seen.device = await check('device');
await Promise.all([page.waitForURL(/\/oauth\/consent/), page.click('button[type=submit]')]);
seen.deviceConsent = await check('device-consent');
await page.click('button[value=allow]');
await page.waitForSelector('text=The device is connected');
seen.deviceDone = await check('device-done');
const polled = await fetch(`${issuer}/oauth/token`, {
  method: 'POST',
  body: new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: deviceClient, device_code: started.device_code,
  }),
});
assert(polled.status === 200, `the device's poll: ${polled.status}`);

// 5. The person's list of agents.
await page.goto(`${issuer}/oauth/account/consents`);
seen.consents = await check('consents');

assert(blocked.length === 0, `the CSP blocked something: ${blocked}`);
await browser.close();
theAgent.close();
console.log(JSON.stringify(seen));
