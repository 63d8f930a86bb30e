// apps/bench's progress line for long suites (issue 16 "Progress"): drawn in place on a terminal
// (`\r\x1b[K` + `suite [####....] n/total  label  s`), never drawn on a pipe, and console.log
// output printed during a run clears the line first and redraws it after, so tables stay whole.
import { describe, expect, it } from 'vitest';
import {
  progressLine,
  progressStep,
  progressTotal,
  runWithProgress,
  SuiteProgress,
} from '../apps/bench/src/cli/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } };
}

describe('bench progress', () => {
  it('progressLine: a bar with a known total, a count without one', () => {
    expect(
      progressLine(
        { suite: 'attention', done: 5, total: 20, label: 'cpu L=512 flash', elapsedMs: 41234 },
        10,
      ),
    ).toBe('attention [###.......] 5/20  cpu L=512 flash  41.2 s');
    expect(progressLine({ suite: 'transformer', done: 3, total: 0, label: 'cpu', elapsedMs: 1500 })).toBe(
      'transformer 3 steps  cpu  1.5 s',
    );
  });

  it('draws in place on a TTY, and nothing on a pipe', () => {
    let t = 0;
    const tty = sink(true);
    const bar = new SuiteProgress('diffusion', tty.stream, () => t);
    bar.addTotal(4);
    t = 2000;
    bar.step('cpu U-Net step');
    bar.clear();
    expect(tty.writes).toEqual([
      '\r\x1b[Kdiffusion [....................] 0/4  0.0 s',
      '\r\x1b[Kdiffusion [#####...............] 1/4  cpu U-Net step  2.0 s',
      '\r\x1b[K',
    ]);
    const pipe = sink(false);
    const quiet = new SuiteProgress('diffusion', pipe.stream);
    quiet.addTotal(4);
    quiet.step('x');
    quiet.clear();
    expect(pipe.writes).toEqual([]);
  });

  it('runWithProgress: steps reach the bar, console.log clears and redraws it, all is undone after', async () => {
    const tty = sink(true);
    const log = console.log;
    const printed: string[] = [];
    const fake = (...args: unknown[]) => {
      printed.push(args.join(' '));
      tty.writes.push(`<stdout:${args.join(' ')}>`);
    };
    console.log = fake;
    try {
      const result = await runWithProgress(
        'suite',
        async () => {
          progressTotal(2);
          progressStep('one');
          expect(console.log).not.toBe(fake); // wrapped while the bar is shown
          console.log('| row |');
          progressStep('two');
          return 7;
        },
        tty.stream,
      );
      expect(result).toBe(7);
      expect(console.log).toBe(fake); // restored
    } finally {
      console.log = log;
    }
    expect(printed).toEqual(['| row |']);
    const lines = tty.writes.map((w) => w.replace(/\d+\.\d s$/, 'T'));
    expect(lines).toEqual([
      '\r\x1b[Ksuite [....................] 0/2  T',
      '\r\x1b[Ksuite [##########..........] 1/2  one  T',
      '\r\x1b[K',
      '<stdout:| row |>',
      '\r\x1b[Ksuite [##########..........] 1/2  one  T',
      '\r\x1b[Ksuite [####################] 2/2  two  T',
      '\r\x1b[K',
    ]);
    // outside a run the hooks do nothing
    progressStep('ignored');
    progressTotal(3);
    expect(tty.writes).toHaveLength(7);
  });
});
