(call_expression function: [
  (identifier) @call
  (field_expression field: (_) @call)
  (scoped_identifier) @call
  (generic_function function: [
    (identifier) @call (scoped_identifier) @call (field_expression field: (_) @call)])])
(struct_expression name: [(type_identifier) @call (scoped_type_identifier) @call])
(macro_invocation macro: [(identifier) @call (scoped_identifier) @call])
