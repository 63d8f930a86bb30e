// The demo's Speech view (#whisper) in a real browser, set up by tests/demo-harness.ts as
// tests/demo-chromium.test.ts: apps/demo built with Vite against the BUILT packages, served with
// `vite preview`, Debian's headless Chromium driven through playwright-core. Chromium's fake media
// devices stand in for a microphone: they play the bundled clip (a 16-bit PCM WAV) as the capture
// device and grant the permission. The page's numbers are checked against the same model run in
// Node.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import '@attnkit/backend-cpu';
import {
  loadTinyWhisper,
  TINY_WHISPER_FILES,
  tinyWhisperClip,
  tinyWhisperReport,
} from '@attnkit/transformer';
import { page, pageErrors, screenshot, url, useDemoApp } from './demo-harness.js';

useDemoApp({
  name: 'demo-whisper',
  args: [
    // a fake microphone playing the bundled clip, the permission granted without a prompt
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${fileURLToPath(TINY_WHISPER_FILES.clip)}`,
    '--autoplay-policy=no-user-gesture-required',
  ],
});

/** The log-mel values and the cross-attention rows the view shows. */
async function shown(): Promise<{ text: string; piped: string; mel: number[]; cross: number[][][] }> {
  const text = (await page.locator('#whisper-text').textContent()) ?? '';
  const piped = (await page.locator('#whisper-text').getAttribute('data-pipeline')) ?? '';
  const mel = JSON.parse(
    (await page.locator('#whisper-mel').getAttribute('data-values')) ?? '[]',
  ) as number[];
  const cross = await page
    .locator('canvas[id^="whisper-cross-"]')
    .evaluateAll((cs) => cs.map((c) => JSON.parse((c as HTMLElement).dataset.values ?? '[]') as number[][]));
  return { text, piped, mel, cross };
}

function expectRowsSumToOne(cross: number[][][], positions: number, tol: number): void {
  expect(cross.length).toBeGreaterThan(0);
  for (const layer of cross) {
    expect(layer.length).toBeGreaterThan(0);
    for (const row of layer) {
      expect(row).toHaveLength(positions);
      expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(tol);
      expect(Math.min(...row)).toBeGreaterThanOrEqual(0);
    }
  }
}

describe('demo Speech view in headless Chromium', () => {
  it('transcribes the bundled clip as Node does, with its log-mel and cross-attention, on every backend', async () => {
    const asr = await loadTinyWhisper();
    const clip = await tinyWhisperClip();
    const report = await tinyWhisperReport();
    const node = (await asr(clip)).text;
    const features = asr.featureExtractor.call(clip);
    const melNode = await features.data();
    features.dispose();
    const positions = asr.model.config.maxSourcePositions;
    asr.dispose();
    expect(node).toBe(report.clip.said);

    await page.goto(url);
    await page.waitForSelector('body[data-ready="overview"]');
    await page.click('nav a[data-page="whisper"]');
    await page.waitForSelector('body[data-ready="whisper"]');
    expect(await page.title()).toBe('Speech · attnkit demo');
    expect(await page.locator('#whisper-info').textContent()).toContain('synthetic speech');
    const cpu = await shown();
    expect(cpu.text).toBe(node);
    expect(cpu.piped).toBe(node);
    expect(cpu.mel).toHaveLength(melNode.length);
    let worst = 0;
    for (let i = 0; i < melNode.length; i++)
      worst = Math.max(worst, Math.abs(cpu.mel[i] - melNode[i]) / Math.max(1, Math.abs(melNode[i])));
    expect(worst).toBeLessThanOrEqual(1e-4);
    expectRowsSumToOne(cpu.cross, positions, 1e-5);
    // one row per output token: the digits and the end token
    for (const layer of cpu.cross) expect(layer).toHaveLength(node.length + 1);
    expect(await page.locator('#whisper-steps tr').count()).toBe(node.length + 2);
    expect(Number(await page.locator('#whisper-wave').getAttribute('data-samples'))).toBe(clip.length);
    await screenshot('whisper');

    // the backend switch re-runs the view: the same transcript, the same features
    await expect.poll(() => page.locator('#backend option').allTextContents()).toContain('gpujs');
    const other =
      (await page.locator('#backend option').allTextContents()).find((n) => n !== 'cpu') ?? 'gpujs';
    await page.selectOption('#backend', other);
    await page.waitForSelector(`body[data-backend="${other}"][data-ready="whisper"]`, { timeout: 0 });
    const again = await shown();
    expect(again.text).toBe(node);
    expect(again.mel).toEqual(cpu.mel);
    expectRowsSumToOne(again.cross, positions, 1e-4);
    await screenshot(`whisper-${other}`);
    expect(pageErrors).toEqual([]);
  });

  it('records two seconds from a (fake) microphone and transcribes them step by step', async () => {
    await page.goto(`${url}#whisper`);
    await page.waitForSelector('body[data-ready="whisper"]');
    await page.click('#whisper-mic');
    await page.waitForSelector('#whisper-out[data-source="microphone"]');
    const mic = await shown();
    expect(mic.mel).toHaveLength(40 * 100);
    // the step-by-step greedy decoding is what the pipeline writes for the same samples
    expect(mic.text).toBe(mic.piped);
    expect(mic.text).toMatch(/^[0-9]{0,5}$/);
    expectRowsSumToOne(mic.cross, 50, 1e-5);
    expect(await page.locator('#whisper-status').getAttribute('data-error')).toBeNull();
    await screenshot('whisper-microphone');
    expect(pageErrors).toEqual([]);
  });
});
