/**
 * A WebAssembly SIMD GEMM microkernel, assembled at run time from the bytes below (no build tool).
 *
 * The module exports its memory and one function,
 * `block(pa, pb, pc, mc, nc, kc, ldc)` (byte addresses and element counts), which computes
 * `C[mc, nc] += Apanels[mc, kc] · Bpanels[kc, nc]` where
 * - A is packed in panels of MR rows: panel i holds, for each k, the MR values A[i*MR + r, k];
 * - B is packed in panels of NR columns: panel j holds, for each k, the NR values B[k, j*NR + c];
 * - C is row-major with leading dimension `ldc` (elements); mc is a multiple of MR, nc of NR.
 *
 * The loop order is GotoBLAS's: for each B panel (kept in L1) sweep the A panels (in L2); the
 * MR×NR tile of C lives in MR·NR/4 f32x4 accumulators across the whole k loop, and each k step
 * does NR/4 vector loads of B, MR broadcast loads of A and MR·NR/4 multiply-adds.
 */

// ---- a tiny WebAssembly binary writer ----

enum Op {
  Block = 0x02,
  Loop = 0x03,
  Br = 0x0c,
  BrIf = 0x0d,
  End = 0x0b,
  LocalGet = 0x20,
  LocalSet = 0x21,
  LocalTee = 0x22,
  I32Const = 0x41,
  I32LtU = 0x49,
  I32GeU = 0x4f,
  F32Add = 0x92,
  F32Store = 0x38,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32Mul = 0x6c,
  I32Shl = 0x74,
  Simd = 0xfd,
}
enum SimdOp {
  Load = 0x00,
  Load32Splat = 0x09,
  Store = 0x0b,
  Const = 0x0c,
  F32x4ExtractLane = 0x1f,
  F32x4Add = 0xe4,
  F32x4Mul = 0xe6,
}
const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** Emits a function body instruction by instruction. */
class Code {
  readonly b: number[] = [];
  get(l: number) {
    this.b.push(Op.LocalGet, ...uleb(l));
  }
  set(l: number) {
    this.b.push(Op.LocalSet, ...uleb(l));
  }
  tee(l: number) {
    this.b.push(Op.LocalTee, ...uleb(l));
  }
  i32(v: number) {
    this.b.push(Op.I32Const, ...sleb(v));
  }
  op(...ops: number[]) {
    this.b.push(...ops);
  }
  simd(op: SimdOp, ...imm: number[]) {
    this.b.push(Op.Simd, ...uleb(op), ...imm);
  }
  /** memarg: alignment exponent and a constant byte offset. */
  load(offset: number) {
    this.simd(SimdOp.Load, 4, ...uleb(offset));
  }
  splat32(offset: number) {
    this.simd(SimdOp.Load32Splat, 2, ...uleb(offset));
  }
  store(offset: number) {
    this.simd(SimdOp.Store, 4, ...uleb(offset));
  }
  zero() {
    this.simd(SimdOp.Const, ...new Array(16).fill(0));
  }
}

