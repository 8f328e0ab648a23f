(function_definition name: (identifier) @name body: (block) @body) @definition.function
(class_definition name: (identifier) @name body: (block) @body) @definition.class
(module (expression_statement (assignment left: (identifier) @name)) @definition.variable)
(module (type_alias_statement left: (type (identifier) @name)) @definition.type)
