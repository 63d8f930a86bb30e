#!/usr/bin/env node
// attnkit-bench: runs benchmark suites and prints, for each, markdown tables of attnkit beside the
// peers measured in the same run (tfjs, js-tiktoken, gpt-tokenizer, ...) with the ratios.
//   node dist/main.js               every suite
//   node dist/main.js matmul ...    the named suites, in that order
//   node dist/main.js --list        the suite names
//   node dist/main.js --quick       tiny sizes, few repeats, the suites of the report (CI: a few minutes)
//   node dist/main.js --out DIR     where the files go (default apps/bench/out/)
// From the repository root: `pnpm bench [suite ...]` (builds first).
//
// Besides the tables on the terminal, every run writes into the output folder bench-results.json
// (machine, versions, every figure as structured rows: ./cli/results.ts) and bench-report.md with
// SVG plots of the figures against their peers (./cli/report.ts, ./cli/plot.ts).
//
// Suites are registered explicitly below: a suite is a module of this app exporting one async
// function that prints its own tables (see ./cli/table.ts and ./cli/measure.ts for helpers).
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAttention } from './attention.js';
import { benchAttentionVariants } from './attention-variants.js';
import { parseArgs } from './cli/args.js';
import { runWithProgress } from './cli/progress.js';
import { checkReport, writeReport } from './cli/report.js';
import {
  type BenchResults,
  dependencyVersions,
  machineInfo,
  RESULTS_SCHEMA_VERSION,
  recordedResults,
  validateResults,
  writeResults,
} from './cli/results.js';
import { settings } from './cli/settings.js';
import { benchDiffusion } from './diffusion.js';
import { benchGpujs } from './gpujs.js';
import { benchMatmul } from './matmul.js';
import { benchSampling } from './sampling.js';
import { benchSpeculative } from './speculative.js';
import { benchTokenizer } from './tokenizer.js';
import { benchTransformer } from './transformer.js';
import { benchWebgpu } from './webgpu.js';
import { benchWhisper } from './whisper.js';

/** A named benchmark suite. */
interface Suite {
  name: string;
  description: string;
  run: () => Promise<void> | void;
  /** Part of a `--quick` run without suite names (the suites whose figures the report plots). */
  quick?: boolean;
}

const suites: Suite[] = [
  {
    name: 'tokenizer',
    description: 'encode/decode MB/s for r50k, cl100k, o200k vs gpt-tokenizer and js-tiktoken (ids checked)',
    run: benchTokenizer,
    quick: true,
  },
  {
    name: 'matmul',
    description: 'float32 n×n matmul GFLOP/s, n = 256/512/1024: backend-cpu vs tfjs-backend-cpu',
    run: benchMatmul,
    quick: true,
  },
  {
    name: 'gpujs',
    description: 'float32 matmul GFLOP/s on the gpu.js backend beside backend-cpu',
    run: benchGpujs,
  },
  {
    name: 'attention',
    description:
      'attention time and peak memory vs sequence length, plain vs flash-style, on cpu/webgpu/gpujs (ATTNKIT_SWIFTSHADER=1 without a GPU)',
    run: benchAttention,
    quick: true,
  },
  {
    name: 'attention-variants',
    description:
      'dense, flash, sliding-window, block-sparse and differential attention: time and peak memory vs L = 1K…16K on cpu/webgpu/gpujs (capped in software); multi-query KV-cache bytes per token vs MHA',
    run: benchAttentionVariants,
    quick: true,
  },
  {
    name: 'sampling',
    description: 'per-token cost of the sampling stack at vocab 1,000 to 200,000 vs a full-sort baseline',
    run: benchSampling,
    quick: true,
  },
  {
    name: 'speculative',
    description:
      'speculative decoding (both KV caches) vs cached greedy decoding of a trained 12-layer GPT-2: a distilled 2-layer draft and a self-draft at acceptance 1.0, k = 2/4/6; acceptance and speed-up measured beside the expected (Leviathan et al.)',
    run: benchSpeculative,
    quick: true,
  },
  {
    name: 'diffusion',
    description: 'one U-Net evaluation and a 50-step DDIM run at 32×32 on cpu/webgpu/gpujs',
    run: benchDiffusion,
  },
  {
    name: 'webgpu',
    description:
      'WebGPU matmul GFLOP/s and softmax/layerNorm ms vs tfjs-backend-webgpu on the same adapter (ATTNKIT_SWIFTSHADER=1 without a GPU)',
    run: benchWebgpu,
  },
  {
    name: 'transformer',
    description:
      'GPT-2-124M-shaped model: prefill 128 tokens and KV-cached decode tokens/s on cpu/webgpu/gpujs (onnxruntime-web beside it when installed), prefill against prompt length on cpu; a Mixtral-shaped MoE (8 experts, top-2) beside the dense model with the same active parameters',
    run: benchTransformer,
    quick: true,
  },
  {
    name: 'whisper',
    description:
      'Whisper-tiny-shaped model: log-mel features of 30 s of audio, and the encoder forward ms on cpu/webgpu/gpujs beside onnxruntime-web running the exported encoder',
    run: benchWhisper,
  },
];