/** Body of `block` for an MR×NR register tile (NR a multiple of 4), the k loop unrolled U times. */
function blockBody(MR: number, NR: number, U: number): number[] {
  const NV = NR / 4;
  // params
  const PA = 0;
  const PB = 1;
  const PC = 2;
  const MC = 3;
  const NC = 4;
  const KC = 5;
  const LDC = 6;
  // i32 locals
  let next = 7;
  const JR = next++; // byte offset of the current B panel from pb
  const IR = next++; // row index of the current A panel
  const P = next++; // walking A pointer
  const Q = next++; // walking B pointer
  const K = next++; // k countdown
  const CROW = next++; // C tile pointer
  const LDC4 = next++; // ldc in bytes
  const PBEND = next++; // end of B panels
  const APANEL = next++; // bytes of one A panel (MR*kc*4)
  const BPANEL = next++; // bytes of one B panel (NR*kc*4)
  const CCOL = next++; // C pointer at the current column block
  const PAI = next++; // A panel pointer
  const nI32 = next - 7;
  // v128 locals
  const ACC = next;
  next += MR * NV;
  const BV = next;
  next += NV;
  const AV = next++;
  const nV128 = MR * NV + NV + 1;

  const c = new Code();
  // LDC4 = ldc*4; APANEL = MR*kc*4; BPANEL = NR*kc*4; PBEND = pb + nc*kc*4 (the end of the B panels)
  c.get(LDC);
  c.i32(2);
  c.op(Op.I32Shl);
  c.set(LDC4);
  c.get(KC);
  c.i32(MR * 4);
  c.op(Op.I32Mul);
  c.set(APANEL);
  c.get(KC);
  c.i32(NR * 4);
  c.op(Op.I32Mul);
  c.set(BPANEL);
  // JR walks the B panels: JR = pb; CCOL = pc
  c.get(PB);
  c.set(JR);
  c.get(PC);
  c.set(CCOL);
  c.get(PB);
  c.get(NC);
  c.get(KC);
  c.op(Op.I32Mul);
  c.i32(2);
  c.op(Op.I32Shl);
  c.op(Op.I32Add);
  c.set(PBEND);

  // loop over B panels
  c.op(Op.Block, 0x40, Op.Loop, 0x40);
  // IR = 0; PAI = pa; CROW = CCOL
  c.i32(0);
  c.set(IR);
  c.get(PA);
  c.set(PAI);
  c.get(CCOL);
  c.set(CROW);
  // loop over A panels
  c.op(Op.Block, 0x40, Op.Loop, 0x40);
  for (let i = 0; i < MR * NV; i++) {
    c.zero();
    c.set(ACC + i);
  }
  c.get(PAI);
  c.set(P);
  c.get(JR);
  c.set(Q);
  c.get(KC);
  c.set(K);
  // k loop, unrolled U times (kc is a multiple of U)
  c.op(Op.Loop, 0x40);
  for (let u = 0; u < U; u++) {
    for (let v = 0; v < NV; v++) {
      c.get(Q);
      c.load(u * NR * 4 + 16 * v);
      c.set(BV + v);
    }
    for (let r = 0; r < MR; r++) {
      c.get(P);
      c.splat32(u * MR * 4 + 4 * r);
      c.set(AV);
      for (let v = 0; v < NV; v++) {
        c.get(ACC + r * NV + v);
        c.get(AV);
        c.get(BV + v);
        c.simd(SimdOp.F32x4Mul);
        c.simd(SimdOp.F32x4Add);
        c.set(ACC + r * NV + v);
      }
    }
  }
  c.get(P);
  c.i32(U * MR * 4);
  c.op(Op.I32Add);
  c.set(P);
  c.get(Q);
  c.i32(U * NR * 4);
  c.op(Op.I32Add);
  c.set(Q);
  c.get(K);
  c.i32(U);
  c.op(Op.I32Sub);
  c.tee(K);
  c.op(Op.BrIf, 0); // continue while K != 0
  c.op(Op.End);
  // C tile += acc, row by row
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) {
      c.get(CROW);
      c.get(CROW);
      c.load(16 * v);
      c.get(ACC + r * NV + v);
      c.simd(SimdOp.F32x4Add);
      c.store(16 * v);
    }
    if (r < MR - 1) {
      c.get(CROW);
      c.get(LDC4);
      c.op(Op.I32Add);
      c.set(CROW);
    }
  }
  // CROW += LDC4 (next tile starts MR rows below the first row of this one)
  c.get(CROW);
  c.get(LDC4);
  c.op(Op.I32Add);
  c.set(CROW);
  c.get(PAI);
  c.get(APANEL);
  c.op(Op.I32Add);
  c.set(PAI);
  // IR += MR; continue while IR < mc
  c.get(IR);
  c.i32(MR);
  c.op(Op.I32Add);
  c.tee(IR);
  c.get(MC);
  c.op(Op.I32GeU, Op.BrIf, 1);
  c.op(Op.Br, 0); // next A panel
  c.op(Op.End, Op.End);
  // next B panel: JR += BPANEL; CCOL += NR*4
  c.get(CCOL);
  c.i32(NR * 4);
  c.op(Op.I32Add);
  c.set(CCOL);
  c.get(JR);
  c.get(BPANEL);
  c.op(Op.I32Add);
  c.tee(JR);
  c.get(PBEND);
  c.op(Op.I32GeU, Op.BrIf, 1);
  c.op(Op.Br, 0); // next B panel
  c.op(Op.End, Op.End);
  c.op(Op.End);

  const locals = [...uleb(2), ...uleb(nI32), I32, ...uleb(nV128), V128];
  const body = [...locals, ...c.b];
  return [...uleb(body.length), ...body];
}

