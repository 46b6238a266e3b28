/**
 * Issue 15's files in a real browser against the real server: a device raises
 * an alert naming two dashcam videos (seed 003), the alert's page shows them
 * waiting, then the player as soon as the device uploads one with tus-js-client
 * (no reload); the video plays, seeks through Range requests and really
 * decodes. A PNG shows as a thumbnail that opens large, a log as a download.
 * The device page's Files section deletes a file (asked first); the Files page
 * filters by type. Screenshots land in e2e/screenshots/files-*.png.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { ADMIN, httpJson, startServer, type TestServer } from '../../server/test/helpers.js';
import { tusUpload } from '../../server/test/tus-helpers.js';
import { CONTEXT, launchBrowser, panelScreenshot, pngImage, screenshot, signIn, watchErrors } from './browser.js';

const VIDEOS = fileURLToPath(new URL('../../server/assets/videos/', import.meta.url));
const FRONT = fs.readFileSync(`${VIDEOS}front.webm`);
const CAB = fs.readFileSync(`${VIDEOS}cab.webm`);
const SNAPSHOT = pngImage(640, 360, [30, 90, 160]);
const LOG = Buffer.from('10:00:01 door sensor 2 open\n10:00:04 door sensor 2 closed\n');

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
let cam: { id: string; token: string };
let brakeId: string;
let doorId: string;
/** The file-content requests the page made: their Range header and the status of the answer. */
const content: { url: string; range: string | null; status: number }[] = [];

const api = (method: string, p: string, body?: unknown) =>
  httpJson(`${server.httpUrl}${p}`, { method, token: server.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });

async function raise(body: Record<string, unknown>): Promise<string> {
  const r = await httpJson(`${server.httpUrl}/api/v1/device/alerts`, { method: 'POST', token: cam.token, body: JSON.stringify(body) });
  expect(r.status).toBe(202);
  const list = await api('GET', `/api/v1/alerts?deviceId=${cam.id}&type=${body.type as string}`);
  return (list.body.items as { id: string }[])[0]!.id;
}

const upload = (name: string, bytes: Buffer, filetype: string) => tusUpload(server.httpUrl, cam.token, bytes, { filename: name, filetype }).done;
/**
 * Every player in `scope` has its first frame (HAVE_CURRENT_DATA) and stopped loading; then Chromium's loading
 * spinner fades out over one turn of its animation (a screenshot, which stops animations, would freeze it).
 */
const videosReady = async (scope: Locator) => {
  await expect
    .poll(
      () =>
        scope
          .locator('video')
          .evaluateAll((vs) =>
            vs.every((v) => (v as HTMLVideoElement).readyState >= 2 && (v as HTMLVideoElement).networkState !== HTMLMediaElement.NETWORK_LOADING),
          ),
      { timeout: 15_000 },
    )
    .toBe(true);
  await scope.page().waitForTimeout(1500);
};
const card = (name: string) => page.locator(`.file-card[data-file-name="${name}"]`);