function usage(): string {
  const width = Math.max(...suites.map((s) => s.name.length));
  return [
    'usage: attnkit-bench [--list] [--quick] [--out DIR] [suite ...]   (no suite: all of them)',
    '',
    '  --quick    tiny sizes and few repeats (a smoke run; CI); without suite names it runs the suites',
    `             of the report: ${suites
      .filter((s) => s.quick)
      .map((s) => s.name)
      .join(', ')}, on the cpu backend unless ATTNKIT_BENCH_BACKENDS is set`,
    '  --out DIR  where bench-results.json, bench-report.md and its SVG plots go (default apps/bench/out/)',
    '',
    'suites:',
    ...suites.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`),
  ].join('\n');
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (args.help) {
    console.log(usage());
    return 0;
  }
  if (args.list) {
    for (const s of suites) console.log(s.name);
    return 0;
  }
  const unknown = args.suites.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`attnkit-bench: unknown suite ${unknown.map((n) => `'${n}'`).join(', ')}\n\n${usage()}`);
    return 2;
  }
  const selected = args.suites.length
    ? args.suites.map((n) => suites.find((s) => s.name === n)!)
    : suites.filter((s) => !args.quick || s.quick);
  if (args.quick) {
    settings.quick = true;
    process.env.ATTNKIT_BENCH_BACKENDS ??= 'cpu';
  }
  const outDir = args.out ? resolve(args.out) : fileURLToPath(new URL('../out/', import.meta.url));

  const cpu = cpus();
  console.log('# attnkit benchmarks');
  console.log(
    `node ${process.version}, ${process.platform}-${process.arch}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${new Date().toISOString()}`,
  );
  console.log(
    'Ratios compare attnkit with peers measured in this run; single runs on a shared machine are noisy.',
  );

  let failed = 0;
  const ran: BenchResults['suites'] = [];
  for (const suite of selected) {
    const t0 = performance.now();
    try {
      await runWithProgress(suite.name, suite.run);
      const seconds = (performance.now() - t0) / 1000;
      ran.push({ name: suite.name, ok: true, seconds });
      console.log(`\n(${suite.name}: ${seconds.toFixed(1)} s)`);
    } catch (err) {
      failed++;
      ran.push({
        name: suite.name,
        ok: false,
        seconds: (performance.now() - t0) / 1000,
        error: String((err as Error)?.message ?? err).split('\n')[0],
      });
      console.error(`\nsuite '${suite.name}' failed: ${(err as Error)?.stack ?? err}`);
    }
  }
  try {
    const data: BenchResults = {
      schemaVersion: RESULTS_SCHEMA_VERSION,
      date: new Date().toISOString(),
      command: ['attnkit-bench', ...process.argv.slice(2)].join(' '),
      quick: args.quick,
      machine: machineInfo(),
      versions: dependencyVersions(new URL('../', import.meta.url)),
      suites: ran,
      results: [...recordedResults()],
    };
    mkdirSync(outDir, { recursive: true });
    const json = join(outDir, 'bench-results.json');
    writeResults(json, data);
    validateResults(JSON.parse(readFileSync(json, 'utf8')));
    writeReport(outDir, data);
    checkReport(outDir);
    console.log(`\n(results: ${json}; report: ${join(outDir, 'bench-report.md')})`);
  } catch (err) {
    failed++;
    console.error(`\nwriting the results to ${outDir} failed: ${(err as Error)?.stack ?? err}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
