import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One root command runs every package's tests (vitest projects). Packages import each other as
// `@attnkit/<name>`; in tests these resolve to the sources, so a test never runs stale builds.
const root = fileURLToPath(new URL('.', import.meta.url));
const packages = readdirSync(`${root}packages`);

// CI shuffles the order of test files and of the tests inside each file (.ci/run sets and prints
// the seed): every test must pass alone and in any order. Rerun a failing order with
// `VITEST_SEQUENCE_SEED=<seed> npx vitest run ...`.
const shuffleSeed = Number(process.env.VITEST_SEQUENCE_SEED);
const sequence = Number.isInteger(shuffleSeed) ? { shuffle: true, seed: shuffleSeed } : undefined;

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@attnkit\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@attnkit\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/$2/index.ts` },
    ],
  },
  test: {
    sequence,
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: {
          name,
          root: `${root}packages/${name}`,
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts'],
          // No time limit in a test: a slow shared machine must not fail a correct one.
          testTimeout: 600_000,
        },
      })),
      {
        extends: true as const,
        test: { name: 'repo', root, include: ['tests/**/*.test.ts'], testTimeout: 600_000 },
      },
    ],
  },
});
