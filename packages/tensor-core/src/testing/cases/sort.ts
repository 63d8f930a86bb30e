import { argsort, cumsum, dropout, Generator, multinomial, sort, topk } from '../../index.js';
import { type ConformanceCase, type RefArray, ref, seeded } from '../case.js';
import { alongDim, transposeRef } from './ref-util.js';

/** Stable sort of a row: [values, indices]; NaN is the largest value. */
function sortRow(row: number[], descending: boolean): [number[], number[]] {
  const key = (v: number) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : v);
  const order = row.map((_, i) => i);
  order.sort((p, q) => {
    const a = key(row[p]);
    const b = key(row[q]);
    const nanOrder = Number(Number.isNaN(row[p])) - Number(Number.isNaN(row[q]));
    const c = a === b ? (descending ? -nanOrder : nanOrder) : descending ? b - a : a - b;
    return c !== 0 ? c : p - q;
  });
  return [order.map((i) => row[i]), order];
}

const sortValues = (x: RefArray, dim: number, desc: boolean) => alongDim(x, dim, (r) => sortRow(r, desc)[0]);
const sortIndices = (x: RefArray, dim: number, desc: boolean) => alongDim(x, dim, (r) => sortRow(r, desc)[1]);

/** Takes the first k of every fibre along dim. */
function firstK(x: RefArray, dim: number, k: number): RefArray {
  const shape = [...x.shape];
  shape[dim] = k;
  const out: number[] = [];
  const st = x.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const outer = x.shape.slice(0, dim).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < k; j++)
      for (let i = 0; i < st; i++) out.push(x.data[(o * x.shape[dim] + j) * st + i]);
  return ref(shape, out);
}

function cumsumRef(x: RefArray, dim: number): RefArray {
  return alongDim(x, dim, (r) => {
    let s = 0;
    return r.map((v) => {
      s += v;
      return s;
    });
  });
}

/** Uniforms exactly as Generator.uniform draws them, for references of the random ops. */
function uniforms(seed: number, n: number): number[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => g.uniform());
}