beforeAll(async () => {
  server = await startServer();
  const r = await api('POST', '/api/v1/devices', { name: 'dashcam-7' });
  cam = { id: r.body.id as string, token: r.body.token as string };
  browser = await launchBrowser();
  const context = await browser.newContext(CONTEXT);
  page = await context.newPage();
  errors = await watchErrors(page);
  page.on('response', (res) => {
    if (res.url().includes('/content-link')) content.push({ url: res.url(), range: res.request().headers().range ?? null, status: res.status() });
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('an alert with dashcam videos', () => {
  it('arrives live with a paperclip and its page lists the named files as waiting', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, '/alerts');
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    brakeId = await raise({
      message: 'Harsh braking',
      severity: 'major',
      type: 'harsh_brake',
      ts: Date.now() - 90_000,
      data: { speedKmh: 82, decelG: 0.61, axis: 'x', location: { lat: 52.37, lon: 4.89 } },
      files: ['front.webm', 'cab.webm'],
    });
    // The live feed shows it with the number of files it names.
    const feed = page.getByTestId('live-feed');
    await feed.getByRole('link', { name: 'Harsh braking' }).waitFor();
    expect((await feed.getByTestId('alert-files').textContent())?.trim()).toBe('2 files');
    // So does the history (after it is read again).
    await page.getByTestId('show-new-alerts').click();
    await page.locator('#history').getByTestId('alert-files').filter({ hasText: '2' }).waitFor();
    await screenshot(page, 'files-01-alerts-paperclip');

    await feed.getByRole('link', { name: 'Harsh braking' }).click();
    await page.getByRole('heading', { name: /Harsh braking/, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/alerts/${brakeId}`);
    expect(await page.getByTestId('alert-subtitle').textContent()).toContain('dashcam-7 · harsh_brake');
    // The JSON summary, readably (in the order the server's JSONB keeps keys): text as text, numbers, a nested object as indented JSON.
    const data = page.getByTestId('alert-data');
    await expect(data.locator('dt').allTextContents()).resolves.toEqual(['axis', 'decelG', 'location', 'speedKmh']);
    await expect(data.locator('dd').allTextContents()).resolves.toEqual(['x', '0.61', expect.stringContaining('"lat": 52.37') as unknown as string, '82']);
    expect(await data.locator('pre').count()).toBe(1);
    for (const name of ['front.webm', 'cab.webm']) await expect(card(name).getByTestId('file-state').textContent()).resolves.toBe('Waiting for upload');
    expect(await page.getByTestId('attachments-summary').textContent()).toContain('0 of 2 stored');
    await screenshot(page, 'files-02-alert-waiting');
  });

  it('shows the player once the device uploads, without a reload; it plays, seeks by Range and decodes', async () => {
    await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
    await upload('front.webm', FRONT, 'video/webm');
    const video = card('front.webm').locator('video');
    await video.waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
    await expect(card('front.webm').getByTestId('file-state').textContent()).resolves.toBe('Stored');
    expect(await card('front.webm').getByTestId('file-meta').textContent()).toContain('video/webm · 369 KB');
    await expect(card('cab.webm').getByTestId('file-state').textContent()).resolves.toBe('Waiting for upload');
    expect(await video.getAttribute('preload')).toBe('metadata');
    expect(await video.getAttribute('controls')).not.toBeNull();

    // Metadata first: the 12 s length, from a Range request answered 206.
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await video.evaluate((v: HTMLVideoElement) => Math.round(v.duration))).toBe(12);
    // Muted, so no autoplay policy stands in the way of play() without a click.
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 }).toBeGreaterThan(0.5);
    await video.evaluate((v: HTMLVideoElement) => v.pause());
    // Seek to 8 s and wait until the player has the frame there.
    const seeked = await video.evaluate(
      (v: HTMLVideoElement) =>
        new Promise<{ currentTime: number; readyState: number; width: number; height: number }>((resolve) => {
          v.addEventListener('seeked', () => resolve({ currentTime: v.currentTime, readyState: v.readyState, width: v.videoWidth, height: v.videoHeight }), {
            once: true,
          });
          v.currentTime = 8;
        }),
    );
    expect(Math.abs(seeked.currentTime - 8)).toBeLessThan(0.1);
    expect(seeked.readyState).toBeGreaterThanOrEqual(2); // HAVE_CURRENT_DATA: the frame at 8 s is decoded
    expect(seeked.width).toBeGreaterThan(0);
    expect(seeked.height).toBeGreaterThan(0);
    // The bytes came through the signed url, as Range requests answered 206.
    const forVideo = content.filter((c) => c.url.includes(`/api/v1/files/`) && c.range);
    expect(forVideo.length).toBeGreaterThan(0);
    expect(forVideo.every((c) => c.status === 206)).toBe(true);
    expect(forVideo[0]!.range).toMatch(/^bytes=\d+-/);
    // The page keeps polling (cab.webm is still to come) without restarting the video: the src stays.
    const src = await video.getAttribute('src');
    await page.waitForTimeout(3500);
    expect(await video.getAttribute('src')).toBe(src);
    expect(Math.abs((await video.evaluate((v: HTMLVideoElement) => v.currentTime)) - 8)).toBeLessThan(0.1);
    await screenshot(page, 'files-03-alert-video-seeked');
  });

  it('stops waiting once every named file is stored', async () => {
    await upload('cab.webm', CAB, 'video/webm');
    await card('cab.webm').locator('video').waitFor({ timeout: 15_000 });
    await page
      .getByTestId('attachments-summary')
      .filter({ hasText: /^2 of 2 stored$/ })
      .waitFor();
    const cab = card('cab.webm').locator('video');
    await expect.poll(() => cab.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await cab.evaluate((v: HTMLVideoElement) => Math.round(v.duration))).toBe(12);
    // No more reads of the alert once nothing is pending.
    let reads = 0;
    const count = (r: { url(): string }) => {
      if (r.url().endsWith(`/api/v1/alerts/${brakeId}`)) reads++;
    };
    page.on('request', count);
    await page.waitForTimeout(4000);
    page.off('request', count);
    expect(reads).toBe(0);
    await videosReady(page.locator('#files'));
    await panelScreenshot(page.locator('#files'), 'files-04-alert-both-videos');
  });
});

describe('an alert with a photo and a log', () => {
  it('shows the photo as a thumbnail that opens large, and the log as a download', async () => {
    doorId = await raise({ message: 'Door opened while driving', severity: 'warning', type: 'door_open', data: { door: 2 }, files: ['door.png', 'door.log'] });
    await upload('door.png', SNAPSHOT, 'image/png');
    await upload('door.log', LOG, 'text/plain');
    await page.goto(`${server.httpUrl}/alerts/${doorId}`);
    await page
      .getByTestId('attachments-summary')
      .filter({ hasText: /^2 of 2 stored$/ })
      .waitFor();
    const thumb = card('door.png').locator('img');
    await expect.poll(() => thumb.evaluate((i: HTMLImageElement) => (i.complete ? i.naturalWidth : 0))).toBe(640);
    // The log is a download link to its bytes, no thumbnail or player.
    const log = card('door.log');
    expect(await log.locator('img, video, audio').count()).toBe(0);
    expect(await log.getByTestId('file-meta').textContent()).toContain('text/plain');
    const href = (await log.getByRole('link', { name: 'Download door.log' }).getAttribute('href'))!;
    const body = await page.evaluate((u) => fetch(u).then((r) => r.text()), href);
    expect(body).toBe(LOG.toString());
    await screenshot(page, 'files-05-alert-photo-log');

    await card('door.png').getByRole('button', { name: 'Open door.png large' }).click();
    const dialog = page.getByRole('dialog', { name: 'door.png' });
    const large = dialog.getByRole('img', { name: 'door.png' });
    await expect.poll(() => large.evaluate((i: HTMLImageElement) => (i.complete ? i.naturalWidth : 0))).toBe(640);
    expect((await large.boundingBox())!.width).toBeGreaterThan(500);
    await screenshot(page, 'files-06-photo-large');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });
});

describe('files on the device page', () => {
  it('lists the device’s files with players and thumbnails, and deletes one after asking', async () => {
    await page.goto(`${server.httpUrl}/devices/${cam.id}`);
    const section = page.locator('#files');
    await section.getByTestId('device-files-count').filter({ hasText: '4 files' }).waitFor();
    // Newest first.
    await expect(section.locator('.file-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-file-name')))).resolves.toEqual([
      'door.log',
      'door.png',
      'cab.webm',
      'front.webm',
    ]);
    expect(await section.locator('video').count()).toBe(2);
    await expect
      .poll(() =>
        section
          .locator('img')
          .first()
          .evaluate((i: HTMLImageElement) => (i.complete ? i.naturalWidth : 0)),
      )
      .toBe(640);
    await videosReady(section);
    await panelScreenshot(section, 'files-07-device-files');

    await section.getByRole('button', { name: 'Delete door.log' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete door.log?' });
    await confirm.waitFor();
    await screenshot(page, 'files-08-delete-confirm', false);
    await confirm.getByRole('button', { name: 'Delete file' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await section.getByTestId('device-files-count').filter({ hasText: '3 files' }).waitFor();
    expect(await card('door.log').count()).toBe(0);
    const left = await api('GET', `/api/v1/files?deviceId=${cam.id}`);
    expect((left.body.items as { name: string }[]).map((f) => f.name).sort()).toEqual(['cab.webm', 'door.png', 'front.webm']);
    // The alert that named it shows it as not uploaded again.
    await page.goto(`${server.httpUrl}/alerts/${doorId}`);
    await page.getByTestId('attachments-summary').filter({ hasText: '1 of 2 stored' }).waitFor();
    await expect(card('door.log').getByTestId('file-state').textContent()).resolves.toBe('Waiting for upload');
  });

  it('the alert history on the device page links to the alert', async () => {
    await page.goto(`${server.httpUrl}/devices/${cam.id}`);
    const alerts = page.getByTestId('device-alerts');
    await alerts.getByRole('link', { name: 'Harsh braking' }).click();
    await page.getByRole('heading', { name: /Harsh braking/, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/alerts/${brakeId}`);
  });

  it('a viewer sees the files but no delete button', async () => {
    await server.api.users.create({ email: 'viewer@example.com', name: 'Vic Viewer', password: 'viewer-password-1', role: 'viewer' });
    const ctx = await browser.newContext(CONTEXT);
    const p = await ctx.newPage();
    await signIn(p, server.httpUrl, 'viewer@example.com', 'viewer-password-1', `/devices/${cam.id}`);
    const section = p.locator('#files');
    await section.getByTestId('device-files-count').filter({ hasText: '3 files' }).waitFor();
    expect(await section.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
    expect(await section.getByRole('link', { name: 'Download front.webm' }).count()).toBe(1);
    await ctx.close();
  });
});

describe('the files page', () => {
  it('lists the org’s files with their devices and filters by type', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Files', exact: true }).click();
    await page.getByRole('heading', { name: 'Files', level: 1 }).waitFor();
    await page.getByTestId('files-count').filter({ hasText: '3 files' }).waitFor();
    expect(await page.getByTestId('files-usage').textContent()).toMatch(/^\d+(\.\d)? KB of 10 GB used/);
    await page.getByRole('combobox', { name: 'Type' }).selectOption({ label: 'Video' });
    await page.getByTestId('files-count').filter({ hasText: '2 files' }).waitFor();
    expect(new URL(page.url()).searchParams.get('type')).toBe('video/');
    expect(await page.locator('.file-card').first().getByRole('link', { name: 'dashcam-7' }).count()).toBe(1);
    await videosReady(page.locator('main'));
    await screenshot(page, 'files-09-files-page');
    await page.getByRole('combobox', { name: 'Type' }).selectOption({ label: 'Images' });
    await page.getByTestId('files-count').filter({ hasText: '1 file' }).waitFor();
    expect(errors).toEqual([]);
  });
});
