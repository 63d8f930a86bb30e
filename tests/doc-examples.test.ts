// The `@example` blocks of the doc comments cannot rot: every one, in every source file of every
// package, runs here as a module of its own, against the packages' sources (the root vitest
// aliases), on the CPU backend unless it picks another. Conventions (CONTRIBUTING.md, "Examples in
// doc comments"):
// - the exports of the example's own package (its entry and subpath entries) and of
//   @attnkit/tensor-core are in scope without an import; anything else is imported in the example;
// - a line `statement; // => shown` states what the statement's value prints as (for
//   `const name = value; // => shown`, the value of `name`), in the format of `show` below: the
//   test fails when it prints otherwise, or when the example throws;
// - paths are relative to the repository root (committed fixtures under packages/*/test/fixtures).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Tensor } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CPU_PRELUDE, hoistImports, importedNames } from './doc-runner.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// each example runs from its package's folder, so that it may import the package's dev dependencies
const runDir = (pkg: string) => join(root, 'packages', pkg, '.doc-examples-run');

interface Example {
  /** The package folder, e.g. 'tensor-core'. */
  pkg: string;
  /** The source file, relative to the repository root. */
  file: string;
  /** 1-based line of the example's first code line in `file`. */
  line: number;
  code: string;
}

/** The `@example` blocks of one source file: the ```ts code of each (all of it when unfenced). */
function examplesOf(source: string, pkg: string, file: string): Example[] {
  const out: Example[] = [];
  for (const m of source.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const startLine = source.slice(0, m.index).split('\n').length;
    const lines = m[0].split('\n').map((l) => l.replace(/^\s*\/?\*+\/?(?: |$)/, '').replace(/\s*\*\/$/, ''));
    for (let i = 0; i < lines.length; i++) {
      if (!/^@example\b/.test(lines[i])) continue;
      const body: { text: string; line: number }[] = [];
      for (let j = i + 1; j < lines.length && !/^@\w/.test(lines[j]); j++)
        body.push({ text: lines[j], line: startLine + j });
      const fenced = body.some((b) => /^```/.test(b.text));
      let code: { text: string; line: number }[] = [];
      if (fenced) {
        let inTs = false;
        for (const b of body) {
          if (/^```/.test(b.text)) inTs = !inTs && /^```(ts|typescript)?\s*$/.test(b.text);
          else if (inTs) code.push(b);
        }
      } else code = body.filter((b) => b.text.trim() !== '');
      if (code.length === 0) throw new Error(`${file}:${startLine + i}: an @example without code`);
      out.push({ pkg, file, line: code[0].line, code: code.map((b) => b.text).join('\n') });
    }
  }
  return out;
}

const IDENT = /[A-Za-z_$][\w$]*/g;

/** The names the example declares at any level (const/let/var, destructuring, functions, classes). */
function declaredNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/\b(?:const|let|var|function\*?|class)\s+([A-Za-z_$][\w$]*)/g))
    names.add(m[1]);
  for (const m of code.matchAll(/\b(?:const|let|var)\s*([{[][^=]*[}\]])\s*=/g))
    for (const n of m[1].match(IDENT) ?? []) names.add(n);
  return names;
}

/**
 * The example as a module: its imports first, then implicit imports of the names it uses from its
 * own package and tensor-core, and each `// => shown` line turned into a check of the value.
 */
function exampleModule(ex: Example, scope: Map<string, string>, id: number): string {
  const imports = new Map<string, string>();
  let body = hoistImports(ex.code, imports);
  const have = new Set([...[...imports.values()].flatMap(importedNames), ...declaredNames(body)]);
  const implicit = new Map<string, string[]>();
  for (const m of body.matchAll(IDENT)) {
    const name = m[0];
    const before = body[(m.index ?? 0) - 1];
    if (before === '.' || have.has(name) || !scope.has(name)) continue;
    const from = scope.get(name) as string;
    const list = implicit.get(from) ?? [];
    if (!list.includes(name)) list.push(name);
    implicit.set(from, list);
  }
  body = body
    .split('\n')
    .map((line, i) => {
      const m = /^(\s*)(.*?);?\s*\/\/\s*=>\s*(.*)$/.exec(line);
      if (!m) return line;
      const [, indent, stmt, shown] = m;
      const check = (expr: string) =>
        `await globalThis.__docShow(${id}, ${i}, ${JSON.stringify(shown.trim())}, ${expr});`;
      const decl = /^((?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=.*)$/.exec(stmt);
      return decl ? `${indent}${decl[1]}; ${check(decl[2])}` : `${indent}${check(`(${stmt})`)}`;
    })
    .join('\n');
  const implicitImports = [...implicit].map(
    ([from, names]) => `import { ${names.join(', ')} } from '${from}';`,
  );
  return `${CPU_PRELUDE}${[...imports.values(), ...implicitImports].join('\n')}\n__setBackend('cpu');\n${body}\nexport {};\n`;
}

const round = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toFixed(4))));

/**
 * How a `// =>` comment writes a value: numbers to 4 decimals at most (integers as they are),
 * strings in single quotes, arrays and typed arrays as `[a, b]`, a Tensor as its values nested by
 * its shape, plain objects as `{ key: value }`, promises by what they resolve to.
 */
async function show(value: unknown): Promise<string> {
  const v = await value;
  if (v instanceof Tensor) return show(await v.array());
  if (typeof v === 'number') return round(v);
  if (typeof v === 'string')
    return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const items = await Promise.all(Array.from(v as ArrayLike<unknown>, (x) => show(x)));
    return `[${items.join(', ')}]`;
  }
  if (v instanceof Map) {
    const items = await Promise.all([...v].map(async ([k, x]) => `${await show(k)} => ${await show(x)}`));
    return `Map { ${items.join(', ')} }`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    const items = await Promise.all(
      entries.map(async ([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${await show(x)}`),
    );
    return `{ ${items.join(', ')} }`;
  }
  return String(v);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const packages = readdirSync(join(root, 'packages')).sort();
const examples = packages.flatMap((pkg) =>
  walk(join(root, 'packages', pkg, 'src')).flatMap((abs) => {
    const file = relative(root, abs);
    return examplesOf(readFileSync(abs, 'utf8'), pkg, file);
  }),
);

/** The names in scope without an import: the package's own entries first, then tensor-core's. */
async function scopeOf(pkg: string): Promise<Map<string, string>> {
  const scope = new Map<string, string>();
  const entries = (name: string) => {
    const json = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
    return Object.keys(json.exports ?? { '.': '' }).map((k) =>
      k === '.' ? `@attnkit/${name}` : `@attnkit/${name}/${k.slice(2)}`,
    );
  };
  for (const spec of [...entries(pkg), '@attnkit/tensor-core']) {
    const mod = await import(spec);
    for (const name of Object.keys(mod)) if (!scope.has(name)) scope.set(name, spec);
  }
  return scope;
}

afterAll(() => {
  for (const pkg of packages) rmSync(runDir(pkg), { recursive: true, force: true });
});

describe('the example runner', () => {
  it('finds fenced examples, adds imports from the package, and checks `// =>` lines', () => {
    const src = [
      '/**',
      ' * Adds.',
      ' * @example',
      ' * ```ts',
      " * import { x } from 'y';",
      ' * const s = add(x, 1); // => 2',
      ' * s.shape; // => []',
      ' * ```',
      ' * @param a the first',
      ' */',
    ].join('\n');
    const [ex] = examplesOf(src, 'tensor-core', 'f.ts');
    expect(ex.line).toBe(5);
    const mod = exampleModule(ex, new Map([['add', '@attnkit/tensor-core']]), 7);
    expect(mod).toContain("import { x } from 'y';");
    expect(mod).toContain("import { add } from '@attnkit/tensor-core';");
    expect(mod).toContain('const s = add(x, 1); await globalThis.__docShow(7, 1, "2", s);');
    expect(mod).toContain('await globalThis.__docShow(7, 2, "[]", (s.shape));');
    expect(() => examplesOf('/**\n * @example\n * @returns x\n */', 'p', 'g.ts')).toThrow(/g.ts:2/);
  });

  it('shows values in one format', async () => {
    expect(await show([1, 0.123456, "a'b", true, null])).toBe("[1, 0.1235, 'a\\'b', true, null]");
    expect(await show({ a: Int32Array.from([1, 2]), 'b-c': Promise.resolve(3) })).toBe(
      "{ a: [1, 2], 'b-c': 3 }",
    );
  });
});

describe('every @example in packages/*/src runs, and shows what it prints', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(150);
  });

  const scopes = new Map<string, Promise<Map<string, string>>>();
  examples.forEach((ex, id) => {
    it(`${ex.file}:${ex.line}`, async () => {
      if (!scopes.has(ex.pkg)) scopes.set(ex.pkg, scopeOf(ex.pkg));
      const scope = await (scopes.get(ex.pkg) as Promise<Map<string, string>>);
      mkdirSync(runDir(ex.pkg), { recursive: true });
      const file = join(runDir(ex.pkg), `${ex.file.replace(/[/.]/g, '_')}_${ex.line}.ts`);
      writeFileSync(file, exampleModule(ex, scope, id));
      const shown: { line: number; expected: string; actual: string }[] = [];
      const g = globalThis as {
        __docShow?: (id: number, line: number, expected: string, v: unknown) => Promise<void>;
      };
      g.__docShow = async (_id, line, expected, v) => {
        shown.push({ line: ex.line + line, expected, actual: await show(v) });
      };
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        await import(pathToFileURL(file).href);
      } catch (e) {
        throw new Error(`${ex.file}:${ex.line}: the example throws: ${(e as Error).message}`, { cause: e });
      } finally {
        log.mockRestore();
        write.mockRestore();
        delete g.__docShow;
      }
      for (const s of shown) expect(s.actual, `${ex.file}:${s.line}, the value after // =>`).toBe(s.expected);
    });
  });
});
