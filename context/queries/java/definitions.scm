(class_declaration name: (identifier) @name body: (class_body) @body) @definition.class
(record_declaration name: (identifier) @name body: (class_body) @body) @definition.class
(interface_declaration name: (identifier) @name body: (interface_body) @body) @definition.type
(enum_declaration name: (identifier) @name body: (enum_body) @body) @definition.type
(annotation_type_declaration name: (identifier) @name) @definition.type
(method_declaration name: (identifier) @name body: (block) @body) @definition.function
(method_declaration name: (identifier) @name !body) @definition.function
(constructor_declaration name: (identifier) @name body: (_) @body) @definition.function
