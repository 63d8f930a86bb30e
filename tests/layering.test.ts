// The layering rule of DESIGN.md, checked over the sources: no package above tensor-core touches
// backend internals. A fused kernel such a package needs becomes an op in tensor-core (with its
// reference composition and gradient), and tensors are made with tensor-core's creation functions
// (`{ backend }` places them beside another tensor). Concretely, in packages/<pkg>/src of every
// package that depends on tensor-core but is no backend:
//   - no import of `View` or `Storage` from @attnkit/tensor-core;
//   - no `Tensor.fromStorage`, `withLayout`, or `.storage` (the raw storage handle of a tensor);
//   - no call of a Backend method through a backend (`x.backend.write(...)`, `backend.fill(...)`).
// And tensor-core itself, sources and tests, imports no backend package (its tests run on
// test/reference-backend.ts). Checking whether a backend *can* do something
// (`typeof t.backend.readSync === 'function'`) is allowed: it calls nothing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Methods of tensor-core's Backend interface (packages/tensor-core/src/backend.ts). */
const BACKEND_METHODS = [
  'upload',
  'read',
  'readSync',
  'free',
  'memoryOverhead',
  'fill',
  'copy',
  'write',
  'unary',
  'binary',
  'where',
  'reduce',
  'matmul',
  'gather',
  'scatterAdd',
  'cumulative',
  'sort',
  'conv2d',
  'softmax',
  'layerNorm',
  'rmsNorm',
  'attention',
  'linear',
];

const RULES: { name: string; pattern: RegExp }[] = [
  {
    name: 'imports View or Storage from @attnkit/tensor-core',
    pattern: /import\s+(?:type\s+)?\{[^}]*\b(?:View|Storage)\b[^}]*\}\s*from\s*['"]@attnkit\/tensor-core['"]/,
  },
  { name: 'wraps a raw storage (fromStorage)', pattern: /\bfromStorage\s*\(/ },
  { name: 'builds a raw layout (withLayout)', pattern: /\.withLayout\s*\(/ },
  { name: "reads a tensor's raw storage (.storage)", pattern: /\.storage\b/ },
  {
    name: 'calls a Backend method',
    pattern: new RegExp(
      `\\bbackend\\s*\\)?\\s*\\.\\s*(?:${BACKEND_METHODS.join('|')})\\s*(?:\\(|\\.call\\b|\\.apply\\b)`,
    ),
  },
];

/** Comments are not code: strip them before matching (a doc comment may name what it avoids). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

function violations(text: string): string[] {
  const src = code(text);
  return RULES.filter((r) => r.pattern.test(src)).map((r) => r.name);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Packages above tensor-core: they depend on it and are not backends. */
function packagesAbove(): string[] {
  return readdirSync(join(root, 'packages')).filter((name) => {
    const manifest = join(root, 'packages', name, 'package.json');
    if (!existsSync(manifest) || name === 'tensor-core' || name.startsWith('backend-')) return false;
    const deps = JSON.parse(readFileSync(manifest, 'utf8')).dependencies ?? {};
    return '@attnkit/tensor-core' in deps;
  });
}

describe('no package above tensor-core touches backend internals (DESIGN.md)', () => {
  const packages = packagesAbove();
  it('finds the packages above tensor-core', () => {
    for (const p of ['attention', 'sampling', 'transformer', 'diffusion']) expect(packages).toContain(p);
  });
  for (const pkg of packages) {
    it(`${pkg}/src uses tensor ops only`, () => {
      const found: string[] = [];
      for (const file of sources(join(root, 'packages', pkg, 'src'))) {
        for (const v of violations(readFileSync(file, 'utf8'))) found.push(`${relative(root, file)}: ${v}`);
      }
      expect(found).toEqual([]);
    });
  }
  it('tensor-core (sources and tests) imports no backend package', () => {
    const found: string[] = [];
    for (const dir of ['src', 'test']) {
      for (const file of sources(join(root, 'packages', 'tensor-core', dir))) {
        const imports = /^\s*(?:import|export)\s[^;]*?['"]@attnkit\/backend-[a-z0-9-]+['"]/m;
        if (imports.test(code(readFileSync(file, 'utf8')))) found.push(relative(root, file));
      }
    }
    expect(found).toEqual([]);
  });
  it('the rules catch each kind of reach (so a pass means something)', () => {
    expect(violations("import { type View, keep } from '@attnkit/tensor-core';")).toEqual([RULES[0].name]);
    expect(violations('const t = Tensor.fromStorage(b, s, [2], "float32");')).toEqual([RULES[1].name]);
    expect(violations('const v = t.withLayout([2], [1], 0);')).toEqual([RULES[2].name]);
    expect(violations('const s = { storage: t.storage };')).toEqual([RULES[3].name]);
    expect(violations('k.backend.write(view, 0);')).toEqual([RULES[4].name]);
    expect(violations('backend.attention.call(backend, q, k, v, p);')).toEqual([RULES[4].name]);
    expect(violations('if (typeof t.backend.readSync !== "function") return;')).toEqual([]);
    expect(violations('// backend.write(x) in a comment')).toEqual([]);
  });
});
