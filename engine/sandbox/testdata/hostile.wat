;; A guest that misbehaves on request: realm_begin reads the low 32 bits of
;; the seed as a mode, and realm_step then does what the mode says. Mode 0
;; is well-behaved (returns the best candidate), so one instance can fail
;; and then be shown to work again. Used by isolation_test.go.
(module
  (import "realm" "log" (func $log (param i32 i32)))
  (import "realm" "token_piece" (func $piece (param i32 i32 i32) (result i32)))
  (import "realm" "logits" (func $logits (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $mode (mut i32) (i32.const 0))
  (global $nvocab (mut i32) (i32.const 0))
  (data (i32.const 16) "hostile guest here")

  (func (export "realm_abi_version") (result i32) (i32.const 1))

  ;; Candidates at 1024, the request block at 8192.
  (func (export "realm_alloc") (param $kind i32) (param $size i32) (result i32)
    (if (result i32) (i32.eqz (local.get $kind))
      (then (i32.const 1024))
      (else (i32.const 8192))))

  (func (export "realm_begin") (param $p i32) (param $len i32) (result i32)
    (global.set $nvocab (i32.load offset=4 (local.get $p)))
    (global.set $mode (i32.load offset=40 (local.get $p)))
    ;; mode 20: fail in realm_begin with an error code
    (if (i32.eq (global.get $mode) (i32.const 20)) (then (return (i32.const -7))))
    ;; mode 21: loop forever in realm_begin
    (if (i32.eq (global.get $mode) (i32.const 21)) (then (loop $l (br $l))))
    (i32.const 0))

  (func $recurse (param $x i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $x) (i32.const 1))) (i32.const 1)))

  (func (export "realm_step") (param $c i32) (param $n i32) (result i32)
    (local $i i32)
    ;; 1: unreachable
    (if (i32.eq (global.get $mode) (i32.const 1)) (then unreachable))
    ;; 2: endless loop
    (if (i32.eq (global.get $mode) (i32.const 2)) (then (loop $l (br $l))))
    ;; 3: integer division by zero
    (if (i32.eq (global.get $mode) (i32.const 3))
      (then (return (i32.div_s (i32.const 1) (i32.sub (local.get $n) (local.get $n))))))
    ;; 4: load far outside memory
    (if (i32.eq (global.get $mode) (i32.const 4))
      (then (return (i32.load (i32.const 0x7ffffff0)))))
    ;; 5: unbounded recursion
    (if (i32.eq (global.get $mode) (i32.const 5))
      (then (return (call $recurse (i32.const 0)))))
    ;; 6: a token id one past the vocabulary
    (if (i32.eq (global.get $mode) (i32.const 6)) (then (return (global.get $nvocab))))
    ;; 7: a guest error code
    (if (i32.eq (global.get $mode) (i32.const 7)) (then (return (i32.const -5))))
    ;; 8: grow memory until refused, then store just past its end
    (if (i32.eq (global.get $mode) (i32.const 8))
      (then
        (loop $g (br_if $g (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (i32.store (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))
        (return (i32.const 0))))
    ;; 9: log from a range outside memory
    (if (i32.eq (global.get $mode) (i32.const 9))
      (then (call $log (i32.const 0x7fff0000) (i32.const 16)) (return (i32.const 0))))
    ;; 10: ask for a token piece to be written across the end of memory
    (if (i32.eq (global.get $mode) (i32.const 10))
      (then (drop (call $piece (i32.const 11) (i32.const 65535) (i32.const 100))) (return (i32.const 0))))
    ;; 11: stop
    (if (i32.eq (global.get $mode) (i32.const 11)) (then (return (i32.const -1))))
    ;; 12: log a line, then trap (the error carries the line)
    (if (i32.eq (global.get $mode) (i32.const 12))
      (then (call $log (i32.const 16) (i32.const 18)) unreachable))
    ;; 13: logits for a huge n
    (if (i32.eq (global.get $mode) (i32.const 13))
      (then (return (call $logits (i32.const 1024) (i32.const 0x7fffffff) (i32.const 4096)))))
    ;; 14: a very negative token id
    (if (i32.eq (global.get $mode) (i32.const 14)) (then (return (i32.const -2147483648))))
    ;; 15: busy for 300000 iterations, then the best candidate
    (if (i32.eq (global.get $mode) (i32.const 15))
      (then
        (local.set $i (i32.const 300000))
        (loop $busy (br_if $busy (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))))
    ;; 0 and anything else: the best candidate
    (i32.load (local.get $c)))
)
