/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32). Random tensors are
 * drawn on the host from it and uploaded, so the same seed gives the same numbers on every backend.
 *
 * @example
 * ```ts
 * const g = new Generator(42);
 * const x = randn([2, 3], { generator: g });
 * ```
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;
  private seedValue: number;

  constructor(seed = 0) {
    this.seedValue = seed;
    this.manualSeed(seed);
  }

  /** Re-seeds the generator; returns it. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new TypeError(`manualSeed: seed must be a finite number, got ${seed}`);
    this.seedValue = seed;
    let x = (Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
    return this;
  }

  /** The seed last set. */
  initialSeed(): number {
    return this.seedValue;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 24 bits of precision (exactly representable in float32). */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Standard normal draw (Box-Muller, using both outputs). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  randint(low: number, high: number): number {
    const span = high - low;
    if (span <= 0) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
    if (span <= 2 ** 32) {
      // Rejection sampling avoids modulo bias.
      const limit = 2 ** 32 - (2 ** 32 % span);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return low + (x % span);
    }
    return low + Math.floor(this.uniform() * span);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let defaultGenerator = new Generator(0);

/** Seeds the global generator used when no `generator` option is given (like torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  defaultGenerator = new Generator(seed);
  return defaultGenerator;
}

/** The global generator. */
export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}
