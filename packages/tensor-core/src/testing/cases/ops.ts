// The case families of the tensor ops, gathered for suite.ts.
import type { ConformanceCase } from '../case.js';
import { binaryCases } from './binary.js';
import { indexingCases } from './indexing.js';
import { reduceCases } from './reduce.js';
import { shapeCases } from './shape.js';
import { softmaxNormCases } from './softmax-norm.js';
import { sortCases } from './sort.js';
import { unaryCases } from './unary.js';
import { viewCases } from './views.js';

/** Cases for every elementwise, reduction, matmul, shape, indexing, softmax, norm and sort op. */
export const opCases: ConformanceCase[] = [
  ...unaryCases,
  ...binaryCases,
  ...reduceCases,
  ...shapeCases,
  ...indexingCases,
  ...softmaxNormCases,
  ...sortCases,
  ...viewCases,
];
