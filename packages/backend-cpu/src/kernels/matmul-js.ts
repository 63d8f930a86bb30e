/**
 * Single-threaded float32 GEMM on strided operands: C[m,n] = sum_k A[m,k] B[k,n].
 * When B's rows are contiguous (sbn = 1) it runs a 4-row register-blocked i-k-j loop that streams
 * B rows; when both A's rows and B's columns are contiguous (B transposed, as in `x @ W.T`) it
 * takes dot products; otherwise it packs B into a contiguous panel first.
 */
export function matmulJs(
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
  if (sak === 1 && sbk === 1 && sbn !== 1) {
    dotProducts(A, ao, sam, B, bo, sbn, C, co, m, k, n);
    return;
  }
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

/** C[i, j] += dot(A row i, B column j) for contiguous rows of A and columns of B. */
function dotProducts(
  A: Float32Array,
  ao: number,
  sam: number,
  B: Float32Array,
  bo: number,
  sbn: number,
  C: Float32Array,
  co: number,
  m: number,
  k: number,
  n: number,
): void {
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    const a = ao + i * sam;
    const c = co + i * n;
    for (let j = 0; j < n; j++) {
      const b = bo + j * sbn;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let q = 0;
      for (; q < k4; q += 4) {
        s0 += A[a + q] * B[b + q];
        s1 += A[a + q + 1] * B[b + q + 1];
        s2 += A[a + q + 2] * B[b + q + 2];
        s3 += A[a + q + 3] * B[b + q + 3];
      }
      for (; q < k; q++) s0 += A[a + q] * B[b + q];
      C[c + j] += s0 + s1 + s2 + s3;
    }
  }
}
