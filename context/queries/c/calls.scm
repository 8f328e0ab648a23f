(call_expression function: [(identifier) @call (field_expression field: (_) @call)])