/** sort, argsort, topk, cumsum, and the seeded random ops (multinomial, dropout). */
export const sortCases: ConformanceCase[] = [
  {
    op: 'sort',
    name: 'ascending along the last dim, with gradient',
    inputs: [seeded([3, 5], 1200)],
    run: (x) => sort(x).values,
    ref: (x) => sortValues(x, 1, false),
    grad: [0],
  },
  {
    op: 'sort',
    name: 'descending along dim 0 (indices)',
    inputs: [seeded([4, 3], 1201)],
    run: (x) => sort(x, 0, true).indices,
    ref: (x) => sortIndices(x, 0, true),
  },
  {
    op: 'sort',
    name: 'stable on ties, NaN last ascending and first descending',
    inputs: [ref([2, 5], [2, 1, Number.NaN, 1, 2, 0, 0, -1, 0, 3])],
    run: (x) => sort(x, -1).indices.add(sort(x, -1, true).indices.mul(10)),
    ref: (x) => {
      const a = sortIndices(x, 1, false);
      const b = sortIndices(x, 1, true);
      return { shape: a.shape, data: a.data.map((v, i) => v + 10 * b.data[i]) };
    },
  },
  {
    op: 'sort',
    name: 'transposed view, options object, values with gradient',
    inputs: [seeded([3, 4], 1202)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => sort(x, { dim: 1, descending: true }).values,
    ref: (x) => sortValues(transposeRef(x, 0, 1), 1, true),
    grad: [0],
  },
  {
    op: 'sort',
    name: 'int32 values',
    inputs: [ref([5], [3, -1, 2, -1, 0], 'int32')],
    run: (x) => sort(x).values,
    ref: (x) => sortValues(x, 0, false),
  },
  {
    op: 'argsort',
    name: 'ascending and descending along dim 1 of [2,3,4]',
    inputs: [seeded([2, 3, 4], 1210)],
    run: (x) => argsort(x, 1).add(argsort(x, 1, true).mul(4)),
    ref: (x) => {
      const a = sortIndices(x, 1, false);
      const b = sortIndices(x, 1, true);
      return { shape: a.shape, data: a.data.map((v, i) => v + 4 * b.data[i]) };
    },
  },
  {
    op: 'topk',
    name: 'k = 3 largest along the last dim (values, gradient)',
    inputs: [seeded([2, 6], 1220)],
    run: (x) => topk(x, 3).values,
    ref: (x) => firstK(sortValues(x, 1, true), 1, 3),
    grad: [0],
  },
  {
    op: 'topk',
    name: 'k = 2 smallest along dim 0 (indices)',
    inputs: [seeded([5, 3], 1221)],
    run: (x) => topk(x, 2, 0, false).indices,
    ref: (x) => firstK(sortIndices(x, 0, false), 0, 2),
  },
  {
    op: 'topk',
    name: 'k = 0 and k = n',
    inputs: [seeded([2, 4], 1222)],
    run: (x) => topk(x, 4).values.sum(-1).add(topk(x, 0).values.sum(-1)),
    ref: (x) =>
      ref(
        [2],
        [0, 1].map((r) => x.data.slice(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0)),
      ),
    grad: [0],
  },
  {
    op: 'cumsum',
    name: 'dim 1 of [2,5] with gradient',
    inputs: [seeded([2, 5], 1230)],
    run: (x) => cumsum(x, 1),
    ref: (x) => cumsumRef(x, 1),
    grad: [0],
  },
  {
    op: 'cumsum',
    name: 'dim 0 of a transposed view, with gradient',
    inputs: [seeded([3, 4], 1231)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => cumsum(x, 0),
    ref: (x) => cumsumRef(transposeRef(x, 0, 1), 0),
    grad: [0],
  },
  {
    op: 'cumsum',
    name: 'long scan of 1e4 elements',
    inputs: [seeded([10000], 1232, 0, 1)],
    run: (x) => cumsum(x, 0),
    ref: (x) => cumsumRef(x, 0),
    // Declared (too many inputs for a Jacobian): positive terms (condition 1); a blocked scan of 1e4
    // rounds about log2(1e4) = 14 times: 1e-6, declared with 10x room.
    rtol: 1e-5,
  },
  {
    op: 'cumsum',
    name: 'int32 and bool scan to int32',
    inputs: [ref([4], [1, -2, 3, 4], 'int32'), ref([4], [1, 0, 1, 1], 'bool')],
    run: (a, b) => cumsum(a, 0).add(cumsum(b, -1)),
    ref: () => ref([4], [1 + 1, -1 + 1, 2 + 2, 6 + 3]),
  },
  {
    op: 'multinomial',
    name: 'with replacement: inverse-CDF of the generator uniforms',
    inputs: [ref([2, 4], [0.1, 0, 0.6, 0.3, 2, 1, 0, 1])],
    run: (p) => multinomial(p, 20, { replacement: true, generator: new Generator(11) }),
    ref: (p) => {
      const u = uniforms(11, 40);
      const out: number[] = [];
      for (let r = 0; r < 2; r++) {
        const row = Array.from(p.data.subarray(r * 4, r * 4 + 4));
        const total = row.reduce((a, b) => a + b, 0);
        for (let s = 0; s < 20; s++) {
          let acc = 0;
          let k = 0;
          for (; k < 3; k++) {
            acc += row[k] / total;
            if (u[r * 20 + s] < acc) break;
          }
          out.push(k);
        }
      }
      return ref([2, 20], out);
    },
  },
  {
    op: 'multinomial',
    name: 'without replacement: distinct categories, zero weights never drawn',
    inputs: [ref([6], [0.2, 0, 0.3, 0.1, 0, 0.4])],
    run: (p) => {
      const s = multinomial(p, 4, { generator: new Generator(5) });
      return sort(s).values;
    },
    ref: () => ref([4], [0, 2, 3, 5]),
  },
  {
    op: 'dropout',
    name: 'mask from the generator, survivors scaled by 1/(1-p), gradient',
    inputs: [seeded([3, 4], 1240)],
    run: (x) => dropout(x, 0.25, true, new Generator(3)),
    ref: (x) => {
      const u = uniforms(3, 12);
      return ref([3, 4], (i) => (u[i] >= 0.25 ? x.data[i] / 0.75 : 0));
    },
    grad: [0],
  },
  {
    op: 'dropout',
    name: 'identity outside training and for p = 0; zeros for p = 1',
    inputs: [seeded([5], 1241)],
    run: (x) =>
      dropout(x, 0.5, false)
        .add(dropout(x, 0))
        .add(dropout(x, 1, true, new Generator(1))),
    ref: (x) => ref([5], (i) => 2 * x.data[i]),
    grad: [0],
  },
];