/**
 * Body of `gemv_t(pa, pw, py, k, n)`: y[j] = dot(a, W[j, :]) for W row-major [n, k] (rows of a
 * weight matrix, as `x @ W.T` reads them); k and n multiples of 4. Four rows share each load of a.
 */
function gemvTBody(): number[] {
  const [PA, PW, PY, KK, NN] = [0, 1, 2, 3, 4];
  let next = 5;
  const P = next++;
  const W0 = next++;
  const ROWB = next++; // k*4 bytes
  const Y = next++;
  const YEND = next++;
  const Q = next++;
  const nI32 = next - 5;
  const ACC = next;
  next += 4;
  const AV = next++;
  const c = new Code();
  c.get(KK);
  c.i32(2);
  c.op(Op.I32Shl);
  c.set(ROWB);
  c.get(PW);
  c.set(W0);
  c.get(PY);
  c.set(Y);
  c.get(PY);
  c.get(NN);
  c.i32(2);
  c.op(Op.I32Shl);
  c.op(Op.I32Add);
  c.set(YEND);
  c.op(Op.Block, 0x40, Op.Loop, 0x40);
  for (let r = 0; r < 4; r++) {
    c.zero();
    c.set(ACC + r);
  }
  c.get(PA);
  c.set(P);
  c.i32(0);
  c.set(Q);
  c.op(Op.Loop, 0x40);
  c.get(P);
  c.load(0);
  c.set(AV);
  for (let r = 0; r < 4; r++) {
    // acc_r += a * W[(j + r) * k + q]: address W0 + r*ROWB + Q
    c.get(ACC + r);
    c.get(AV);
    c.get(W0);
    if (r > 0) {
      c.get(ROWB);
      if (r > 1) {
        c.i32(r);
        c.op(Op.I32Mul);
      }
      c.op(Op.I32Add);
    }
    c.get(Q);
    c.op(Op.I32Add);
    c.load(0);
    c.simd(SimdOp.F32x4Mul);
    c.simd(SimdOp.F32x4Add);
    c.set(ACC + r);
  }
  c.get(P);
  c.i32(16);
  c.op(Op.I32Add);
  c.set(P);
  c.get(Q);
  c.i32(16);
  c.op(Op.I32Add);
  c.tee(Q);
  c.get(ROWB);
  c.op(Op.I32LtU, Op.BrIf, 0);
  c.op(Op.End);
  // y[j + r] = horizontal sum of acc_r
  for (let r = 0; r < 4; r++) {
    c.get(Y);
    for (let lane = 0; lane < 4; lane++) {
      c.get(ACC + r);
      c.simd(SimdOp.F32x4ExtractLane, lane);
      if (lane > 0) c.op(Op.F32Add);
    }
    c.op(Op.F32Store, 2, ...uleb(4 * r));
  }
  c.get(W0);
  c.get(ROWB);
  c.i32(2);
  c.op(Op.I32Shl);
  c.op(Op.I32Add);
  c.set(W0);
  c.get(Y);
  c.i32(16);
  c.op(Op.I32Add);
  c.tee(Y);
  c.get(YEND);
  c.op(Op.I32GeU, Op.BrIf, 1);
  c.op(Op.Br, 0);
  c.op(Op.End, Op.End, Op.End);
  const body = [...uleb(2), ...uleb(nI32), I32, ...uleb(5), V128, ...c.b];
  return [...uleb(body.length), ...body];
}

