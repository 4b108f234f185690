;; A guest with a table without maximum, which table.grow could make
;; gigabytes large: refused.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (func (export "realm_abi_version") (result i32) (i32.const 1))
  (func (export "realm_alloc") (param i32 i32) (result i32) (i32.const 1024))
  (func (export "realm_begin") (param i32 i32) (result i32) (i32.const 0))
  (func (export "realm_step") (param i32 i32) (result i32)
    (table.grow $t (ref.null func) (i32.const 0x7fffffff)))
)
