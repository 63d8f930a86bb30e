// The guides in docs/guides cannot rot: every ```ts block of a guide runs, the blocks of one page in
// order as one module (like a notebook: a later block sees what an earlier one defined), against the
// packages' sources (the root vitest aliases). A ```text block right after a ```ts block (blank lines
// and an "Output:" line may stand between) is that block's printed output: what its console.log
// calls print must equal it, line for line.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CPU_PRELUDE, hoistImports } from './doc-runner.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const guidesDir = join(root, 'docs/guides');
const runDir = join(root, 'tests/.guides-run');

interface Block {
  lang: string;
  code: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

/** The fenced code blocks of a Markdown page, with what stands between each and the next. */
function fencedBlocks(markdown: string): { blocks: Block[]; gaps: string[] } {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const gaps: string[] = [];
  let gap: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]);
    if (!open) {
      gap.push(lines[i]);
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`unclosed code fence at line ${start + 1}`);
    gaps.push(gap.join('\n'));
    gap = [];
    blocks.push({ lang: open[1], code: body.join('\n'), line: start + 1 });
  }
  return { blocks, gaps };
}

/** Pairs each runnable block with the output block that follows it, if any. */
function runnable(markdown: string): { code: Block; output: string | null }[] {
  const { blocks, gaps } = fencedBlocks(markdown);
  const out: { code: Block; output: string | null }[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b.lang !== 'ts') continue;
    const next = blocks[i + 1];
    const between = (gaps[i + 1] ?? '').trim();
    const isOutput = next?.lang === 'text' && (between === '' || /^output:?$/i.test(between));
    out.push({ code: b, output: isOutput ? next.code : null });
  }
  return out;
}

/**
 * One module from a page's blocks: every import statement hoisted once to the top (a reader may
 * repeat an import in each block; a module may not), and a marker before each block so that
 * console.log lands in that block's output.
 */
function pageModule(blocks: Block[]): string {
  const imports = new Map<string, string>();
  const bodies = blocks.map((b, i) => {
    const body = hoistImports(b.code, imports);
    return `globalThis.__guideBlock(${i});\n${body}`;
  });
  // every page starts on the CPU backend, whatever the page before it chose
  return `${CPU_PRELUDE}${[...imports.values()].join('\n')}\n__setBackend('cpu');\n${bodies.join('\n')}\nexport {};\n`;
}

const pages = readdirSync(guidesDir)
  .filter((f) => f.endsWith('.md'))
  .sort();

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

describe('the guide runner', () => {
  it('pairs code with the output block after it, and hoists repeated imports', () => {
    const md = [
      '# t',
      '```ts',
      "import { a } from 'x';",
      'console.log(a);',
      '```',
      '',
      'Output:',
      '',
      '```text',
      '1',
      '```',
      'prose',
      '```ts',
      "import { a } from 'x';",
      '```',
      'more prose, not an output marker',
      '```text',
      'a diagram',
      '```',
    ].join('\n');
    const r = runnable(md);
    expect(r.map((x) => x.output)).toEqual(['1', null]);
    const mod = pageModule(r.map((x) => x.code));
    expect(mod.match(/import \{ a \} from 'x';/g)).toHaveLength(1);
    expect(mod).toContain('globalThis.__guideBlock(1);');
    expect(() => fencedBlocks('```ts\nopen')).toThrow(/unclosed code fence at line 1/);
  });
});

describe('docs/guides: every code block runs, and prints what the page shows', () => {
  it('has the guides of the course and of the user topics', () => {
    expect(pages.length).toBeGreaterThanOrEqual(10);
  });

  for (const page of pages) {
    it(page, async () => {
      const blocks = runnable(readFileSync(join(guidesDir, page), 'utf8'));
      expect(blocks.length, `${page} has no runnable block`).toBeGreaterThan(0);
      mkdirSync(runDir, { recursive: true });
      const file = join(runDir, page.replace(/\.md$/, '.ts'));
      writeFileSync(file, pageModule(blocks.map((b) => b.code)));
      const printed: string[][] = blocks.map(() => []);
      let current = 0;
      const g = globalThis as { __guideBlock?: (i: number) => void };
      g.__guideBlock = (i) => {
        current = i;
      };
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed[current].push(format(...args));
      });
      try {
        await import(pathToFileURL(file).href);
      } catch (e) {
        throw new Error(
          `${page}, block ${current + 1} (line ${blocks[current].code.line}): ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      } finally {
        spy.mockRestore();
        delete g.__guideBlock;
      }
      // GUIDES_SHOW=1 prints what each block printed (for writing a guide's output blocks)
      if (process.env.GUIDES_SHOW) {
        for (const [i, p] of printed.entries())
          process.stderr.write(`--- block at line ${blocks[i].code.line}\n${p.join('\n')}\n`);
      }
      blocks.forEach((b, i) => {
        if (b.output === null) return;
        expect(printed[i].join('\n'), `${page}, output of the block at line ${b.code.line}`).toBe(b.output);
      });
    });
  }
});
