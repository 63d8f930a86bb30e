import { chunk, concat, flip, pad, repeat, split, stack, tile, tril, triu } from '../../index.js';
import { type ConformanceCase, type RefArray, ref, seeded } from '../case.js';
import { at, build, transposeRef } from './ref-util.js';

/** Reference of concat along `dim`. */
function concatRef(xs: RefArray[], dim: number): RefArray {
  const shape = [...xs[0].shape];
  shape[dim] = xs.reduce((s, x) => s + x.shape[dim], 0);
  return build(shape, (idx) => {
    let k = idx[dim];
    for (const x of xs) {
      if (k < x.shape[dim]) {
        const src = [...idx];
        src[dim] = k;
        return at(x, src);
      }
      k -= x.shape[dim];
    }
    throw new Error('unreachable');
  });
}

/** Reference of pad with torch's pad-list order. */
function padRef(x: RefArray, p: number[], mode: string, value = 0): RefArray {
  const r = x.shape.length;
  const lo = new Array<number>(r).fill(0);
  const hi = new Array<number>(r).fill(0);
  for (let i = 0; i < p.length / 2; i++) {
    lo[r - 1 - i] = p[2 * i];
    hi[r - 1 - i] = p[2 * i + 1];
  }
  return build(
    x.shape.map((s, i) => s + lo[i] + hi[i]),
    (idx) => {
      const src: number[] = [];
      for (let d = 0; d < r; d++) {
        const n = x.shape[d];
        let i = idx[d] - lo[d];
        if (i < 0 || i >= n) {
          if (mode === 'constant') return value;
          if (mode === 'reflect') i = i < 0 ? -i : 2 * (n - 1) - i;
          else if (mode === 'replicate') i = Math.min(Math.max(i, 0), n - 1);
          else i = ((i % n) + n) % n;
        }
        src.push(i);
      }
      return at(x, src);
    },
  );
}

function repeatRef(x: RefArray, sizes: number[]): RefArray {
  const src = [...new Array<number>(sizes.length - x.shape.length).fill(1), ...x.shape];
  const xr = { shape: src, data: x.data };
  return build(
    src.map((s, i) => s * sizes[i]),
    (idx) =>
      at(
        xr,
        idx.map((v, i) => v % src[i]),
      ),
  );
}

const tri = (x: RefArray, keep: (row: number, col: number) => boolean) =>
  build(x.shape, (idx) => {
    const r = idx.length;
    return keep(idx[r - 2], idx[r - 1]) ? at(x, idx) : 0;
  });

