/**
 * Single-threaded float32 GEMM on strided operands: C[m,n] = sum_k A[m,k] B[k,n].
 * When B's rows are contiguous (sbn = 1) it runs a 4-row register-blocked i-k-j loop that streams
 * B rows; otherwise it packs B into a contiguous panel first.
 */
export function matmulKernel(
  A: Float32Array,
  ao: number,
  sam: number,
  sak: number,
  B: Float32Array,
  bo: number,
  sbk: number,
  sbn: number,
  C: Float32Array,
  co: number,
  m: number,
  k: number,
  n: number,
): void {
  let Bp = B;
  let bOff = bo;
  let bRow = sbk;
  if (sbn !== 1) {
    Bp = new Float32Array(k * n);
    for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) Bp[kk * n + j] = B[bo + kk * sbk + j * sbn];
    bOff = 0;
    bRow = n;
  }
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = co + i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    const a0 = ao + i * sam;
    const a1 = a0 + sam;
    const a2 = a1 + sam;
    const a3 = a2 + sam;
    for (let kk = 0; kk < k; kk++) {
      const x0 = A[a0 + kk * sak];
      const x1 = A[a1 + kk * sak];
      const x2 = A[a2 + kk * sak];
      const x3 = A[a3 + kk * sak];
      const br = bOff + kk * bRow;
      for (let j = 0; j < n; j++) {
        const bv = Bp[br + j];
        C[c0 + j] += x0 * bv;
        C[c1 + j] += x1 * bv;
        C[c2 + j] += x2 * bv;
        C[c3 + j] += x3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const c0 = co + i * n;
    const a0 = ao + i * sam;
    for (let kk = 0; kk < k; kk++) {
      const x0 = A[a0 + kk * sak];
      const br = bOff + kk * bRow;
      for (let j = 0; j < n; j++) C[c0 + j] += x0 * Bp[br + j];
    }
  }
}
