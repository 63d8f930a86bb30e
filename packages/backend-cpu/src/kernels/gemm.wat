;; backend-cpu's matrix kernels: WebAssembly SIMD over one memory shared by every thread.
;;
;; Assembled by wabt (`node scripts/build-wasm.mjs`) into gemm-wasm.ts; a test checks the committed
;; bytes against this file. Addresses are bytes; strides and sizes are elements (float32).
;; Every function computes one rectangle of the output, so threads split a product by calling the
;; same function on disjoint rectangles: each output element is summed in the same order however
;; the work is split, and threaded results equal single-threaded ones bit for bit.
;;
;; gemm   C[m, n] = A[m, k] · B[k, n] (+ bias[n]) for strided A and B; GotoBLAS blocking: B is
;;        packed in panels of 8 columns (KC deep), A in panels of 4 rows, and a 4×8 tile of C lives
;;        in eight f32x4 accumulators for the whole KC loop.
;; pack_b, gemm_packed: B packed once (a weight reused unchanged), and gemm on it, same sums.
;; gemv_t y[i, j] = x[i, :] · W[j, :] (+ bias[j]): few rows times a weight matrix read in place
;;        (`x @ W.T` for W [n, k] with row stride ldw), the decoding product.
;; gemv_n y[i, j] = Σ_q x[i, q] B[q, j] (+ bias[j]) for B [k, n] with row stride ldb.
;; gemv_h, widen_h: gemv_t, and widening to a float32 block, for float16 and bfloat16 weights.
;; gemv_q8, dequant_q8: the same for int8 weights with per-row, per-group float32 scales.
;; gelu_tanh  the linear epilogue's GPT-2 GELU (tanh approximation) in place over a rectangle of C.
;; layer_norm  LayerNorm over contiguous rows, in float64 (norm.ts's layerNormKernel, SIMD).
;; binary_f32  add, sub, mul, div of two contiguous float32 arrays (a residual connection).
(module
  (import "env" "mem" (memory 1 65536 shared))

  ;; Cache blocking: KC rows of B per packed panel, MC rows of A per packed block, NC columns of B.
  ;; Workspace layout (ws): packed A (MC*KC floats), packed B (KC*NC floats), a 4×8 edge tile.
  ;; NC = 512 keeps the packed B block (512 KiB) in L2 beside packed A (128 KiB) and the rows of C
  ;; it updates: 2048 (2 MiB of packed B) ran the 128-row products of a GPT-2 prefill about 15 %
  ;; slower. NC only splits columns, so it changes no sum.
  (global $KC i32 (i32.const 256))
  (global $MC i32 (i32.const 128))
  (global $NC i32 (i32.const 512))

  ;; Bytes of workspace gemm needs: MC*KC*4 + KC*NC*4 + 128.
  (func (export "gemm_ws_bytes") (result i32)
    (i32.add
      (i32.add
        (i32.mul (i32.mul (global.get $MC) (global.get $KC)) (i32.const 4))
        (i32.mul (i32.mul (global.get $KC) (global.get $NC)) (i32.const 4)))
      (i32.const 128)))

  (func $min (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))

  ;; Packs kk×nn of B (from src, strides sbk/sbn) into panels of 8 columns: panel p holds, for each
  ;; q, the 8 values B[q, 8p .. 8p+7], zero past column nn. Full panels of a B with contiguous rows
  ;; go by packBRows, of a B stored transposed by packBT8; the rest one float at a time.
  (func $packB (param $src i32) (param $sbk i32) (param $sbn i32) (param $kk i32) (param $nn i32) (param $dst i32)
    (local $j i32) (local $q i32) (local $c i32) (local $cols i32) (local $panel i32) (local $d i32) (local $s i32)
    ;; rows of B contiguous: the full panels in blocks of 8 rows (packBRows), the rest below
    (if (i32.eq (local.get $sbn) (i32.const 1))
      (then
        (local.set $j (i32.and (local.get $nn) (i32.const -8)))
        (call $packBRows (local.get $src) (local.get $sbk) (local.get $kk) (local.get $j) (local.get $dst))))
    (block $done_j
      (loop $next_j
        (br_if $done_j (i32.ge_s (local.get $j) (local.get $nn)))
        (local.set $cols (call $min (i32.const 8) (i32.sub (local.get $nn) (local.get $j))))
        (local.set $panel (i32.add (local.get $dst) (i32.mul (i32.mul (local.get $j) (local.get $kk)) (i32.const 4))))
        (local.set $q (i32.const 0))
        (if (i32.and (i32.eq (local.get $cols) (i32.const 8)) (i32.eq (local.get $sbk) (i32.const 1)))
          (then
            ;; B transposed (each column a contiguous row of W, `x @ W.T`): 4×4 transposes
            (call $packBT8 (i32.add (local.get $src) (i32.shl (i32.mul (local.get $j) (local.get $sbn)) (i32.const 2)))
              (local.get $sbn) (local.get $kk) (local.get $panel)))
          (else
            ;; any strides, zero-padded to 8
            (loop $row
              (local.set $d (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 5))))
              (v128.store (local.get $d) (v128.const i32x4 0 0 0 0))
              (v128.store offset=16 (local.get $d) (v128.const i32x4 0 0 0 0))
              (local.set $c (i32.const 0))
              (loop $col
                (f32.store
                  (i32.add (local.get $d) (i32.shl (local.get $c) (i32.const 2)))
                  (f32.load (i32.add (local.get $src)
                    (i32.shl
                      (i32.add (i32.mul (local.get $q) (local.get $sbk))
                               (i32.mul (i32.add (local.get $j) (local.get $c)) (local.get $sbn)))
                      (i32.const 2)))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br_if $col (i32.lt_s (local.get $c) (local.get $cols))))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br_if $row (i32.lt_s (local.get $q) (local.get $kk))))))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $next_j))))

  ;; The full panels of packB for B with contiguous rows (row stride sbk, nn8 a multiple of 8):
  ;; blocks of 8 rows, each copied panel by panel, so that reads stream along 8 rows and each
  ;; panel gets 256 contiguous bytes at a time (going down one column panel over all kk rows at
  ;; once touches a new page of B per row).
  (func $packBRows (param $src i32) (param $sbk i32) (param $kk i32) (param $nn8 i32) (param $dst i32)
    (local $q0 i32) (local $q1 i32) (local $q i32) (local $j i32) (local $s i32) (local $d i32)
    (block $done_q0
      (loop $blocks
        (br_if $done_q0 (i32.ge_s (local.get $q0) (local.get $kk)))
        (local.set $q1 (call $min (local.get $kk) (i32.add (local.get $q0) (i32.const 8))))
        (local.set $j (i32.const 0))
        (block $done_j
          (loop $panels
            (br_if $done_j (i32.ge_s (local.get $j) (local.get $nn8)))
            (local.set $q (local.get $q0))
            (loop $rows
              (local.set $s (i32.add (local.get $src)
                (i32.shl (i32.add (i32.mul (local.get $q) (local.get $sbk)) (local.get $j)) (i32.const 2))))
              (local.set $d (i32.add (local.get $dst)
                (i32.shl (i32.add (i32.mul (local.get $j) (local.get $kk)) (i32.shl (local.get $q) (i32.const 3))) (i32.const 2))))
              (v128.store (local.get $d) (v128.load (local.get $s)))
              (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s)))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br_if $rows (i32.lt_s (local.get $q) (local.get $q1))))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $panels)))
        (local.set $q0 (local.get $q1))
        (br $blocks))))

  ;; One panel of packB for 8 columns of B stored transposed: column c is kk contiguous floats at
  ;; src + c·sbn·4. Four q at a time, the 8×4 block is read as eight vectors and transposed in two
  ;; 4×4 blocks (shuffles) into the panel's rows q .. q+3; the last kk mod 4 q one float at a time.
  (func $packBT8 (param $src i32) (param $sbn i32) (param $kk i32) (param $dst i32)
    (local $q i32) (local $s i32) (local $st i32) (local $d i32) (local $c i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $lo v128) (local $hi v128) (local $lo2 v128) (local $hi2 v128)
    (local.set $st (i32.shl (local.get $sbn) (i32.const 2)))
    (block $done4
      (loop $quads
        (br_if $done4 (i32.gt_s (i32.add (local.get $q) (i32.const 4)) (local.get $kk)))
        (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 5))))
        ;; columns 0..3, then 4..7 (half = 0, 1): d gets them at byte offset 16·half of each row
        (local.set $c (i32.const 0))
        (loop $half
          (local.set $s (i32.add (local.get $src)
            (i32.add (i32.mul (local.get $c) (local.get $st)) (i32.shl (local.get $q) (i32.const 2)))))
          (local.set $r0 (v128.load (local.get $s)))
          (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $st))))
          (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $st) (i32.const 1)))))
          (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $st) (i32.const 3)))))
          ;; lo = r0[0] r1[0] r0[1] r1[1], hi = r0[2] r1[2] r0[3] r1[3]; lo2, hi2 the same for r2, r3
          (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
          (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
          (local.set $lo2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
          (local.set $hi2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
          (v128.store (local.get $d)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $lo2)))
          (v128.store offset=32 (local.get $d)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo) (local.get $lo2)))
          (v128.store offset=64 (local.get $d)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $hi) (local.get $hi2)))
          (v128.store offset=96 (local.get $d)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $hi) (local.get $hi2)))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $half (i32.lt_s (local.get $c) (i32.const 8))))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (br $quads)))
    (block $done1
      (loop $ones
        (br_if $done1 (i32.ge_s (local.get $q) (local.get $kk)))
        (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 5))))
        (local.set $c (i32.const 0))
        (loop $col
          (f32.store (i32.add (local.get $d) (i32.shl (local.get $c) (i32.const 2)))
            (f32.load (i32.add (local.get $src)
              (i32.add (i32.mul (local.get $c) (local.get $st)) (i32.shl (local.get $q) (i32.const 2))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $col (i32.lt_s (local.get $c) (i32.const 8))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $ones))))

  ;; Packs mm×kk of A (from src, strides sam/sak) into panels of 4 rows: panel p holds, for each q,
  ;; the 4 values A[4p .. 4p+3, q], zero past row mm. Full panels of an A with contiguous rows go
  ;; four q at a time (a 4×4 block read as four vectors and transposed by shuffles); the rest one
  ;; q at a time.
  (func $packA (param $src i32) (param $sam i32) (param $sak i32) (param $mm i32) (param $kk i32) (param $dst i32)
    (local $i i32) (local $q i32) (local $r i32) (local $rows i32) (local $panel i32) (local $d i32) (local $s i32)
    (local $st i32) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $lo v128) (local $hi v128) (local $lo2 v128) (local $hi2 v128)
    (local.set $st (i32.shl (local.get $sam) (i32.const 2)))
    (block $done_i
      (loop $next_i
        (br_if $done_i (i32.ge_s (local.get $i) (local.get $mm)))
        (local.set $rows (call $min (i32.const 4) (i32.sub (local.get $mm) (local.get $i))))
        (local.set $panel (i32.add (local.get $dst) (i32.mul (i32.mul (local.get $i) (local.get $kk)) (i32.const 4))))
        (local.set $q (i32.const 0))
        (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $sak) (i32.const 1)))
          (then
            (block $done4
              (loop $quads
                (br_if $done4 (i32.gt_s (i32.add (local.get $q) (i32.const 4)) (local.get $kk)))
                (local.set $s (i32.add (local.get $src)
                  (i32.shl (i32.add (i32.mul (local.get $i) (local.get $sam)) (local.get $q)) (i32.const 2))))
                (local.set $r0 (v128.load (local.get $s)))
                (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $st))))
                (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $st) (i32.const 1)))))
                (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $st) (i32.const 3)))))
                ;; lo = r0[0] r1[0] r0[1] r1[1], hi = r0[2] r1[2] r0[3] r1[3]; lo2, hi2 the same for r2, r3
                (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                (local.set $lo2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                (local.set $hi2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                (local.set $d (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 4))))
                (v128.store (local.get $d)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $lo2)))
                (v128.store offset=16 (local.get $d)
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo) (local.get $lo2)))
                (v128.store offset=32 (local.get $d)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $hi) (local.get $hi2)))
                (v128.store offset=48 (local.get $d)
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $hi) (local.get $hi2)))
                (local.set $q (i32.add (local.get $q) (i32.const 4)))
                (br $quads)))))
        (block $done_q
          (loop $col
            (br_if $done_q (i32.ge_s (local.get $q) (local.get $kk)))
            (local.set $d (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 4))))
            (local.set $s (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $sam)) (i32.mul (local.get $q) (local.get $sak))) (i32.const 2))))
            (if (i32.eq (local.get $rows) (i32.const 4))
              (then
                (f32.store (local.get $d) (f32.load (local.get $s)))
                (f32.store offset=4 (local.get $d) (f32.load (i32.add (local.get $s) (local.get $st))))
                (f32.store offset=8 (local.get $d) (f32.load (i32.add (local.get $s) (i32.shl (local.get $st) (i32.const 1)))))
                (f32.store offset=12 (local.get $d)
                  (f32.load (i32.add (local.get $s) (i32.mul (local.get $st) (i32.const 3))))))
              (else
                (v128.store (local.get $d) (v128.const i32x4 0 0 0 0))
                (local.set $r (i32.const 0))
                (loop $row
                  (f32.store (i32.add (local.get $d) (i32.shl (local.get $r) (i32.const 2)))
                    (f32.load (i32.add (local.get $s) (i32.mul (local.get $r) (local.get $st)))))
                  (local.set $r (i32.add (local.get $r) (i32.const 1)))
                  (br_if $row (i32.lt_s (local.get $r) (local.get $rows))))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $col)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next_i))))

  ;; C[i, :n] += bias[:n] for every row i < m.
  (func $addBias (param $c i32) (param $ldc i32) (param $m i32) (param $n i32) (param $bias i32)
    (local $i i32) (local $j i32) (local $row i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $row (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
            (v128.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))
              (f32x4.add
                (v128.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
                (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_s (local.get $j) (local.get $n)))
            (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))
              (f32.add
                (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
                (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; C[m, n] (row stride ldc) = A · B (+ bias when bias != 0); ws: gemm_ws_bytes() of scratch.
  (func (export "gemm")
    (param $a i32) (param $sam i32) (param $sak i32)
    (param $b i32) (param $sbk i32) (param $sbn i32)
    (param $c i32) (param $ldc i32)
    (param $m i32) (param $k i32) (param $n i32)
    (param $bias i32) (param $ws i32)
    (call $gemm_blocks (local.get $a) (local.get $sam) (local.get $sak)
      (local.get $b) (local.get $sbk) (local.get $sbn) (i32.const 0) (i32.const 0) (i32.const 0)
      (local.get $c) (local.get $ldc) (local.get $m) (local.get $k) (local.get $n)
      (local.get $bias) (local.get $ws)))

  ;; gemm with B packed beforehand by pack_b (a weight packed once and reused): columns j0 .. j0+n
  ;; of the packed B at pk, whose padded width is n8. The same blocks and sums as gemm, so the
  ;; result equals gemm's on the unpacked B bit for bit.
  (func (export "gemm_packed")
    (param $a i32) (param $sam i32) (param $sak i32)
    (param $pk i32) (param $n8 i32) (param $j0 i32)
    (param $c i32) (param $ldc i32)
    (param $m i32) (param $k i32) (param $n i32)
    (param $bias i32) (param $ws i32)
    (call $gemm_blocks (local.get $a) (local.get $sam) (local.get $sak)
      (i32.const 0) (i32.const 0) (i32.const 0) (local.get $pk) (local.get $n8) (local.get $j0)
      (local.get $c) (local.get $ldc) (local.get $m) (local.get $k) (local.get $n)
      (local.get $bias) (local.get $ws)))

  ;; Packs columns j0 .. j0+nn of B [k, n] (b: address of B[0, 0], strides sbk/sbn; j0 a multiple
  ;; of 8) into the layout gemm_packed reads at dst: for each block of KC rows starting at row pc
  ;; (kk rows deep), at float offset pc·n8, packB's panels of 8 columns, panel j at j·kk, zero past
  ;; column n. n8 is n rounded up to 8; the whole packed B is k·n8 floats. Threads pack disjoint
  ;; column ranges.
  (func (export "pack_b")
    (param $b i32) (param $sbk i32) (param $sbn i32) (param $k i32) (param $n8 i32)
    (param $j0 i32) (param $nn i32) (param $dst i32)
    (local $pc i32) (local $kk i32)
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $pc) (local.get $k)))
        (local.set $kk (call $min (global.get $KC) (i32.sub (local.get $k) (local.get $pc))))
        (call $packB
          (i32.add (local.get $b)
            (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $sbk)) (i32.mul (local.get $j0) (local.get $sbn))) (i32.const 2)))
          (local.get $sbk) (local.get $sbn) (local.get $kk) (local.get $nn)
          (i32.add (local.get $dst)
            (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $n8)) (i32.mul (local.get $j0) (local.get $kk))) (i32.const 2))))
        (local.set $pc (i32.add (local.get $pc) (global.get $KC)))
        (br $blocks))))

  ;; The blocked product behind gemm and gemm_packed: B packed here, block by block, into the
  ;; workspace when pk is 0; else read from pk (pack_b's layout, padded width n8, from column j0).
  (func $gemm_blocks
    (param $a i32) (param $sam i32) (param $sak i32)
    (param $b i32) (param $sbk i32) (param $sbn i32)
    (param $pk i32) (param $n8 i32) (param $j0 i32)
    (param $c i32) (param $ldc i32)
    (param $m i32) (param $k i32) (param $n i32)
    (param $bias i32) (param $ws i32)
    (local $bp i32)
    (local $i i32) (local $jc i32) (local $pc i32) (local $ic i32)
    (local $nn i32) (local $kk i32) (local $mm i32)
    (local $pa i32) (local $pb i32) (local $tile i32)
    (local $jr i32) (local $ir i32) (local $p i32) (local $q i32) (local $cnt i32)
    (local $cp i32) (local $ldc4 i32) (local $r i32) (local $j i32) (local $rows i32) (local $cols i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $pa (local.get $ws))
    (local.set $pb (i32.add (local.get $pa) (i32.mul (i32.mul (global.get $MC) (global.get $KC)) (i32.const 4))))
    (local.set $tile (i32.add (local.get $pb) (i32.mul (i32.mul (global.get $KC) (global.get $NC)) (i32.const 4))))
    ;; C = 0
    (block $zeroed
      (loop $zero
        (br_if $zeroed (i32.ge_s (local.get $i) (local.get $m)))
        (memory.fill
          (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc4)))
          (i32.const 0)
          (i32.shl (local.get $n) (i32.const 2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $zero)))
    (block $done_jc
      (loop $loop_jc
        (br_if $done_jc (i32.ge_s (local.get $jc) (local.get $n)))
        (local.set $nn (call $min (global.get $NC) (i32.sub (local.get $n) (local.get $jc))))
        (local.set $pc (i32.const 0))
        (block $done_pc
          (loop $loop_pc
            (br_if $done_pc (i32.ge_s (local.get $pc) (local.get $k)))
            (local.set $kk (call $min (global.get $KC) (i32.sub (local.get $k) (local.get $pc))))
            (if (local.get $pk)
              (then
                (local.set $bp (i32.add (local.get $pk)
                  (i32.shl
                    (i32.add (i32.mul (local.get $pc) (local.get $n8))
                             (i32.mul (i32.add (local.get $j0) (local.get $jc)) (local.get $kk)))
                    (i32.const 2)))))
              (else
                (call $packB
                  (i32.add (local.get $b)
                    (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $sbk)) (i32.mul (local.get $jc) (local.get $sbn))) (i32.const 2)))
                  (local.get $sbk) (local.get $sbn) (local.get $kk) (local.get $nn) (local.get $pb))
                (local.set $bp (local.get $pb))))
            (local.set $ic (i32.const 0))
            (block $done_ic
              (loop $loop_ic
                (br_if $done_ic (i32.ge_s (local.get $ic) (local.get $m)))
                (local.set $mm (call $min (global.get $MC) (i32.sub (local.get $m) (local.get $ic))))
                (call $packA
                  (i32.add (local.get $a)
                    (i32.shl (i32.add (i32.mul (local.get $ic) (local.get $sam)) (i32.mul (local.get $pc) (local.get $sak))) (i32.const 2)))
                  (local.get $sam) (local.get $sak) (local.get $mm) (local.get $kk) (local.get $pa))
                ;; macro-kernel: every 8-column B panel against every 4-row A panel
                (local.set $jr (i32.const 0))
                (block $done_jr
                  (loop $loop_jr
                    (br_if $done_jr (i32.ge_s (local.get $jr) (local.get $nn)))
                    (local.set $ir (i32.const 0))
                    (block $done_ir
                      (loop $loop_ir
                        (br_if $done_ir (i32.ge_s (local.get $ir) (local.get $mm)))
                        (local.set $p (i32.add (local.get $pa) (i32.shl (i32.mul (local.get $ir) (local.get $kk)) (i32.const 2))))
                        (local.set $q (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $jr) (local.get $kk)) (i32.const 2))))
                        (local.set $cnt (local.get $kk))
                        (local.set $c00 (v128.const i32x4 0 0 0 0))
                        (local.set $c01 (v128.const i32x4 0 0 0 0))
                        (local.set $c10 (v128.const i32x4 0 0 0 0))
                        (local.set $c11 (v128.const i32x4 0 0 0 0))
                        (local.set $c20 (v128.const i32x4 0 0 0 0))
                        (local.set $c21 (v128.const i32x4 0 0 0 0))
                        (local.set $c30 (v128.const i32x4 0 0 0 0))
                        (local.set $c31 (v128.const i32x4 0 0 0 0))
                        ;; micro-kernel: per k step, 2 loads of B, 4 broadcasts of A, 8 multiply-adds
                        (loop $micro
                          (local.set $b0 (v128.load (local.get $q)))
                          (local.set $b1 (v128.load offset=16 (local.get $q)))
                          (local.set $av (v128.load32_splat (local.get $p)))
                          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
                          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
                          (local.set $av (v128.load32_splat offset=4 (local.get $p)))
                          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
                          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
                          (local.set $av (v128.load32_splat offset=8 (local.get $p)))
                          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
                          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
                          (local.set $av (v128.load32_splat offset=12 (local.get $p)))
                          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
                          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
                          (local.set $p (i32.add (local.get $p) (i32.const 16)))
                          (local.set $q (i32.add (local.get $q) (i32.const 32)))
                          (local.tee $cnt (i32.sub (local.get $cnt) (i32.const 1)))
                          (br_if $micro))
                        (local.set $cp (i32.add (local.get $c)
                          (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc4))
                                   (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2)))))
                        (local.set $rows (call $min (i32.const 4) (i32.sub (local.get $mm) (local.get $ir))))
                        (local.set $cols (call $min (i32.const 8) (i32.sub (local.get $nn) (local.get $jr))))
                        (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 8)))
                          (then
                            (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c00)))
                            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c01)))
                            (local.set $cp (i32.add (local.get $cp) (local.get $ldc4)))
                            (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c10)))
                            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c11)))
                            (local.set $cp (i32.add (local.get $cp) (local.get $ldc4)))
                            (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c20)))
                            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c21)))
                            (local.set $cp (i32.add (local.get $cp) (local.get $ldc4)))
                            (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c30)))
                            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c31))))
                          (else
                            ;; edge tile: spill the accumulators, add the valid rows × columns
                            (v128.store offset=0 (local.get $tile) (local.get $c00))
                            (v128.store offset=16 (local.get $tile) (local.get $c01))
                            (v128.store offset=32 (local.get $tile) (local.get $c10))
                            (v128.store offset=48 (local.get $tile) (local.get $c11))
                            (v128.store offset=64 (local.get $tile) (local.get $c20))
                            (v128.store offset=80 (local.get $tile) (local.get $c21))
                            (v128.store offset=96 (local.get $tile) (local.get $c30))
                            (v128.store offset=112 (local.get $tile) (local.get $c31))
                            (local.set $r (i32.const 0))
                            (loop $edge_r
                              (local.set $j (i32.const 0))
                              (loop $edge_c
                                (f32.store
                                  (i32.add (i32.add (local.get $cp) (i32.mul (local.get $r) (local.get $ldc4))) (i32.shl (local.get $j) (i32.const 2)))
                                  (f32.add
                                    (f32.load (i32.add (i32.add (local.get $cp) (i32.mul (local.get $r) (local.get $ldc4))) (i32.shl (local.get $j) (i32.const 2))))
                                    (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $j)) (i32.const 2))))))
                                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                                (br_if $edge_c (i32.lt_s (local.get $j) (local.get $cols))))
                              (local.set $r (i32.add (local.get $r) (i32.const 1)))
                              (br_if $edge_r (i32.lt_s (local.get $r) (local.get $rows))))))
                        (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
                        (br $loop_ir)))
                    (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
                    (br $loop_jr)))
                (local.set $ic (i32.add (local.get $ic) (global.get $MC)))
                (br $loop_ic)))
            (local.set $pc (i32.add (local.get $pc) (global.get $KC)))
            (br $loop_pc)))
        (local.set $jc (i32.add (local.get $jc) (global.get $NC)))
        (br $loop_jc)))
    (if (local.get $bias)
      (then (call $addBias (local.get $c) (local.get $ldc) (local.get $m) (local.get $n) (local.get $bias)))))

  ;; Σ_q x[q]·w[q] for q < k: four accumulators over 16 floats per step, then 4 at a time, then
  ;; one at a time. x and w are contiguous.
  (func $dot (param $x i32) (param $w i32) (param $k i32) (result f32)
    (local $q i32) (local $end16 i32) (local $end4 i32) (local $end i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $sum f32)
    (local.set $end (i32.shl (local.get $k) (i32.const 2)))
    (local.set $end16 (i32.and (local.get $end) (i32.const -64)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $q) (local.get $end16)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul
          (v128.load (i32.add (local.get $x) (local.get $q))) (v128.load (i32.add (local.get $w) (local.get $q))))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul
          (v128.load offset=16 (i32.add (local.get $x) (local.get $q))) (v128.load offset=16 (i32.add (local.get $w) (local.get $q))))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul
          (v128.load offset=32 (i32.add (local.get $x) (local.get $q))) (v128.load offset=32 (i32.add (local.get $w) (local.get $q))))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul
          (v128.load offset=48 (i32.add (local.get $x) (local.get $q))) (v128.load offset=48 (i32.add (local.get $w) (local.get $q))))))
        (local.set $q (i32.add (local.get $q) (i32.const 64)))
        (br $l16)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $q) (local.get $end4)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul
          (v128.load (i32.add (local.get $x) (local.get $q))) (v128.load (i32.add (local.get $w) (local.get $q))))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l4)))
    (local.set $s0 (f32x4.add (f32x4.add (local.get $s0) (local.get $s1)) (f32x4.add (local.get $s2) (local.get $s3))))
    (local.set $sum (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
      (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $q) (local.get $end)))
        (local.set $sum (f32.add (local.get $sum) (f32.mul
          (f32.load (i32.add (local.get $x) (local.get $q))) (f32.load (i32.add (local.get $w) (local.get $q))))))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (br $l1)))
    (local.get $sum))

  ;; y[i, j] (row stride ldy) = x[i, :k] · W[j, :k] (+ bias[j]) for i < m, j < n; x rows contiguous
  ;; with stride ldx, W rows contiguous with stride ldw. Each W row is read once for all m rows.
  (func (export "gemv_t")
    (param $x i32) (param $ldx i32) (param $w i32) (param $ldw i32)
    (param $y i32) (param $ldy i32) (param $m i32) (param $k i32) (param $n i32) (param $bias i32)
    (local $i i32) (local $j i32) (local $row i32) (local $b f32)
    (block $done_j
      (loop $next_j
        (br_if $done_j (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $row (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $ldw)) (i32.const 2))))
        (local.set $b (f32.const 0))
        (if (local.get $bias)
          (then (local.set $b (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $i (i32.const 0))
        (block $done_i
          (loop $next_i
            (br_if $done_i (i32.ge_s (local.get $i) (local.get $m)))
            (f32.store
              (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldy)) (local.get $j)) (i32.const 2)))
              (f32.add
                (call $dot (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2)))
                  (local.get $row) (local.get $k))
                (local.get $b)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_i)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j))))

  ;; y[i, j] (row stride ldy) = Σ_q x[i, q] B[q, j] (+ bias[j]) for i < m, j < n; B rows contiguous
  ;; with stride ldb, x[i, q] at x + (i*ldx + q*sxk)*4.
  (func (export "gemv_n")
    (param $x i32) (param $ldx i32) (param $sxk i32) (param $b i32) (param $ldb i32)
    (param $y i32) (param $ldy i32) (param $m i32) (param $k i32) (param $n i32) (param $bias i32)
    (local $i i32) (local $j i32) (local $q i32) (local $yrow i32) (local $brow i32) (local $xv v128) (local $xs f32)
    (local $ldb4 i32) (local $xrow i32) (local $jb i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32)
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (block $done_i
      (loop $next_i
        (br_if $done_i (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $yrow (i32.add (local.get $y) (i32.shl (i32.mul (local.get $i) (local.get $ldy)) (i32.const 2))))
        (memory.fill (local.get $yrow) (i32.const 0) (i32.shl (local.get $n) (i32.const 2)))
        (local.set $q (i32.const 0))
        (local.set $xrow (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
        ;; four rows of B per pass: one load and store of y for four multiply-adds
        (block $done_q4
          (loop $next_q4
            (br_if $done_q4 (i32.gt_s (i32.add (local.get $q) (i32.const 4)) (local.get $k)))
            (local.set $s0 (f32.load (i32.add (local.get $xrow) (i32.shl (i32.mul (local.get $q) (local.get $sxk)) (i32.const 2)))))
            (local.set $s1 (f32.load (i32.add (local.get $xrow)
              (i32.shl (i32.mul (i32.add (local.get $q) (i32.const 1)) (local.get $sxk)) (i32.const 2)))))
            (local.set $s2 (f32.load (i32.add (local.get $xrow)
              (i32.shl (i32.mul (i32.add (local.get $q) (i32.const 2)) (local.get $sxk)) (i32.const 2)))))
            (local.set $s3 (f32.load (i32.add (local.get $xrow)
              (i32.shl (i32.mul (i32.add (local.get $q) (i32.const 3)) (local.get $sxk)) (i32.const 2)))))
            (local.set $x0 (f32x4.splat (local.get $s0)))
            (local.set $x1 (f32x4.splat (local.get $s1)))
            (local.set $x2 (f32x4.splat (local.get $s2)))
            (local.set $x3 (f32x4.splat (local.get $s3)))
            (local.set $brow (i32.add (local.get $b) (i32.mul (local.get $q) (local.get $ldb4))))
            (local.set $j (i32.const 0))
            (block $vec4_done
              (loop $vec4
                (br_if $vec4_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
                (local.set $jb (i32.add (local.get $brow) (i32.shl (local.get $j) (i32.const 2))))
                (v128.store (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2)))
                  (f32x4.add
                    (v128.load (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2))))
                    (f32x4.add
                      (f32x4.add
                        (f32x4.mul (local.get $x0) (v128.load (local.get $jb)))
                        (f32x4.mul (local.get $x1) (v128.load (i32.add (local.get $jb) (local.get $ldb4)))))
                      (f32x4.add
                        (f32x4.mul (local.get $x2) (v128.load (i32.add (local.get $jb) (i32.shl (local.get $ldb4) (i32.const 1)))))
                        (f32x4.mul (local.get $x3) (v128.load (i32.add (local.get $jb) (i32.mul (local.get $ldb4) (i32.const 3)))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $vec4)))
            (block $tail4_done
              (loop $tail4
                (br_if $tail4_done (i32.ge_s (local.get $j) (local.get $n)))
                (local.set $jb (i32.add (local.get $brow) (i32.shl (local.get $j) (i32.const 2))))
                (f32.store (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2)))
                  (f32.add
                    (f32.load (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2))))
                    (f32.add
                      (f32.add
                        (f32.mul (local.get $s0) (f32.load (local.get $jb)))
                        (f32.mul (local.get $s1) (f32.load (i32.add (local.get $jb) (local.get $ldb4)))))
                      (f32.add
                        (f32.mul (local.get $s2) (f32.load (i32.add (local.get $jb) (i32.shl (local.get $ldb4) (i32.const 1)))))
                        (f32.mul (local.get $s3) (f32.load (i32.add (local.get $jb) (i32.mul (local.get $ldb4) (i32.const 3)))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tail4)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $next_q4)))
        (block $done_q
          (loop $next_q
            (br_if $done_q (i32.ge_s (local.get $q) (local.get $k)))
            (local.set $xs (f32.load (i32.add (local.get $x)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldx)) (i32.mul (local.get $q) (local.get $sxk))) (i32.const 2)))))
            (local.set $xv (f32x4.splat (local.get $xs)))
            (local.set $brow (i32.add (local.get $b) (i32.shl (i32.mul (local.get $q) (local.get $ldb)) (i32.const 2))))
            (local.set $j (i32.const 0))
            (block $vec_done
              (loop $vec
                (br_if $vec_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
                (v128.store (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2)))
                  (f32x4.add
                    (v128.load (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2))))
                    (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $brow) (i32.shl (local.get $j) (i32.const 2)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $vec)))
            (block $tail_done
              (loop $tail
                (br_if $tail_done (i32.ge_s (local.get $j) (local.get $n)))
                (f32.store (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2)))
                  (f32.add
                    (f32.load (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 2))))
                    (f32.mul (local.get $xs) (f32.load (i32.add (local.get $brow) (i32.shl (local.get $j) (i32.const 2)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tail)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $next_q)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_i)))
    (if (local.get $bias)
      (then (call $addBias (local.get $y) (local.get $ldy) (local.get $m) (local.get $n) (local.get $bias)))))

  ;; ---- 16-bit float weights (float16, bfloat16; kind 0 = float16, 1 = bfloat16) ----
  ;; Widened to float32 inside the kernels: bfloat16 is the top half of a float32 (shift left 16);
  ;; float16 by the magic multiply: the exponent and mantissa bits moved to float32's place read
  ;; as a float32 of exponent e - 127 (a subnormal for e = 0), times 2^112 is exactly the half's
  ;; value, subnormals included; a result >= 2^16 came from exponent 31 (inf, nan), whose float32
  ;; exponent is then set to all ones, a nan (> 2^16) also made quiet with its payload kept (as x86's
  ;; vcvtph2ps, and so torch, widen); the sign goes back last.

  ;; Four 16-bit patterns (the low halves of h's i32 lanes) as four float32.
  (func $widen16 (param $h v128) (param $kind i32) (result v128)
    (local $f v128)
    (if (result v128) (local.get $kind)
      (then (i32x4.shl (local.get $h) (i32.const 16)))
      (else
        (local.set $f (f32x4.mul
          (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x7fff))) (i32.const 13))
          (f32x4.splat (f32.const 0x1p112))))
        (local.set $f (v128.or (local.get $f) (v128.or
          (v128.and (f32x4.ge (local.get $f) (f32x4.splat (f32.const 65536))) (i32x4.splat (i32.const 0x7f800000)))
          (v128.and (f32x4.gt (local.get $f) (f32x4.splat (f32.const 65536))) (i32x4.splat (i32.const 0x00400000))))))
        (v128.or (local.get $f)
          (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x8000))) (i32.const 16))))))

  ;; Σ_q x[q]·w[q] for q < len, w float16 widened to float32 in the loop (16 at a time, then one at a time).
  ;; The widening here is the magic multiply with the sign carried through it: h sign-extended to
  ;; 32 bits and shifted left 13 has the sign at bit 31 and exponent and mantissa at bits 27..13
  ;; (the copies of the sign in bits 30..28 are masked off). The inf / nan fix runs only for blocks
  ;; of 16 that hold an exponent of 31, and a nan is not made quiet here (its payload cannot show:
  ;; a product with it is a quiet nan anyway).
  (func $dot_f16 (param $x i32) (param $w i32) (param $len i32) (result f32)
    (local $q i32) (local $end16 i32) (local $v v128) (local $u v128) (local $xp i32) (local $wp i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $sum f32)
    (local $em v128) (local $magic v128) (local $infnan v128) (local $expo v128) (local $e16 v128)
    (local.set $em (i32x4.splat (i32.const 0x8fffe000)))
    (local.set $e16 (i16x8.splat (i32.const 0x7c00)))
    (local.set $magic (f32x4.splat (f32.const 0x1p112)))
    (local.set $infnan (f32x4.splat (f32.const 65536)))
    (local.set $expo (i32x4.splat (i32.const 0x7f800000)))
    (local.set $end16 (i32.and (local.get $len) (i32.const -16)))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $q) (local.get $end16)))
        (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 1))))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $u (v128.load offset=16 (local.get $wp)))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $a0 (f32x4.mul (local.get $magic) (v128.and (local.get $em)
          (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $v)) (i32.const 13)))))
        (local.set $a1 (f32x4.mul (local.get $magic) (v128.and (local.get $em)
          (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $v)) (i32.const 13)))))
        (local.set $a2 (f32x4.mul (local.get $magic) (v128.and (local.get $em)
          (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $u)) (i32.const 13)))))
        (local.set $a3 (f32x4.mul (local.get $magic) (v128.and (local.get $em)
          (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $u)) (i32.const 13)))))
        ;; exponent 31 (inf, nan) among these 16: set those lanes' float32 exponent to all ones
        (if (v128.any_true (v128.or
              (i16x8.eq (v128.and (local.get $v) (local.get $e16)) (local.get $e16))
              (i16x8.eq (v128.and (local.get $u) (local.get $e16)) (local.get $e16))))
          (then
            (local.set $a0 (v128.or (local.get $a0)
              (v128.and (f32x4.ge (f32x4.abs (local.get $a0)) (local.get $infnan)) (local.get $expo))))
            (local.set $a1 (v128.or (local.get $a1)
              (v128.and (f32x4.ge (f32x4.abs (local.get $a1)) (local.get $infnan)) (local.get $expo))))
            (local.set $a2 (v128.or (local.get $a2)
              (v128.and (f32x4.ge (f32x4.abs (local.get $a2)) (local.get $infnan)) (local.get $expo))))
            (local.set $a3 (v128.or (local.get $a3)
              (v128.and (f32x4.ge (f32x4.abs (local.get $a3)) (local.get $infnan)) (local.get $expo))))))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $a0) (v128.load (local.get $xp)))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $a1) (v128.load offset=16 (local.get $xp)))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $a2) (v128.load offset=32 (local.get $xp)))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $a3) (v128.load offset=48 (local.get $xp)))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l16)))
    (local.set $s0 (f32x4.add (f32x4.add (local.get $s0) (local.get $s1)) (f32x4.add (local.get $s2) (local.get $s3))))
    (local.set $sum (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
      (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $q) (local.get $len)))
        (local.set $sum (f32.add (local.get $sum) (f32.mul
          (f32x4.extract_lane 0 (call $widen16
            (i32x4.splat (i32.load16_u (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 1)))))
            (i32.const 0)))
          (f32.load (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $l1)))
    (local.get $sum))

  ;; Σ_q x[q]·w[q] for q < len, w bfloat16 widened to float32 in the loop (16 at a time, then one at a time).
  (func $dot_bf16 (param $x i32) (param $w i32) (param $len i32) (result f32)
    (local $q i32) (local $end16 i32) (local $v v128) (local $u v128) (local $xp i32) (local $wp i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $sum f32)
    (local.set $end16 (i32.and (local.get $len) (i32.const -16)))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $q) (local.get $end16)))
        (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 1))))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $u (v128.load offset=16 (local.get $wp)))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $a0 (i32x4.extend_low_i16x8_u (local.get $v)))
        (local.set $a1 (i32x4.extend_high_i16x8_u (local.get $v)))
        (local.set $a2 (i32x4.extend_low_i16x8_u (local.get $u)))
        (local.set $a3 (i32x4.extend_high_i16x8_u (local.get $u)))
        (local.set $s0 (f32x4.add (local.get $s0)
          (f32x4.mul (i32x4.shl (local.get $a0) (i32.const 16)) (v128.load (local.get $xp)))))
        (local.set $s1 (f32x4.add (local.get $s1)
          (f32x4.mul (i32x4.shl (local.get $a1) (i32.const 16)) (v128.load offset=16 (local.get $xp)))))
        (local.set $s2 (f32x4.add (local.get $s2)
          (f32x4.mul (i32x4.shl (local.get $a2) (i32.const 16)) (v128.load offset=32 (local.get $xp)))))
        (local.set $s3 (f32x4.add (local.get $s3)
          (f32x4.mul (i32x4.shl (local.get $a3) (i32.const 16)) (v128.load offset=48 (local.get $xp)))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l16)))
    (local.set $s0 (f32x4.add (f32x4.add (local.get $s0) (local.get $s1)) (f32x4.add (local.get $s2) (local.get $s3))))
    (local.set $sum (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
      (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $q) (local.get $len)))
        (local.set $sum (f32.add (local.get $sum) (f32.mul
          (f32x4.extract_lane 0 (call $widen16
            (i32x4.splat (i32.load16_u (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 1)))))
            (i32.const 1)))
          (f32.load (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $l1)))
    (local.get $sum))

  ;; The dot product of a float16 (kind 0) or bfloat16 (kind 1) row: one loop per kind, so the
  ;; widening is inlined in it.
  (func $dot16 (param $x i32) (param $w i32) (param $len i32) (param $kind i32) (result f32)
    (if (result f32) (local.get $kind)
      (then (call $dot_bf16 (local.get $x) (local.get $w) (local.get $len)))
      (else (call $dot_f16 (local.get $x) (local.get $w) (local.get $len)))))

  ;; y[i, j] (row stride ldy) = x[i, :k] · W[j, :k] (+ bias[j]) for i < m, j < n: W 16-bit floats
  ;; [n, k] with row stride ldw (elements), read in place; each W row is read once for all m rows.
  (func (export "gemv_h")
    (param $x i32) (param $ldx i32) (param $w i32) (param $ldw i32) (param $k i32) (param $kind i32)
    (param $y i32) (param $ldy i32) (param $m i32) (param $n i32) (param $bias i32)
    (local $i i32) (local $j i32) (local $row i32) (local $b f32)
    (block $done_j
      (loop $next_j
        (br_if $done_j (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $row (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $ldw)) (i32.const 1))))
        (local.set $b (f32.const 0))
        (if (local.get $bias)
          (then (local.set $b (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $i (i32.const 0))
        (block $done_i
          (loop $next_i
            (br_if $done_i (i32.ge_s (local.get $i) (local.get $m)))
            (f32.store
              (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldy)) (local.get $j)) (i32.const 2)))
              (f32.add
                (call $dot16
                  (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2)))
                  (local.get $row) (local.get $k) (local.get $kind))
                (local.get $b)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_i)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j))))

  ;; out[j, q] = float32(w[j, q]) for j < rows, q < cols: W 16-bit floats with row stride ldw
  ;; (elements), out float32 contiguous [rows, cols].
  (func (export "widen_h")
    (param $w i32) (param $ldw i32) (param $kind i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $j i32) (local $q i32) (local $src i32) (local $end8 i32) (local $v v128)
    (local.set $end8 (i32.and (local.get $cols) (i32.const -8)))
    (block $done_j
      (loop $next_j
        (br_if $done_j (i32.ge_s (local.get $j) (local.get $rows)))
        (local.set $src (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $ldw)) (i32.const 1))))
        (local.set $q (i32.const 0))
        (block $done8
          (loop $next8
            (br_if $done8 (i32.ge_s (local.get $q) (local.get $end8)))
            (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 1)))))
            (v128.store (local.get $out) (call $widen16 (i32x4.extend_low_i16x8_u (local.get $v)) (local.get $kind)))
            (v128.store offset=16 (local.get $out) (call $widen16 (i32x4.extend_high_i16x8_u (local.get $v)) (local.get $kind)))
            (local.set $out (i32.add (local.get $out) (i32.const 32)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (br $next8)))
        (block $done1
          (loop $next1
            (br_if $done1 (i32.ge_s (local.get $q) (local.get $cols)))
            (f32.store (local.get $out) (f32x4.extract_lane 0 (call $widen16
              (i32x4.splat (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 1)))))
              (local.get $kind))))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $next1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j))))

  ;; ---- end of 16-bit float weights ----

  ;; ---- int8 weights (symmetric, float32 scale per row and group of columns) ----
  ;;
  ;; The kernels widen int8 weights without the i8 → i16 → i32 chain: a constant byte shuffle puts
  ;; four weights in the top bytes of four i32 lanes (the other bytes zero), and the conversion gives
  ;; w·2^24 exactly. Products and sums of w·2^24 are those of w scaled by a power of two, so a
  ;; group's sum times scale·2^-24 is exactly what widening w itself and multiplying by scale gives.

  ;; Σ_q x[q]·(w[q]·2^24) for q < len, one row: each 16 weights add ((p0 + p1) + (p2 + p3)) of
  ;; their four f32x4 products to one accumulator, whose lanes are summed (l0 + l1) + (l2 + l3);
  ;; the rest come one at a time. $dot8_q8 computes eight rows in exactly this order.
  (func $dot_q8 (param $x i32) (param $w i32) (param $len i32) (result f32)
    (local $q i32) (local $end16 i32) (local $v v128) (local $xp i32) (local $acc v128) (local $sum f32)
    (local.set $end16 (i32.and (local.get $len) (i32.const -16)))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $q) (local.get $end16)))
        (local.set $v (v128.load (i32.add (local.get $w) (local.get $q))))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l16)))
    (local.set $sum (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $q) (local.get $len)))
        (local.set $sum (f32.add (local.get $sum) (f32.mul
            (f32.convert_i32_s (i32.shl (i32.load8_s (i32.add (local.get $w) (local.get $q))) (i32.const 24)))
            (f32.load (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $l1)))
    (local.get $sum))

  ;; $dot_q8 for the eight rows w + r·ldw (r < 8) at once, as lanes 0..3 of the first result and
  ;; 4..7 of the second; every lane equals $dot_q8 of its row bit for bit. Eight rows per pass keep
  ;; eight streams of W in flight, which hides more of the memory latency than fewer rows do.
  (func $dot8_q8 (param $x i32) (param $w i32) (param $ldw i32) (param $len i32) (result v128 v128)
    (local $q i32) (local $end16 i32) (local $xp i32) (local $wp i32) (local $v v128) (local $xs f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $s4 f32) (local $s5 f32) (local $s6 f32) (local $s7 f32)
    (local.set $end16 (i32.and (local.get $len) (i32.const -16)))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $q) (local.get $end16)))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $wp (i32.add (local.get $w) (local.get $q)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a4 (f32x4.add (local.get $a4)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a5 (f32x4.add (local.get $a5)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a6 (f32x4.add (local.get $a6)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a7 (f32x4.add (local.get $a7)
          (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (v128.load offset=0 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (v128.load offset=16 (local.get $xp))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (v128.load offset=32 (local.get $xp)))
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (v128.load offset=48 (local.get $xp)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l16)))
    (local.set $s0 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
      (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
    (local.set $s1 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a1)) (f32x4.extract_lane 1 (local.get $a1)))
      (f32.add (f32x4.extract_lane 2 (local.get $a1)) (f32x4.extract_lane 3 (local.get $a1)))))
    (local.set $s2 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a2)) (f32x4.extract_lane 1 (local.get $a2)))
      (f32.add (f32x4.extract_lane 2 (local.get $a2)) (f32x4.extract_lane 3 (local.get $a2)))))
    (local.set $s3 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a3)) (f32x4.extract_lane 1 (local.get $a3)))
      (f32.add (f32x4.extract_lane 2 (local.get $a3)) (f32x4.extract_lane 3 (local.get $a3)))))
    (local.set $s4 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a4)) (f32x4.extract_lane 1 (local.get $a4)))
      (f32.add (f32x4.extract_lane 2 (local.get $a4)) (f32x4.extract_lane 3 (local.get $a4)))))
    (local.set $s5 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a5)) (f32x4.extract_lane 1 (local.get $a5)))
      (f32.add (f32x4.extract_lane 2 (local.get $a5)) (f32x4.extract_lane 3 (local.get $a5)))))
    (local.set $s6 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a6)) (f32x4.extract_lane 1 (local.get $a6)))
      (f32.add (f32x4.extract_lane 2 (local.get $a6)) (f32x4.extract_lane 3 (local.get $a6)))))
    (local.set $s7 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a7)) (f32x4.extract_lane 1 (local.get $a7)))
      (f32.add (f32x4.extract_lane 2 (local.get $a7)) (f32x4.extract_lane 3 (local.get $a7)))))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $q) (local.get $len)))
        (local.set $xs (f32.load (i32.add (local.get $x) (i32.shl (local.get $q) (i32.const 2)))))
        (local.set $wp (i32.add (local.get $w) (local.get $q)))
        (local.set $s0 (f32.add (local.get $s0) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s1 (f32.add (local.get $s1) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s2 (f32.add (local.get $s2) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s3 (f32.add (local.get $s3) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s4 (f32.add (local.get $s4) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s5 (f32.add (local.get $s5) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s6 (f32.add (local.get $s6) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $wp (i32.add (local.get $wp) (local.get $ldw)))
        (local.set $s7 (f32.add (local.get $s7) (f32.mul
          (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $wp)) (i32.const 24))) (local.get $xs))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $l1)))
    (f32x4.replace_lane 3
      (f32x4.replace_lane 2
        (f32x4.replace_lane 1 (f32x4.splat (local.get $s0)) (local.get $s1))
        (local.get $s2))
      (local.get $s3))
    (f32x4.replace_lane 3
      (f32x4.replace_lane 2
        (f32x4.replace_lane 1 (f32x4.splat (local.get $s4)) (local.get $s5))
        (local.get $s6))
      (local.get $s7)))

  ;; y[i, j] (row stride ldy) = Σ_groups scales[j, g] · (x[i, group g] · w[j, group g]) (+ bias[j])
  ;; for i < m, j < n: W int8 [n, k] with row stride ldw (bytes), scales float32 [n, groups]
  ;; contiguous, groups of gsize columns (groups * gsize = k). Rows of W go eight at a time through
  ;; $dot8_q8 (each x load shared), the last n mod 8 one at a time through $dot_q8; both give a row
  ;; the same sums, so a row's result does not depend on how the columns were split across threads.
  (func (export "gemv_q8")
    (param $x i32) (param $ldx i32) (param $w i32) (param $ldw i32) (param $scales i32) (param $groups i32)
    (param $gsize i32) (param $y i32) (param $ldy i32) (param $m i32) (param $n i32) (param $bias i32)
    (local $i i32) (local $j i32) (local $g i32) (local $row i32) (local $srow i32) (local $xi i32)
    (local $b f32) (local $sum f32) (local $n8 i32) (local $ldg i32) (local $sp i32) (local $yp i32)
    (local $t0 v128) (local $t1 v128) (local $d0 v128) (local $d1 v128)
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (local.set $ldg (i32.shl (local.get $groups) (i32.const 2)))
    (block $done_j8
      (loop $next_j8
        (br_if $done_j8 (i32.ge_s (local.get $j) (local.get $n8)))
        (local.set $row (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $ldw))))
        (local.set $srow (i32.add (local.get $scales) (i32.mul (local.get $j) (local.get $ldg))))
        (local.set $i (i32.const 0))
        (block $done_i8
          (loop $next_i8
            (br_if $done_i8 (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $xi (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
            (local.set $t0 (v128.const i32x4 0 0 0 0))
            (local.set $t1 (v128.const i32x4 0 0 0 0))
            (local.set $g (i32.const 0))
            (block $done_g8
              (loop $next_g8
                (br_if $done_g8 (i32.ge_s (local.get $g) (local.get $groups)))
                (call $dot8_q8
                  (i32.add (local.get $xi) (i32.shl (i32.mul (local.get $g) (local.get $gsize)) (i32.const 2)))
                  (i32.add (local.get $row) (i32.mul (local.get $g) (local.get $gsize)))
                  (local.get $ldw) (local.get $gsize))
                (local.set $d1)
                (local.set $d0)
                ;; the eight rows' scales of group g, times 2^-24
                (local.set $sp (i32.add (local.get $srow) (i32.shl (local.get $g) (i32.const 2))))
                (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $d0)
                  (f32x4.mul
                  (f32x4.replace_lane 3
                    (f32x4.replace_lane 2
                      (f32x4.replace_lane 1
                        (f32x4.splat (f32.load (local.get $sp)))
                        (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 1)))))
                      (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 2)))))
                    (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 3)))))
                  (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24)))))
                (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $d1)
                  (f32x4.mul
                  (f32x4.replace_lane 3
                    (f32x4.replace_lane 2
                      (f32x4.replace_lane 1
                        (f32x4.splat (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 4)))))
                        (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 5)))))
                      (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 6)))))
                    (f32.load (i32.add (local.get $sp) (i32.mul (local.get $ldg) (i32.const 7)))))
                  (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24)))))
                (local.set $g (i32.add (local.get $g) (i32.const 1)))
                (br $next_g8)))
            (if (local.get $bias)
              (then
                (local.set $t0 (f32x4.add (local.get $t0)
                  (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
                (local.set $t1 (f32x4.add (local.get $t1)
                  (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
            (local.set $yp
              (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldy)) (local.get $j)) (i32.const 2))))
            (v128.store (local.get $yp) (local.get $t0))
            (v128.store offset=16 (local.get $yp) (local.get $t1))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_i8)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $next_j8)))
    (block $done_j
      (loop $next_j
        (br_if $done_j (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $row (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $ldw))))
        (local.set $srow (i32.add (local.get $scales) (i32.mul (local.get $j) (local.get $ldg))))
        (local.set $i (i32.const 0))
        (block $done_i
          (loop $next_i
            (br_if $done_i (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $xi (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
            (local.set $sum (f32.const 0))
            (local.set $g (i32.const 0))
            (block $done_g
              (loop $next_g
                (br_if $done_g (i32.ge_s (local.get $g) (local.get $groups)))
                (local.set $sum (f32.add (local.get $sum) (f32.mul
                  (call $dot_q8
                    (i32.add (local.get $xi) (i32.shl (i32.mul (local.get $g) (local.get $gsize)) (i32.const 2)))
                    (i32.add (local.get $row) (i32.mul (local.get $g) (local.get $gsize)))
                    (local.get $gsize))
                  (f32.mul
                    (f32.load (i32.add (local.get $srow) (i32.shl (local.get $g) (i32.const 2))))
                    (f32.const 0x1p-24)))))
                (local.set $g (i32.add (local.get $g) (i32.const 1)))
                (br $next_g)))
            (if (local.get $bias)
              (then (local.set $sum (f32.add (local.get $sum)
                (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
            (f32.store
              (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldy)) (local.get $j)) (i32.const 2)))
              (local.get $sum))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_i)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j))))

  ;; out[j, q] = w[j, q] · scales[j, q / gsize] for j < rows, q < groups*gsize: W int8 with row
  ;; stride ldw (bytes), out float32 contiguous [rows, groups*gsize]. 16 weights at a time
  ;; (w·2^24 times scale·2^-24, exactly w·scale), the rest of each group one at a time.
  (func (export "dequant_q8")
    (param $w i32) (param $ldw i32) (param $scales i32) (param $groups i32) (param $gsize i32)
    (param $out i32) (param $rows i32)
    (local $j i32) (local $g i32) (local $q i32) (local $src i32) (local $s f32) (local $sv v128) (local $v v128)
    (block $done_j
      (loop $next_j
        (br_if $done_j (i32.ge_s (local.get $j) (local.get $rows)))
        (local.set $src (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $ldw))))
        (local.set $g (i32.const 0))
        (block $done_g
          (loop $next_g
            (br_if $done_g (i32.ge_s (local.get $g) (local.get $groups)))
            (local.set $s (f32.mul (f32.load (local.get $scales)) (f32.const 0x1p-24)))
            (local.set $sv (f32x4.splat (local.get $s)))
            (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
            (local.set $q (i32.const 0))
            (block $done_q16
              (loop $next_q16
                (br_if $done_q16 (i32.gt_s (i32.add (local.get $q) (i32.const 16)) (local.get $gsize)))
                (local.set $v (v128.load (local.get $src)))
                (v128.store offset=0 (local.get $out) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 1 0x80 0x80 0x80 2 0x80 0x80 0x80 3))) (local.get $sv)))
                (v128.store offset=16 (local.get $out) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 4 0x80 0x80 0x80 5 0x80 0x80 0x80 6 0x80 0x80 0x80 7))) (local.get $sv)))
                (v128.store offset=32 (local.get $out) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 8 0x80 0x80 0x80 9 0x80 0x80 0x80 10 0x80 0x80 0x80 11))) (local.get $sv)))
                (v128.store offset=48 (local.get $out) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v) (v128.const i8x16 0x80 0x80 0x80 12 0x80 0x80 0x80 13 0x80 0x80 0x80 14 0x80 0x80 0x80 15))) (local.get $sv)))
                (local.set $out (i32.add (local.get $out) (i32.const 64)))
                (local.set $src (i32.add (local.get $src) (i32.const 16)))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br $next_q16)))
            (block $done_q
              (loop $next_q
                (br_if $done_q (i32.ge_s (local.get $q) (local.get $gsize)))
                (f32.store (local.get $out)
                  (f32.mul (f32.convert_i32_s (i32.shl (i32.load8_s (local.get $src)) (i32.const 24))) (local.get $s)))
                (local.set $out (i32.add (local.get $out) (i32.const 4)))
                (local.set $src (i32.add (local.get $src) (i32.const 1)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $next_q)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $next_g)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j))))

  ;; exp(y) for y <= 0, four lanes: y = n·ln2 + r with |r| <= ln2/2, exp(r) by its degree-7 Taylor
  ;; polynomial (truncation below 6e-9 relative), 2^n put into the exponent bits; 0 below -87.3
  ;; (where 2^n would leave the normal range: exp(-87.3) = 1.2e-38). NaN stays NaN.
  (func $exp_neg (param $y v128) (result v128)
    (local $yc v128) (local $n v128) (local $r v128) (local $p v128)
    (local.set $yc (f32x4.max (local.get $y) (f32x4.splat (f32.const -87.3))))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $yc) (f32x4.splat (f32.const 1.44269504)))))
    ;; r = y - n·ln2 with ln2 split in two (Cody-Waite) so r keeps float32 accuracy
    (local.set $r (f32x4.sub (local.get $yc) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0.693359375)))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $p (f32x4.splat (f32.const 1.98412698e-4))) ;; 1/7!
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.38888889e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 8.33333333e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.16666667e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 0.166666667))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 0.5))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1))))
    ;; p · 2^n: (n + 127) << 23 is 2^n's bit pattern (n >= -126 after the clamp)
    (local.set $p (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23))))
    ;; below the clamp: 0
    (v128.andnot (local.get $p) (f32x4.lt (local.get $y) (f32x4.splat (f32.const -87.3)))))

  ;; GELU, tanh approximation, four lanes: 0.5·x·(1 + tanh u) with u = √(2/π)·(x + 0.044715·x³),
  ;; computed as x·sigmoid(2u) from e = exp(-2|u|) <= 1 (no overflow, no cancellation for x < 0):
  ;; x / (1 + e) where u >= 0, x·e / (1 + e) where u < 0.
  (func $gelu_tanh4 (param $x v128) (result v128)
    (local $u v128) (local $e v128) (local $den v128)
    (local.set $u (f32x4.mul (local.get $x)
      (f32x4.add (f32x4.splat (f32.const 0.797884561))
        (f32x4.mul (f32x4.splat (f32.const 0.0356774081)) (f32x4.mul (local.get $x) (local.get $x))))))
    (local.set $e (call $exp_neg (f32x4.mul (f32x4.splat (f32.const -2)) (f32x4.abs (local.get $u)))))
    (local.set $den (f32x4.add (f32x4.splat (f32.const 1)) (local.get $e)))
    (f32x4.div
      (v128.bitselect
        (f32x4.mul (local.get $x) (local.get $e))
        (local.get $x)
        (f32x4.lt (local.get $u) (f32x4.splat (f32.const 0))))
      (local.get $den)))

  ;; One query row of attention over n keys, without a mask (decoding: the new token sees the whole
;; cache): out[c] = Σ_j p_j·v_j[c] / Σ_j p_j for c < dv, with p_j = exp(s_j − max_j s_j) and
;; s_j = scale·(q · k_j) ($dot). q is contiguous [d]; key j at k + j·ldk·4 and value j at
;; v + j·ldv·4 (elements contiguous); s is scratch for n floats; out is contiguous [dv]. The
;; exponentials are $exp_neg's, four at a time; sums are float32. A NaN score makes every output
;; NaN (it reaches the maximum, so every p_j), and scores all -inf give zeros, as the tiled loop
;; of attention-threads.ts does.
(func (export "attn_row")
  (param $q i32) (param $k i32) (param $ldk i32) (param $v i32) (param $ldv i32) (param $n i32)
  (param $d i32) (param $dv i32) (param $scale f32) (param $s i32) (param $out i32)
  (local $j i32) (local $c i32) (local $x f32) (local $mx f32) (local $sum f32) (local $p f32)
  (local $acc v128) (local $pv v128) (local $row i32) (local $n4 i32) (local $dv4 i32) (local $inv f32)
  (local.set $mx (f32.const -inf))
  ;; scores and their maximum
  (block $done_s
    (loop $next_s
      (br_if $done_s (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $x (f32.mul (local.get $scale) (call $dot (local.get $q)
        (i32.add (local.get $k) (i32.shl (i32.mul (local.get $j) (local.get $ldk)) (i32.const 2)))
        (local.get $d))))
      (f32.store (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))) (local.get $x))
      (local.set $mx (f32.max (local.get $mx) (local.get $x)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_s)))
  ;; every score -inf (infinite inputs): no key is seen, the output is zeros (as the tiled loop)
  (if (f32.eq (local.get $mx) (f32.const -inf))
    (then
      (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $dv) (i32.const 2)))
      (return)))
  ;; p_j = exp(s_j - max) in place, and their sum
  (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
  (local.set $j (i32.const 0))
  (block $done_p4
    (loop $next_p4
      (br_if $done_p4 (i32.ge_s (local.get $j) (local.get $n4)))
      (local.set $row (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $pv (call $exp_neg (f32x4.sub (v128.load (local.get $row)) (f32x4.splat (local.get $mx)))))
      (v128.store (local.get $row) (local.get $pv))
      (local.set $acc (f32x4.add (local.get $acc) (local.get $pv)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $next_p4)))
  (local.set $sum (f32.add
    (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
    (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
  (block $done_p
    (loop $next_p
      (br_if $done_p (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $row (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $p (f32x4.extract_lane 0 (call $exp_neg
        (f32x4.splat (f32.sub (f32.load (local.get $row)) (local.get $mx))))))
      (f32.store (local.get $row) (local.get $p))
      (local.set $sum (f32.add (local.get $sum) (local.get $p)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_p)))
  ;; out = Σ_j p_j v_j, then divided by the sum
  (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $dv) (i32.const 2)))
  (local.set $dv4 (i32.and (local.get $dv) (i32.const -4)))
  (local.set $j (i32.const 0))
  (block $done_v
    (loop $next_v
      (br_if $done_v (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $p (f32.load (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2)))))
      (local.set $pv (f32x4.splat (local.get $p)))
      (local.set $row (i32.add (local.get $v) (i32.shl (i32.mul (local.get $j) (local.get $ldv)) (i32.const 2))))
      (local.set $c (i32.const 0))
      (block $done_c4
        (loop $next_c4
          (br_if $done_c4 (i32.ge_s (local.get $c) (local.get $dv4)))
          (v128.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
            (f32x4.add (v128.load (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))))
              (f32x4.mul (local.get $pv) (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $next_c4)))
      (block $done_c
        (loop $next_c
          (br_if $done_c (i32.ge_s (local.get $c) (local.get $dv)))
          (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
            (f32.add (f32.load (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))))
              (f32.mul (local.get $p) (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $next_c)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_v)))
  (local.set $inv (f32.div (f32.const 1) (local.get $sum)))
  (local.set $c (i32.const 0))
  (block $done_o
    (loop $next_o
      (br_if $done_o (i32.ge_s (local.get $c) (local.get $dv)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (f32.mul (f32.load (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))) (local.get $inv)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $next_o))))

;;   c[i*ldc + j] = gelu_tanh(c[i*ldc + j]) for i < m, j < n (c a byte address, ldc in elements):
  ;;   the epilogue of a product's rectangle, run by the thread that computed it.
  (func (export "gelu_tanh") (param $c i32) (param $ldc i32) (param $m i32) (param $n i32)
    (local $i i32) (local $row i32) (local $p i32) (local $end i32) (local $end4 i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $row (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2))))
        (local.set $end (i32.add (local.get $row) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $end4 (i32.add (local.get $row) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        (local.set $p (local.get $row))
        (block $done4
          (loop $quads
            (br_if $done4 (i32.ge_u (local.get $p) (local.get $end4)))
            (v128.store (local.get $p) (call $gelu_tanh4 (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $quads)))
        (block $done1
          (loop $ones
            (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
            (f32.store (local.get $p)
              (f32x4.extract_lane 0 (call $gelu_tanh4 (f32x4.splat (f32.load (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $ones)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; ---- layer norm ----
  ;; out[r, :] = (x[r, :] - mean) · rstd (· w) (+ b) for rows r < rows of n contiguous floats (x,
  ;; out byte addresses, rows n floats apart), in float64 like norm.ts's layerNormKernel: the mean,
  ;; then the mean of squared deviations, rstd = 1 / sqrt(var + eps), each element computed in
  ;; float64 and rounded once. w, b: contiguous [n] (byte addresses), or 0 when absent. Pairs of
  ;; floats go through f64x2 lanes (the sums in two lanes, added at the end), the odd last one alone.
  (func (export "layer_norm")
    (param $x i32) (param $out i32) (param $rows i32) (param $n i32)
    (param $w i32) (param $b i32) (param $eps f64)
    (local $r i32) (local $row i32) (local $p i32) (local $q i32) (local $end i32) (local $end2 i32)
    (local $acc v128) (local $d v128) (local $mv v128) (local $rv v128) (local $y v128)
    (local $s f64) (local $mean f64) (local $rstd f64) (local $e f64) (local $j i32)
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $n)) (i32.const 2))))
        (local.set $end (i32.add (local.get $row) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $end2 (i32.add (local.get $row) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2))))
        ;; mean
        (local.set $acc (v128.const i64x2 0 0))
        (local.set $p (local.get $row))
        (block $s1
          (loop $l1
            (br_if $s1 (i32.ge_u (local.get $p) (local.get $end2)))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br $l1)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
        (if (i32.lt_u (local.get $p) (local.get $end))
          (then (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $p)))))))
        (local.set $mean (f64.div (local.get $s) (f64.convert_i32_u (local.get $n))))
        (local.set $mv (f64x2.splat (local.get $mean)))
        ;; variance
        (local.set $acc (v128.const i64x2 0 0))
        (local.set $p (local.get $row))
        (block $s2
          (loop $l2
            (br_if $s2 (i32.ge_u (local.get $p) (local.get $end2)))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))) (local.get $mv)))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br $l2)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
        (if (i32.lt_u (local.get $p) (local.get $end))
          (then
            (local.set $e (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (local.get $mean)))
            (local.set $s (f64.add (local.get $s) (f64.mul (local.get $e) (local.get $e))))))
        (local.set $rstd (f64.div (f64.const 1)
          (f64.sqrt (f64.add (f64.div (local.get $s) (f64.convert_i32_u (local.get $n))) (local.get $eps)))))
        (local.set $rv (f64x2.splat (local.get $rstd)))
        ;; out = (x - mean) · rstd (· w) (+ b)
        (local.set $p (local.get $row))
        (local.set $q (i32.add (local.get $out) (i32.shl (i32.mul (local.get $r) (local.get $n)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $s3
          (loop $l3
            (br_if $s3 (i32.ge_u (local.get $p) (local.get $end2)))
            (local.set $y (f64x2.mul
              (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))) (local.get $mv))
              (local.get $rv)))
            (if (local.get $w)
              (then (local.set $y (f64x2.mul (local.get $y)
                (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $w) (local.get $j))))))))
            (if (local.get $b)
              (then (local.set $y (f64x2.add (local.get $y)
                (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $b) (local.get $j))))))))
            (i64.store (local.get $q) (i64x2.extract_lane 0 (f32x4.demote_f64x2_zero (local.get $y))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $l3)))
        (if (i32.lt_u (local.get $p) (local.get $end))
          (then
            (local.set $e (f64.mul (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (local.get $mean)) (local.get $rstd)))
            (if (local.get $w)
              (then (local.set $e (f64.mul (local.get $e) (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $j))))))))
            (if (local.get $b)
              (then (local.set $e (f64.add (local.get $e) (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $j))))))))
            (f32.store (local.get $q) (f32.demote_f64 (local.get $e)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows_loop))))

  ;; ---- elementwise ----
  ;; out[i] = a[i] op b[i] for i < n (byte addresses of contiguous float32; op 0 add, 1 sub, 2 mul,
  ;; 3 div): four lanes at a time, then one at a time. Each is one correctly rounded float32
  ;; operation, as JavaScript's float64 operation rounded to float32 is for these four.
  (func (export "binary_f32") (param $op i32) (param $a i32) (param $b i32) (param $out i32) (param $n i32)
    (local $i i32) (local $end4 i32) (local $o i32) (local $x v128) (local $y v128)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4
      (loop $quads
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $x (v128.load (i32.add (local.get $a) (local.get $i))))
        (local.set $y (v128.load (i32.add (local.get $b) (local.get $i))))
        (local.set $o (i32.add (local.get $out) (local.get $i)))
        (block $store
          (block $div
            (block $mul
              (block $sub
                (block $add
                  (br_table $add $sub $mul $div (local.get $op)))
                (v128.store (local.get $o) (f32x4.add (local.get $x) (local.get $y)))
                (br $store))
              (v128.store (local.get $o) (f32x4.sub (local.get $x) (local.get $y)))
              (br $store))
            (v128.store (local.get $o) (f32x4.mul (local.get $x) (local.get $y)))
            (br $store))
          (v128.store (local.get $o) (f32x4.div (local.get $x) (local.get $y))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $quads)))
    (block $done1
      (loop $ones
        (br_if $done1 (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $x (f32x4.splat (f32.load (i32.add (local.get $a) (local.get $i)))))
        (local.set $y (f32x4.splat (f32.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $x
          (select (f32x4.add (local.get $x) (local.get $y))
            (select (f32x4.sub (local.get $x) (local.get $y))
              (select (f32x4.mul (local.get $x) (local.get $y)) (f32x4.div (local.get $x) (local.get $y))
                (i32.eq (local.get $op) (i32.const 2)))
              (i32.eq (local.get $op) (i32.const 1)))
            (i32.eqz (local.get $op))))
        (f32.store (i32.add (local.get $out) (local.get $i)) (f32x4.extract_lane 0 (local.get $x)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $ones))))
)
