(call_expression function: [(identifier) @call (selector_expression field: (_) @call)])
(composite_literal type: [(type_identifier) @call (qualified_type name: (_) @call)])
