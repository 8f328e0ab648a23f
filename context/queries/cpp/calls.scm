(call_expression function: [
  (identifier) @call (field_expression field: (_) @call) (qualified_identifier) @call
  (template_function name: (_) @call)])
(new_expression type: (_) @call)
