;; A guest whose start function traps.
(module
  (memory (export "memory") 1)
  (func $boom unreachable)
  (start $boom)
  (func (export "realm_abi_version") (result i32) (i32.const 1))
  (func (export "realm_alloc") (param i32 i32) (result i32) (i32.const 1024))
  (func (export "realm_begin") (param i32 i32) (result i32) (i32.const 0))
  (func (export "realm_step") (param i32 i32) (result i32) (i32.const 0))
)
