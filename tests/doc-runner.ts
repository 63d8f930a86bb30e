// What the two runners of documentation code share (tests/guides.test.ts for the guides'
// ```ts blocks, tests/doc-examples.test.ts for the `@example` blocks of doc comments): import
// hoisting, WebGPU on SwiftShader, and how printed values are written.
import { existsSync } from 'node:fs';

// WebGPU in Node without a GPU runs on SwiftShader (the docs on backends use it), as the other
// WebGPU tests set it up: before Dawn loads.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD))
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

/** Every run starts on the CPU backend, whatever the code before it chose. */
export const CPU_PRELUDE =
  "import '@attnkit/backend-cpu';\nimport { setBackend as __setBackend } from '@attnkit/tensor-core';\n";

/**
 * Takes the import statements out of `code` (a module may import a name once, and imports must
 * come first), adding each to `imports` once (keyed by its text without whitespace differences).
 */
export function hoistImports(code: string, imports: Map<string, string>): string {
  return code.replace(/^import\s[^;]*?;[ \t]*$/gms, (stmt) => {
    imports.set(stmt.replace(/\s+/g, ' '), stmt);
    return '';
  });
}

/** The names an import statement brings into scope. */
export function importedNames(stmt: string): string[] {
  const names: string[] = [];
  const braces = /\{([^}]*)\}/.exec(stmt);
  if (braces) {
    for (const part of braces[1].split(',')) {
      const m = /(?:\bas\s+)?([A-Za-z_$][\w$]*)\s*$/.exec(part.replace(/^\s*type\s+/, '').trim());
      if (m) names.push(m[1]);
    }
  }
  const star = /\*\s+as\s+([A-Za-z_$][\w$]*)/.exec(stmt);
  if (star) names.push(star[1]);
  const def = /^import\s+(?:type\s+)?([A-Za-z_$][\w$]*)\s*(?:,|from)/.exec(stmt);
  if (def) names.push(def[1]);
  return names;
}
