// Runs the tokenizer.json fuzz cases in a worker thread so that the test can stop a case that
// hangs. It reports each case before running it.
import { parentPort, workerData } from 'node:worker_threads';
import { runFuzz } from './fuzz-tokenizer-json.mjs';

const { Tokenizer } = await import(workerData.entry);
const stats = runFuzz(Tokenizer, workerData.bases, workerData.seed, workerData.count, (i, label) =>
  parentPort.postMessage({ type: 'case', i, label }),
);
parentPort.postMessage({ type: 'done', stats });
