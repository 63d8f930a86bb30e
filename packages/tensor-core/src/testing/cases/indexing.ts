import { embedding, gather, indexSelect, maskedFill, oneHot, scatterAdd } from '../../index.js';
import { type ConformanceCase, ref, seeded } from '../case.js';
import { at, build, transposeRef } from './ref-util.js';

const ints = (shape: number[], vals: number[]) => ref(shape, vals, 'int32');
const PAD_W = seeded([3, 2], 1031);

/** gather, scatterAdd, indexSelect, embedding, oneHot, maskedFill. */
export const indexingCases: ConformanceCase[] = [
  {
    op: 'gather',
    name: 'dim 1 with repeated indices',
    inputs: [seeded([3, 4], 1000), ints([3, 2], [0, 0, 3, 1, 2, 2])],
    run: (x, i) => gather(x, 1, i),
    ref: (x, i) => build([3, 2], ([r, c]) => at(x, [r, at(i, [r, c])])),
    grad: [0],
  },
  {
    op: 'gather',
    name: 'dim 0, index smaller than the input, transposed input',
    inputs: [seeded([4, 3], 1001), ints([2, 2], [2, 0, 1, 1])],
    view: ([x, i]) => [x.transpose(0, 1), i],
    run: (x, i) => gather(x, 0, i),
    ref: (x, i) => {
      const t = transposeRef(x, 0, 1);
      return build([2, 2], ([r, c]) => at(t, [at(i, [r, c]), c]));
    },
    grad: [0],
  },
  {
    op: 'gather',
    name: 'expanded index view (stride 0), rank 3',
    inputs: [seeded([2, 3, 4], 1002), ints([1, 1, 4], [2, 0, 1, 2])],
    view: ([x, i]) => [x, i.expand([2, 1, 4])],
    run: (x, i) => gather(x, 1, i),
    ref: (x, i) => build([2, 1, 4], ([a, _b, c]) => at(x, [a, i.data[c], c])),
    grad: [0],
  },
  {
    op: 'gather',
    name: 'int32 input',
    inputs: [ints([2, 3], [10, 11, 12, 13, 14, 15]), ints([2, 1], [2, 0])],
    run: (x, i) => gather(x, 1, i),
    ref: () => ref([2, 1], [12, 13]),
  },
  {
    op: 'scatterAdd',
    name: 'dim 0, duplicate targets accumulate',
    inputs: [seeded([3, 2], 1010), ints([4, 2], [0, 1, 0, 2, 2, 2, 1, 0]), seeded([4, 2], 1011)],
    run: (x, i, s) => scatterAdd(x, 0, i, s),
    ref: (x, i, s) => {
      const out = x.data.slice();
      for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) out[at(i, [r, c]) * 2 + c] += at(s, [r, c]);
      return { shape: [3, 2], data: out };
    },
    grad: [0, 2],
  },
  {
    op: 'scatterAdd',
    name: 'dim 1, src larger than index',
    inputs: [seeded([2, 3], 1012), ints([2, 1], [2, 0]), seeded([2, 2], 1013)],
    run: (x, i, s) => scatterAdd(x, 1, i, s),
    ref: (x, i, s) => {
      const out = x.data.slice();
      for (let r = 0; r < 2; r++) out[r * 3 + i.data[r]] += at(s, [r, 0]);
      return { shape: [2, 3], data: out };
    },
    grad: [0, 2],
  },
  {
    op: 'indexSelect',
    name: 'dim 0 with repeats (embedding-like)',
    inputs: [seeded([4, 3], 1020), ints([5], [3, 0, 3, 1, 1])],
    run: (x, i) => indexSelect(x, 0, i),
    ref: (x, i) => build([5, 3], ([r, c]) => at(x, [i.data[r], c])),
    grad: [0],
  },
  {
    op: 'indexSelect',
    name: 'dim -1 of a transposed view',
    inputs: [seeded([4, 2, 3], 1021), ints([3], [1, 3, 1])],
    view: ([x, i]) => [x.transpose(0, 2), i],
    run: (x, i) => indexSelect(x, -1, i),
    ref: (x, i) => build([3, 2, 3], ([a, b, c]) => at(x, [i.data[c], b, a])),
    grad: [0],
  },
  {
    op: 'indexSelect',
    name: 'empty index',
    inputs: [seeded([4, 3], 1022), ints([0], [])],
    run: (x, i) => indexSelect(x, 0, i),
    ref: () => ({ shape: [0, 3], data: new Float64Array(0) }),
  },
  {
    op: 'embedding',
    name: '[2,3] ids into a [5,4] table',
    inputs: [ints([2, 3], [4, 0, 4, 1, 2, 3]), seeded([5, 4], 1030)],
    run: (ids, w) => embedding(ids, w),
    ref: (ids, w) => build([2, 3, 4], ([a, b, d]) => at(w, [at(ids, [a, b]), d])),
    grad: [1],
  },
  {
    op: 'embedding',
    name: 'paddingIdx rows get no gradient',
    inputs: [ints([4], [1, 0, 1, 2]), PAD_W],
    run: (ids, w) => embedding(ids, w, { paddingIdx: 1 }),
    // Row 1 is read from the unperturbed table, so its finite-difference gradient is 0.
    ref: (ids, w) => build([4, 2], ([r, d]) => at(ids.data[r] === 1 ? PAD_W : w, [ids.data[r], d])),
    grad: [1],
  },
  {
    op: 'oneHot',
    name: 'inferred class count (max + 1)',
    inputs: [ints([2, 2], [0, 3, 1, 1])],
    run: (i) => oneHot(i),
    needsSyncRead: 'oneHot: pass numClasses',
    ref: (i) => build([2, 2, 4], ([a, b, k]) => (at(i, [a, b]) === k ? 1 : 0)),
  },
  {
    op: 'oneHot',
    name: 'values',
    inputs: [ints([3], [2, 0, 1])],
    run: (i) => oneHot(i, 3),
    ref: () => ref([3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0]),
  },
  {
    op: 'maskedFill',
    name: 'broadcast mask, -inf fill, gradient where not masked',
    inputs: [seeded([2, 3], 1040), ref([1, 3], [1, 0, 1], 'bool')],
    run: (x, m) => maskedFill(x, m, -1e9),
    ref: (x, m) => build([2, 3], ([r, c]) => (m.data[c] ? -1e9 : at(x, [r, c]))),
    grad: [0],
  },
];
