// Seeded inputs for the backend's tests: mulberry32, the same stream in every file that asks for
// the same seed, so a failing case can be rebuilt from its seed alone.

/** A uniform generator on [0, 1) from a 32-bit seed (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` float32 values uniform on [-1, 1) drawn from `r`. */
export const values = (n: number, r: () => number): Float32Array =>
  Float32Array.from({ length: n }, () => r() * 2 - 1);
