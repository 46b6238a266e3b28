/**
 * Issue 17's teams in a real browser against the real server, with e-mail
 * through a real SMTP listener: an admin invites a colleague from the Admin
 * page, the colleague opens the e-mailed link, chooses a password and lands in
 * the org with the role; a user in two orgs switches between them in the top
 * bar; a forgotten password is reset through the e-mailed link; a member is
 * removed. Screenshots: e2e/screenshots/teams-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startServer, until, type TestServer } from '../../server/test/helpers.js';
import { startSmtp, type PrivateSmtp, type ReceivedMail } from '../../server/test/private-smtp.js';
import { CONTEXT, PHONE, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

let server: TestServer;
let smtp: PrivateSmtp;
let browser: Browser;
let mails: ReceivedMail[] = [];

/** The link an e-mail carries (quoted-printable soft breaks undone). */
async function linkMailedTo(email: string, path: string, after: number): Promise<string> {
  const mail = await until(() => mails.slice(after).find((m) => m.to.some((t) => t.toLowerCase() === email)));
  const m = new RegExp(`https?://\\S+${path}#\\S+`).exec(mail.raw.replace(/=\r?\n/g, ''));
  if (!m) throw new Error(`no ${path} link in the e-mail`);
  return m[0];
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext(CONTEXT)).newPage();
  return { page, errors: await watchErrors(page) };
}

beforeAll(async () => {
  smtp = await startSmtp();
  mails = smtp.mails;
  server = await startServer({ TETHER_SMTP_URL: smtp.url });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await smtp?.close();
});

describe('teams in the dashboard', () => {
  it('an admin invites a colleague, who accepts from the e-mail and lands in the org as operator', async () => {
    const { page: admin, errors } = await newPage();
    await signIn(admin, server.httpUrl, ADMIN.email, ADMIN.password, '/admin');
    const panel = admin.locator('#invitations');
    await panel.getByRole('button', { name: 'Invite by e-mail' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Invite a member' });
    await dialog.getByLabel('Email').fill('nora@example.com');
    await dialog.getByLabel('Role').selectOption('operator');
    const before = mails.length;
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const result = admin.getByTestId('invitation-result');
    await result.getByText('is on its way to nora@example.com').waitFor();
    await screenshot(admin, 'teams-invited');
    await result.getByRole('button', { name: 'Done' }).click();
    await panel.getByRole('row', { name: /nora@example\.com/ }).waitFor();
    await panelScreenshot(panel, 'teams-pending');

    // The colleague, in their own browser, follows the e-mailed link.
    const link = await linkMailedTo('nora@example.com', '/invite', before);
    expect(link.startsWith(`${server.httpUrl}/invite#inv_`)).toBe(true);
    const { page: nora, errors: noraErrors } = await newPage();
    await nora.goto(link);
    await nora.getByRole('heading', { name: 'Join Default org' }).waitFor();
    expect(await nora.getByTestId('invitation-summary').textContent()).toMatch(/Admin invited nora@example\.com to Default org as operator/);
    await nora.getByLabel('Your name').fill('Nora North');
    await nora.getByLabel('Choose a password').fill('nora-password-1');
    await nora.getByLabel('Repeat the password').fill('nora-password-1');
    await screenshot(nora, 'teams-accept');
    await nora.getByRole('button', { name: 'Accept and join Default org' }).click();
    await nora.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(new URL(nora.url()).pathname).toBe('/');
    expect(await nora.locator('.whoami').textContent()).toMatch(/Nora North\s*operator/);
    expect(await nora.getByLabel('Organization').inputValue()).toBe((await server.api.me()).orgId);
    await screenshot(nora, 'teams-landed');

    // The same link again is refused, with the reason.
    const { page: again } = await newPage();
    await again.goto(link);
    await again.getByRole('alert').getByText('already accepted').waitFor();

    // On the admin's page the invitation is no longer pending, and Nora is a member.
    await admin.reload();
    await admin.locator('#invitations').getByText('No pending invitations.').waitFor();
    await admin
      .locator('#users')
      .getByRole('row', { name: /nora@example\.com/ })
      .waitFor();
    expect(errors).toEqual([]);
    expect(noraErrors).toEqual([]);
  });

  it('a user in two orgs switches between them in the top bar', async () => {
    const orgB = await server.api.orgs.create('Warehouse B');
    const { page, errors } = await newPage();
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password);
    const switcher = page.getByLabel('Organization');
    await until(async () => (await switcher.locator('option').count()) === 3);
    await screenshot(page, 'teams-switcher', false);
    await switcher.selectOption({ label: 'Warehouse B' });
    await page.waitForURL(`${server.httpUrl}/`);
    await until(async () => (await page.getByLabel('Organization').inputValue()) === orgB.id);
    await page.goto(`${server.httpUrl}/admin`);
    await page.getByRole('heading', { name: 'Admin' }).waitFor();
    expect(await page.getByText('Members, API keys, notification targets, configuration and audit log of Warehouse B').count()).toBe(1);
    // Org B has its own members: only the admin.
    const rows = page.locator('#users tbody tr');
    await until(async () => (await rows.count()) === 1);
    await page.getByLabel('Organization').selectOption({ label: 'Default org' });
    await until(async () => (await page.getByLabel('Organization').inputValue()) !== orgB.id);
    expect(errors).toEqual([]);

    // On a phone the switcher fits in the top bar: nothing wider than the screen.
    const phone = await (await browser.newContext(PHONE)).newPage();
    await signIn(phone, server.httpUrl, ADMIN.email, ADMIN.password);
    await phone.getByLabel('Organization').waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(phone, 'teams-switcher-phone', false);
  });

  it('a forgotten password is reset through the e-mailed link', async () => {
    const { page, errors } = await newPage();
    await page.goto(server.httpUrl);
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill('nora@example.com');
    const before = mails.length;
    await page.getByRole('button', { name: 'E-mail me a reset link' }).click();
    await page.getByRole('status').getByText('an e-mail with a link to choose a new password is on its way').waitFor();
    await screenshot(page, 'teams-forgot');

    const link = await linkMailedTo('nora@example.com', '/reset-password', before);
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill('nora-new-password-2');
    await page.getByLabel('Repeat the new password').fill('nora-new-password-2');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Password changed' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email').fill('nora@example.com');
    await page.getByLabel('Password').fill('nora-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Wrong email or password.').waitFor();
    await page.getByLabel('Password').fill('nora-new-password-2');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('an admin removes a member', async () => {
    const { page, errors } = await newPage();
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, '/admin');
    const users = page.locator('#users');
    await users.getByRole('button', { name: 'Remove nora@example.com' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove nora@example.com?' });
    await screenshot(page, 'teams-remove');
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await users.getByRole('row', { name: /nora@example\.com/ }).waitFor({ state: 'detached' });
    const audit = await server.api.audit.list({ action: 'membership.' });
    expect(audit.items.map((e) => e.action)).toContain('membership.remove');
    expect(errors).toEqual([]);
  });
});