/** concat, stack, split, chunk, pad, flip, tril, triu, repeat, tile. */
export const shapeCases: ConformanceCase[] = [
  {
    op: 'concat',
    name: 'dim 0 of [2,3] and [1,3]',
    inputs: [seeded([2, 3], 900), seeded([1, 3], 901)],
    run: (a, b) => concat([a, b]),
    ref: (a, b) => concatRef([a, b], 0),
    grad: [0, 1],
  },
  {
    op: 'concat',
    name: 'dim -1 of three tensors, one transposed view, one zero-size',
    inputs: [seeded([2, 3], 902), seeded([4, 2], 903), ref([2, 0], [])],
    view: ([a, b, c]) => [a, b.transpose(0, 1), c],
    run: (a, b, c) => concat([a, c, b], -1),
    ref: (a, b, c) => concatRef([a, c, transposeRef(b, 0, 1)], 1),
    grad: [0, 1],
  },
  {
    op: 'concat',
    name: 'middle dim of rank 3; int32 and float32 promote',
    inputs: [seeded([2, 1, 2], 904), ref([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8], 'int32')],
    run: (a, b) => concat([a, b], 1),
    ref: (a, b) => concatRef([a, b], 1),
    grad: [0],
  },
  {
    op: 'concat',
    name: 'int32 stays int32',
    inputs: [ref([2], [1, 2], 'int32'), ref([1], [3], 'int32')],
    run: (a, b) => concat([a, b]),
    ref: (a, b) => concatRef([a, b], 0),
  },
  {
    op: 'cat',
    name: 'alias of concat (torch.cat)',
    inputs: [seeded([1, 2], 905), seeded([1, 2], 906)],
    run: (a, b) => concat([a, b], 1),
    ref: (a, b) => concatRef([a, b], 1),
  },
  {
    op: 'stack',
    name: 'new dim 0 and new last dim',
    inputs: [seeded([2, 3], 910), seeded([2, 3], 911)],
    run: (a, b) => stack([a, b], 0).add(stack([b, a], -1).permute(2, 0, 1)),
    ref: (a, b) =>
      build([2, 2, 3], ([s, i, j]) =>
        s === 0 ? at(a, [i, j]) + at(b, [i, j]) : at(b, [i, j]) + at(a, [i, j]),
      ),
    grad: [0, 1],
  },
  {
    op: 'stack',
    name: 'scalars to a vector',
    inputs: [seeded([], 912), seeded([], 913)],
    run: (a, b) => stack([a, b, a]),
    ref: (a, b) => ref([3], [a.data[0], b.data[0], a.data[0]]),
    grad: [0, 1],
  },
  {
    op: 'split',
    name: 'by size: [5,2] in chunks of 2 (last smaller)',
    inputs: [seeded([5, 2], 920)],
    run: (x) => {
      const parts = split(x, 2);
      return concat([parts[2], parts[0].mul(2)]);
    },
    ref: (x) => build([3, 2], ([i, j]) => (i === 0 ? at(x, [4, j]) : 2 * at(x, [i - 1, j]))),
    grad: [0],
  },
  {
    op: 'split',
    name: 'by sections [1,0,3] along dim 1',
    inputs: [seeded([2, 4], 921)],
    run: (x) => {
      const [a, b, c] = split(x, [1, 0, 3], 1);
      return concat([c, b, a.mul(-1)], 1);
    },
    ref: (x) => build([2, 4], ([i, j]) => (j < 3 ? at(x, [i, j + 1]) : -at(x, [i, 0]))),
    grad: [0],
  },
  {
    op: 'chunk',
    name: '7 elements in 3 chunks of 3, 3, 1',
    inputs: [seeded([7], 930)],
    run: (x) => {
      const parts = chunk(x, 3);
      return stack([parts[0].sum(), parts[1].sum().mul(2), parts[2].sum().mul(3)]);
    },
    ref: (x) => {
      const d = x.data;
      return ref([3], [d[0] + d[1] + d[2], 2 * (d[3] + d[4] + d[5]), 3 * d[6]]);
    },
    grad: [0],
  },
  {
    op: 'chunk',
    name: 'dim 1 of [2,6] in 2',
    inputs: [seeded([2, 6], 931)],
    run: (x) => {
      const [a, b] = chunk(x, 2, 1);
      return a.sub(b);
    },
    ref: (x) => build([2, 3], ([i, j]) => at(x, [i, j]) - at(x, [i, j + 3])),
    grad: [0],
  },
  {
    op: 'pad',
    name: 'constant, last dim [1, 2] with value 0.5',
    inputs: [seeded([2, 3], 940)],
    run: (x) => pad(x, [1, 2], 'constant', 0.5),
    ref: (x) => padRef(x, [1, 2], 'constant', 0.5),
    grad: [0],
  },
  {
    op: 'pad',
    name: 'constant, last two dims of [2,2,3] (order: last dim first)',
    inputs: [seeded([2, 2, 3], 941)],
    run: (x) => pad(x, [0, 1, 2, 0]),
    ref: (x) => padRef(x, [0, 1, 2, 0], 'constant'),
    grad: [0],
  },
  {
    op: 'pad',
    name: 'constant, negative pads crop, on a transposed view',
    inputs: [seeded([4, 3], 942)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => pad(x, [-1, 2, 1, -1]),
    ref: (x) => {
      const t = transposeRef(x, 0, 1); // [3,4]
      return build([3, 5], ([i, j]) => {
        const si = i - 1;
        const sj = j + 1;
        return si >= 0 && si < 3 && sj < 4 ? at(t, [si, sj]) : 0;
      });
    },
    grad: [0],
  },
  {
    op: 'pad',
    name: 'reflect, last two dims',
    inputs: [seeded([1, 3, 4], 943)],
    run: (x) => pad(x, [2, 1, 1, 2], 'reflect'),
    ref: (x) => padRef(x, [2, 1, 1, 2], 'reflect'),
    grad: [0],
  },
  {
    op: 'pad',
    name: 'replicate, last two dims (pads wider than the input)',
    inputs: [seeded([2, 2, 3], 944)],
    run: (x) => pad(x, [4, 1, 0, 3], 'replicate'),
    ref: (x) => padRef(x, [4, 1, 0, 3], 'replicate'),
    grad: [0],
  },
  {
    op: 'pad',
    name: 'circular, last dim',
    inputs: [seeded([2, 4], 945)],
    run: (x) => pad(x, [2, 3], 'circular'),
    ref: (x) => padRef(x, [2, 3], 'circular'),
    grad: [0],
  },
  {
    op: 'pad',
    name: 'zero-size input, constant',
    inputs: [ref([0, 2], [])],
    run: (x) => pad(x, [1, 1, 1, 0], 'constant', 3),
    ref: (x) => padRef(x, [1, 1, 1, 0], 'constant', 3),
  },
  {
    op: 'flip',
    name: 'one dim and two dims',
    inputs: [seeded([2, 3, 4], 950)],
    run: (x) => flip(x, [0, 2]).add(flip(x, -2)),
    ref: (x) => build([2, 3, 4], ([i, j, k]) => at(x, [1 - i, j, 3 - k]) + at(x, [i, 2 - j, k])),
    grad: [0],
  },
  {
    op: 'flip',
    name: 'transposed view, int32',
    inputs: [ref([2, 3], [1, 2, 3, 4, 5, 6], 'int32')],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => flip(x, 0),
    ref: (x) => build([3, 2], ([i, j]) => at(x, [j, 2 - i])),
  },
  {
    op: 'tril',
    name: 'diagonal 0, -1 and 2 on [2,3,4]',
    inputs: [seeded([2, 3, 4], 960)],
    run: (x) => tril(x).add(tril(x, -1)).add(tril(x, 2)),
    ref: (x) => {
      const a = tri(x, (r, c) => c - r <= 0);
      const b = tri(x, (r, c) => c - r <= -1);
      const c2 = tri(x, (r, c) => c - r <= 2);
      return { shape: a.shape, data: a.data.map((v, i) => v + b.data[i] + c2.data[i]) };
    },
    grad: [0],
  },
  {
    op: 'triu',
    name: 'diagonal 0, 1 and -2 on a transposed view',
    inputs: [seeded([5, 3], 961)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => triu(x).add(triu(x, 1)).add(triu(x, -2)),
    ref: (x) => {
      const t = transposeRef(x, 0, 1);
      const a = tri(t, (r, c) => c - r >= 0);
      const b = tri(t, (r, c) => c - r >= 1);
      const c2 = tri(t, (r, c) => c - r >= -2);
      return { shape: a.shape, data: a.data.map((v, i) => v + b.data[i] + c2.data[i]) };
    },
    grad: [0],
  },
  {
    op: 'triu',
    name: 'bool mask (causal attention)',
    inputs: [ref([3, 3], [1, 1, 1, 1, 1, 1, 1, 1, 1], 'bool')],
    run: (x) => triu(x, 1),
    ref: (x) => tri(x, (r, c) => c - r >= 1),
  },
  {
    op: 'repeat',
    name: '[2,3] repeated [2,1,3] (adds a leading dim)',
    inputs: [seeded([2, 3], 970)],
    run: (x) => repeat(x, [2, 1, 3]),
    ref: (x) => repeatRef(x, [2, 1, 3]),
    grad: [0],
  },
  {
    op: 'repeat',
    name: 'transposed view, zero repeats',
    inputs: [seeded([3, 2], 971)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => repeat(x, [2, 0]),
    ref: () => ({ shape: [4, 0], data: new Float64Array(0) }),
  },
  {
    op: 'tile',
    name: 'fewer dims than the tensor (ones prepended)',
    inputs: [seeded([2, 2, 3], 972)],
    run: (x) => tile(x, [2]),
    ref: (x) => repeatRef(x, [1, 1, 2]),
    grad: [0],
  },
  {
    op: 'tile',
    name: 'more dims than the tensor',
    inputs: [seeded([3], 973)],
    run: (x) => tile(x, [2, 2]),
    ref: (x) => repeatRef(x, [2, 2]),
    grad: [0],
  },
];
