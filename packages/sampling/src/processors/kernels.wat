;; Hot loops of the sampling stack in WebAssembly SIMD: the temperature pass (four float32 divisions
;; at a time) and the top-p histogram.
;; Assembled by scripts/build-wasm.mjs into temperature-wasm.ts (committed; no build step needed).
(module
  (memory (export "memory") 1)
  ;; Divides x[0..n) (byte address p) by t in place, float32 division as torch's `scores / t`;
  ;; returns the largest quotient (NaN ignored; -inf when there is none).
  (func (export "divide_max") (param $p i32) (param $n i32) (param $t f32) (result f32)
    (local $end i32) (local $end4 i32) (local $tv v128) (local $mv v128) (local $v v128)
    (local $m f32) (local $x f32)
    (local.set $tv (f32x4.splat (local.get $t)))
    (local.set $mv (f32x4.splat (f32.const -inf)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4
      (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $p) (local.get $end4)))
        (local.set $v (f32x4.div (v128.load (local.get $p)) (local.get $tv)))
        (v128.store (local.get $p) (local.get $v))
        ;; pmax(a, b) = a < b ? b : a keeps the running max when b is NaN
        (local.set $mv (f32x4.pmax (local.get $mv) (local.get $v)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $l4)))
    (local.set $m (f32.const -inf))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (f32.div (f32.load (local.get $p)) (local.get $t)))
        (f32.store (local.get $p) (local.get $x))
        (if (f32.gt (local.get $x) (local.get $m)) (then (local.set $m (local.get $x))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l)))
    (local.set $x (f32x4.extract_lane 0 (local.get $mv)))
    (if (f32.gt (local.get $x) (local.get $m)) (then (local.set $m (local.get $x))))
    (local.set $x (f32x4.extract_lane 1 (local.get $mv)))
    (if (f32.gt (local.get $x) (local.get $m)) (then (local.set $m (local.get $x))))
    (local.set $x (f32x4.extract_lane 2 (local.get $mv)))
    (if (f32.gt (local.get $x) (local.get $m)) (then (local.set $m (local.get $x))))
    (local.set $x (f32x4.extract_lane 3 (local.get $mv)))
    (if (f32.gt (local.get $x) (local.get $m)) (then (local.set $m (local.get $x))))
    (local.get $m))

  ;; The top-p histogram (see TopPWarper in warpers.ts, which does the same in JavaScript): for each
  ;; x[i], t = 64 (m - x[i]) in float64; when t < 4095, bucket k = trunc(t) of the array at $sa (even i)
  ;; or $sb (odd i) gets 1 + r (1 + r (1/2 + r/6)), r = (k - t) / 64; when also t < cut, i is appended
  ;; to the int32 array at $cands. Returns the number of candidates. Same operations, in the same
  ;; order per array, as the JavaScript loop: the sums are bit for bit the same.
  (func (export "histogram") (param $p i32) (param $n i32) (param $m f64) (param $cut f64)
    (param $sa i32) (param $sb i32) (param $cands i32) (result i32)
    (local $i i32) (local $n4 i32) (local $nc i32) (local $a i32) (local $t f64) (local $kf f64) (local $r f64)
    (local $v v128) (local $mv v128)
    (local $t0 v128) (local $k0 v128) (local $r0 v128) (local $p0 v128)
    (local $t1 v128) (local $k1 v128) (local $r1 v128) (local $p1 v128)
    (local.set $mv (f64x2.splat (local.get $m)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $v (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $t0 (f64x2.mul (f64x2.sub (local.get $mv) (f64x2.promote_low_f32x4 (local.get $v))) (f64x2.splat (f64.const 64))))
        (local.set $k0 (f64x2.trunc (local.get $t0)))
        (local.set $r0 (f64x2.mul (f64x2.sub (local.get $k0) (local.get $t0)) (f64x2.splat (f64.const 0.015625))))
        (local.set $p0 (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $r0)
          (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $r0)
            (f64x2.add (f64x2.splat (f64.const 0.5)) (f64x2.mul (local.get $r0) (f64x2.splat (f64.const 0.16666666666666666)))))))))
        (local.set $t1 (f64x2.mul (f64x2.sub (local.get $mv) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))) (f64x2.splat (f64.const 64))))
        (local.set $k1 (f64x2.trunc (local.get $t1)))
        (local.set $r1 (f64x2.mul (f64x2.sub (local.get $k1) (local.get $t1)) (f64x2.splat (f64.const 0.015625))))
        (local.set $p1 (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $r1)
          (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $r1)
            (f64x2.add (f64x2.splat (f64.const 0.5)) (f64x2.mul (local.get $r1) (f64x2.splat (f64.const 0.16666666666666666)))))))))
        (local.set $t (f64x2.extract_lane 0 (local.get $t0)))
        (if (f64.lt (local.get $t) (f64.const 4095))
          (then
            (local.set $a (i32.add (local.get $sa)
              (i32.shl (i32.trunc_f64_s (f64x2.extract_lane 0 (local.get $k0))) (i32.const 3))))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64x2.extract_lane 0 (local.get $p0))))
            (if (f64.lt (local.get $t) (local.get $cut))
              (then
                (i32.store (i32.add (local.get $cands) (i32.shl (local.get $nc) (i32.const 2)))
                  (i32.add (local.get $i) (i32.const 0)))
                (local.set $nc (i32.add (local.get $nc) (i32.const 1)))))))
        (local.set $t (f64x2.extract_lane 1 (local.get $t0)))
        (if (f64.lt (local.get $t) (f64.const 4095))
          (then
            (local.set $a (i32.add (local.get $sb)
              (i32.shl (i32.trunc_f64_s (f64x2.extract_lane 1 (local.get $k0))) (i32.const 3))))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64x2.extract_lane 1 (local.get $p0))))
            (if (f64.lt (local.get $t) (local.get $cut))
              (then
                (i32.store (i32.add (local.get $cands) (i32.shl (local.get $nc) (i32.const 2)))
                  (i32.add (local.get $i) (i32.const 1)))
                (local.set $nc (i32.add (local.get $nc) (i32.const 1)))))))
        (local.set $t (f64x2.extract_lane 0 (local.get $t1)))
        (if (f64.lt (local.get $t) (f64.const 4095))
          (then
            (local.set $a (i32.add (local.get $sa)
              (i32.shl (i32.trunc_f64_s (f64x2.extract_lane 0 (local.get $k1))) (i32.const 3))))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64x2.extract_lane 0 (local.get $p1))))
            (if (f64.lt (local.get $t) (local.get $cut))
              (then
                (i32.store (i32.add (local.get $cands) (i32.shl (local.get $nc) (i32.const 2)))
                  (i32.add (local.get $i) (i32.const 2)))
                (local.set $nc (i32.add (local.get $nc) (i32.const 1)))))))
        (local.set $t (f64x2.extract_lane 1 (local.get $t1)))
        (if (f64.lt (local.get $t) (f64.const 4095))
          (then
            (local.set $a (i32.add (local.get $sb)
              (i32.shl (i32.trunc_f64_s (f64x2.extract_lane 1 (local.get $k1))) (i32.const 3))))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64x2.extract_lane 1 (local.get $p1))))
            (if (f64.lt (local.get $t) (local.get $cut))
              (then
                (i32.store (i32.add (local.get $cands) (i32.shl (local.get $nc) (i32.const 2)))
                  (i32.add (local.get $i) (i32.const 3)))
                (local.set $nc (i32.add (local.get $nc) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $t (f64.mul (f64.sub (local.get $m)
          (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))) (f64.const 64)))
        (if (f64.lt (local.get $t) (f64.const 4095))
          (then
            (local.set $kf (f64.trunc (local.get $t)))
            (local.set $r (f64.mul (f64.sub (local.get $kf) (local.get $t)) (f64.const 0.015625)))
            (local.set $a (i32.add (select (local.get $sb) (local.get $sa) (i32.and (local.get $i) (i32.const 1)))
              (i32.shl (i32.trunc_f64_s (local.get $kf)) (i32.const 3))))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a))
              (f64.add (f64.const 1) (f64.mul (local.get $r) (f64.add (f64.const 1) (f64.mul (local.get $r)
                (f64.add (f64.const 0.5) (f64.mul (local.get $r) (f64.const 0.16666666666666666)))))))))
            (if (f64.lt (local.get $t) (local.get $cut))
              (then
                (i32.store (i32.add (local.get $cands) (i32.shl (local.get $nc) (i32.const 2))) (local.get $i))
                (local.set $nc (i32.add (local.get $nc) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $nc))
)