/**
 * Body of `gemv_n(pa, pb, py, k, n)`: y[j] += sum_q a[q] B[q, j] for B row-major [k, n]; k and n
 * multiples of 4. Four rows of B at a time update y (which stays in L1) with one load and store.
 */
function gemvNBody(): number[] {
  const [PA, PB, PY, KK, NN] = [0, 1, 2, 3, 4];
  let next = 5;
  const R0 = next++;
  const ROWB = next++;
  const Y = next++;
  const YEND = next++;
  const AEND = next++;
  const P = next++;
  const OFF = next++;
  const nI32 = next - 5;
  const AV = next;
  next += 4;
  const c = new Code();
  c.get(NN);
  c.i32(2);
  c.op(Op.I32Shl);
  c.set(ROWB);
  c.get(PY);
  c.get(ROWB);
  c.op(Op.I32Add);
  c.set(YEND);
  c.get(PA);
  c.get(KK);
  c.i32(2);
  c.op(Op.I32Shl);
  c.op(Op.I32Add);
  c.set(AEND);
  c.get(PA);
  c.set(P);
  c.get(PB);
  c.set(R0);
  c.op(Op.Block, 0x40, Op.Loop, 0x40);
  for (let r = 0; r < 4; r++) {
    c.get(P);
    c.splat32(4 * r);
    c.set(AV + r);
  }
  c.get(PY);
  c.set(Y);
  c.i32(0);
  c.set(OFF);
  c.op(Op.Loop, 0x40);
  c.get(Y);
  c.get(Y);
  c.load(0);
  for (let r = 0; r < 4; r++) {
    c.get(AV + r);
    c.get(R0);
    if (r > 0) {
      c.get(ROWB);
      if (r > 1) {
        c.i32(r);
        c.op(Op.I32Mul);
      }
      c.op(Op.I32Add);
    }
    c.get(OFF);
    c.op(Op.I32Add);
    c.load(0);
    c.simd(SimdOp.F32x4Mul);
    c.simd(SimdOp.F32x4Add);
  }
  c.store(0);
  c.get(OFF);
  c.i32(16);
  c.op(Op.I32Add);
  c.set(OFF);
  c.get(Y);
  c.i32(16);
  c.op(Op.I32Add);
  c.tee(Y);
  c.get(YEND);
  c.op(Op.I32LtU, Op.BrIf, 0);
  c.op(Op.End);
  c.get(R0);
  c.get(ROWB);
  c.i32(2);
  c.op(Op.I32Shl);
  c.op(Op.I32Add);
  c.set(R0);
  c.get(P);
  c.i32(16);
  c.op(Op.I32Add);
  c.tee(P);
  c.get(AEND);
  c.op(Op.I32GeU, Op.BrIf, 1);
  c.op(Op.Br, 0);
  c.op(Op.End, Op.End, Op.End);
  const body = [...uleb(2), ...uleb(nI32), I32, ...uleb(4), V128, ...c.b];
  return [...uleb(body.length), ...body];
}

/**
 * Assembles the module: memory `mem`, `block` (the GEMM macro-kernel for an MR×NR tile, k loop
 * unrolled U times), `gemv_t` and `gemv_n` (single-row products).
 */
export function assembleGemm(MR: number, NR: number, U = 1): Uint8Array<ArrayBuffer> {
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    // types: 0 = (i32 x7) -> (), 1 = (i32 x5) -> ()
    ...section(1, [2, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0, 0x60, 5, I32, I32, I32, I32, I32, 0]),
    // functions: block (type 0), gemv_t (type 1), gemv_n (type 1)
    ...section(3, [3, 0, 1, 1]),
    // memory 0: min 1 page, no max
    ...section(5, [1, 0x00, 1]),
    ...section(7, [
      4,
      ...str('block'),
      0x00,
      0,
      ...str('gemv_t'),
      0x00,
      1,
      ...str('gemv_n'),
      0x00,
      2,
      ...str('mem'),
      0x02,
      0,
    ]),
    ...section(10, [3, ...blockBody(MR, NR, U), ...gemvTBody(), ...gemvNBody()]),
  ];
  return new Uint8Array(bytes);
}
